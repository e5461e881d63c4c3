package dbutil

import (
	"context"

	"github.com/uptrace/bun"
)

// Hooks are the ways into a crm.DB and a crm.Tx that package crm gives the
// other packages of this module, and to nobody else. Package crm sets them
// in its init, which runs before that of any package importing it. This
// package cannot name crm's types (crm imports it), hence the parameters
// of type any: each function panics when given another type than the one
// it documents.
type Hooks struct {
	DB                    func(db any) *bun.DB
	Tx                    func(tx any) bun.IDB
	SupporterQuery        func(ctx context.Context, idb bun.IDB, f any) (*bun.SelectQuery, error)
	CreateErasedSupporter func(ctx context.Context, tx any, s any) error
}

var hooks Hooks

// SetHooks is called by package crm, once, when it is initialised.
func SetHooks(h Hooks) { hooks = h }

// DB returns the *bun.DB behind db, a *crm.DB: for a package that keeps
// its own tables beside crm's (newsletter), and for tests that look at
// the tables themselves. crm's tables are written only by crm.
func DB(db any) *bun.DB { return hooks.DB(db) }

// Tx returns the bun handle of tx, a *crm.Tx, so that a package that keeps
// its own tables beside crm's writes them in the same transaction as
// crm's operations: a signup's claim of a confirmation email, a webhook's
// record of the events it applied, an erasure's deliveries. Write only
// your own tables through it (crm's are changed through the Tx's methods,
// which keep the audit log, the consent history and the refusal to write
// for an erased supporter), and do not commit or roll it back: RunInTx
// does. It is valid only while the function given to RunInTx runs.
func Tx(tx any) bun.IDB { return hooks.Tx(tx) }

// SupporterQuery returns a query over the supporters table, aliased s, on
// idb, restricted by f, a crm.SupporterFilter (whose Offset and Limit are
// ignored), for newsletter, which picks its recipients with it and chooses
// the columns (s.id, s.email, s.language...), or inserts from it. It
// returns a *crm.SegmentError or *crm.ValidationError for a bad filter.
func SupporterQuery(ctx context.Context, idb bun.IDB, f any) (*bun.SelectQuery, error) {
	return hooks.SupporterQuery(ctx, idb, f)
}

// CreateErasedSupporter is crm.Tx.CreateSupporter (tx is a *crm.Tx, s a
// *crm.Supporter) for an address on the erased list, which it leaves
// there: for a web signup of someone erased before, whose subscriptions
// stay pending until they confirm, the confirmation being the fresh
// consent that lifts the erasure (crm.Tx.Confirm).
func CreateErasedSupporter(ctx context.Context, tx any, s any) error {
	return hooks.CreateErasedSupporter(ctx, tx, s)
}
