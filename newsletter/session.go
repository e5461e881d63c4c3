package newsletter

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// sessionLock is a PostgreSQL sender's proof of life: a session-level
// advisory lock, on a connection of its own, held for the whole Send.
// Its key is written with every batch the sender claims (owner_lock).
// The server releases the lock when the session ends, and the session
// ends when the sender's process dies (the kernel closes its
// connection), so another sender that can take the lock knows that the
// claims under that key are a dead sender's and frees them
// (releaseDeadClaims) instead of waiting for them to expire.
//
// The lock is only proof of life while this sender's session holds it:
// if that session ends while the sender runs (idle_session_timeout, a
// server restart, a pooler such as pgbouncer in transaction mode handing
// the connection to another client), another sender frees this one's
// claims, including a batch already handed to the provider. So the
// sender checks that its session still holds the lock (check) before it
// claims a batch, at most once per checkEvery, and stops if not. A
// pooler must run in session mode.
type sessionLock struct {
	conn bun.Conn
	k    int64
	// checked is when check last found the lock held; only the
	// goroutine that claims batches uses it.
	checked time.Time
}

// checkEvery bounds how often a sender checks its session lock.
const checkEvery = time.Second

// ErrSessionLost is returned by Send on PostgreSQL when the sender's
// session, whose advisory lock tells other senders it is alive, ended
// while it was sending: it stops, and a new Send (this one again, or
// another) goes on from where it stopped.
var ErrSessionLost = errors.New("the sender's database session ended (server restart, timeout, or a pooler not in session mode)")

// check returns ErrSessionLost unless this session still holds the
// lock, looking at most once per checkEvery. It asks pg_locks for the
// lock under this very backend, so a connection that still answers but
// was given another server session (a pooler) is caught too. A nil
// lock (SQLite) is always held.
func (l *sessionLock) check(ctx context.Context) error {
	if l == nil || time.Since(l.checked) < checkEvery {
		return nil
	}
	var held int
	// An advisory lock on a bigint key shows as classid (its high 32
	// bits), objid (its low 32 bits) and objsubid 1.
	err := l.conn.NewRaw(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
		AND granted AND objsubid = 1 AND classid = ? AND objid = ?`,
		int64(uint64(l.k)>>32), int64(uint64(l.k)&0xffffffff)).Scan(ctx, &held)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSessionLost, err)
	}
	if held == 0 {
		return ErrSessionLost
	}
	l.checked = time.Now()
	return nil
}

// lockSession opens the sender's session and takes its lock under a
// random key.
func (n *Newsletter) lockSession(ctx context.Context) (*sessionLock, error) {
	conn, err := n.bun.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("send: session: %w", err)
	}
	for {
		var b [8]byte
		rand.Read(b[:])
		k := int64(binary.BigEndian.Uint64(b[:]))
		if k == 0 {
			continue
		}
		var ok bool
		if err := conn.NewRaw("SELECT pg_try_advisory_lock(?)", k).Scan(ctx, &ok); err != nil {
			conn.Close()
			return nil, fmt.Errorf("send: session lock: %w", err)
		}
		if ok {
			return &sessionLock{conn: conn, k: k}, nil
		}
	}
}

// key is the lock's key, 0 without a lock (SQLite).
func (l *sessionLock) key() int64 {
	if l == nil {
		return 0
	}
	return l.k
}

// end releases the lock and gives the connection back. After a crash
// (a panic) it closes the connection instead, ending the session as the
// death of the process would.
func (l *sessionLock) end(crashed bool) {
	if crashed {
		l.conn.Raw(func(any) error { return driver.ErrBadConn })
	} else if _, err := l.conn.NewRaw("SELECT pg_advisory_unlock(?)", l.k).Exec(context.Background()); err != nil {
		l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	l.conn.Close()
}

// deadSessionWait bounds how long a sender with nothing left to claim
// waits for the sessions holding the campaign's other claims to end: a
// process killed a moment ago has its session ended by the server within
// milliseconds, once it reads the closed connection.
const deadSessionWait = time.Second

// releaseDeadClaims frees the unfinished batches of c claimed by senders
// whose session has ended (their lock can be taken), and reports whether
// it freed any. While other senders' claims look alive, it looks again
// for up to deadSessionWait; it returns as soon as no claim is left.
func (n *Newsletter) releaseDeadClaims(ctx context.Context, c *Campaign, own int64) (bool, error) {
	deadline := time.Now().Add(deadSessionWait)
	for {
		keys, err := n.store().otherSessions(ctx, c.ID, own)
		if err != nil {
			return false, err
		}
		if len(keys) == 0 {
			return false, nil
		}
		freed := false
		for _, k := range keys {
			err := n.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				// A transaction-level try: never waits, and is released at
				// commit.
				var free bool
				if err := tx.NewRaw("SELECT pg_try_advisory_xact_lock(?)", k).Scan(ctx, &free); err != nil || !free {
					return err
				}
				k, err := sendStore{tx}.freeClaimsUnder(ctx, c.ID, k)
				freed = freed || k > 0
				return err
			})
			if err != nil {
				return false, fmt.Errorf("campaign %s: claims of ended sessions: %w", c.Name, err)
			}
		}
		if freed || time.Now().After(deadline) {
			return freed, nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
}
