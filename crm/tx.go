package crm

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Tx is one transaction of the supporter database: operations run through
// it take effect together, when the function given to DB.RunInTx returns
// nil, or not at all. Its methods are DB's write operations, and the reads
// they need, with the same names, arguments, audit entries and errors;
// each one sees what the ones before it wrote. The DB method of the same
// name is the Tx method run alone in a transaction of its own.
//
// Forget and the imports have no Tx method: an erasure commits alone and
// then truncates SQLite's log, which cannot be done inside a transaction,
// and an import writes in many short transactions so that other writers
// are served while it runs.
//
// A Tx is valid only while the function given to RunInTx runs, and is not
// safe for concurrent use. It has no RunInTx of its own: transactions do
// not nest.
type Tx struct {
	db *DB
	tx bun.Tx
}

// RunInTx runs fn in one transaction, which it commits when fn returns
// nil. When fn returns an error, the transaction is rolled back and
// RunInTx returns that error; when fn panics, it is rolled back and the
// panic goes on. Nothing fn did through tx is then kept, but the values
// its operations filled in stay as they were set (a Supporter's ID after
// tx.CreateSupporter names a row that no longer exists).
//
// fn must not keep tx, nor use it from another goroutine: once RunInTx
// returns, its methods fail. Inside fn, call tx, not db: a call on db runs
// outside the transaction, does not see what fn wrote, and on SQLite
// waits for the write lock fn's transaction holds until it times out.
// When a method of tx fails, return its error (or another) from fn, with
// one exception: an error wrapping ErrInvalid is returned before the
// operation wrote anything, so fn may go on and try something else
// (other errors may leave part of the operation written, and on
// PostgreSQL a failed statement makes the whole transaction fail).
//
// The transaction begins by taking SQLite's write lock (Open makes its
// transactions immediate), so keep fn short and free of network calls:
// other writers wait for it. On a database opened with ReadOnly, RunInTx
// returns an error wrapping ErrReadOnly without calling fn.
func (db *DB) RunInTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.readOnly {
		return fmt.Errorf("write: %w", ErrReadOnly)
	}
	return db.bun.RunInTx(ctx, nil, func(ctx context.Context, btx bun.Tx) error {
		return fn(&Tx{db: db, tx: btx})
	})
}

// runTx runs one operation of Tx in a transaction of its own, for the DB
// method of the same name.
func runTx[T any](ctx context.Context, db *DB, op func(tx *Tx) (T, error)) (T, error) {
	var out T
	err := db.RunInTx(ctx, func(tx *Tx) error {
		var err error
		out, err = op(tx)
		return err
	})
	return out, err
}

// now is the database clock, in UTC.
func (tx *Tx) now() time.Time { return tx.db.Now() }

// audit appends to the audit log in the transaction.
func (tx *Tx) audit(ctx context.Context, action string, supporterID int64, details string) error {
	return tx.db.audit(ctx, tx.tx, action, supporterID, details)
}

// Audit appends an entry to the audit log in the transaction, for an
// operation of a package built on crm that touches no supporter in
// particular (a campaign created, sent): action says what was done
// ("campaign send"), details on what ("campaign decembre, 312
// recipients"); never personal data.
func (tx *Tx) Audit(ctx context.Context, action, details string) error {
	return tx.audit(ctx, action, 0, details)
}
