package newsletter

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun/dialect"
)

// exclusive reports whether one sender at a time sends a campaign. On
// SQLite (one machine, one file) a second sender is refused with ErrBusy;
// on PostgreSQL several senders share a campaign's batches.
func (n *Newsletter) exclusive() bool { return n.bun.Dialect().Name() != dialect.PG }

// hold is a sender's right to send a campaign: its lease (SQLite) or its
// session lock (PostgreSQL). While a Send holds it, it says the sender is
// alive; when the Send ends, or its process dies, another sender takes
// over the campaign or its batches at once.
type hold struct {
	n     *Newsletter
	id    int64
	owner string
	// lock is the session lock on PostgreSQL, nil on SQLite.
	lock *sessionLock
	// stopKeeping stops renewing the lease (SQLite).
	stopKeeping func()
}

// hold takes the campaign for owner: its lease on SQLite (ErrBusy while
// another live sender holds it), a session lock on PostgreSQL.
func (n *Newsletter) hold(ctx context.Context, c *Campaign, owner string) (*hold, error) {
	h := &hold{n: n, id: c.ID, owner: owner}
	startRunning(owner)
	var err error
	if n.exclusive() {
		err = n.acquire(ctx, c, owner)
	} else {
		h.lock, err = n.lockSession(ctx)
	}
	if err != nil {
		stopRunning(owner)
		return nil, err
	}
	if n.exclusive() {
		h.stopKeeping = n.keepLease(ctx, c.ID, owner)
	}
	return h, nil
}

// end lets the campaign go. Given a panic (r, from recover), it leaves
// the lease, as a crash would, ends the session as the death of the
// process would, and panics again: the state of the batch in hand is not
// known here, and the next Send sees that this one is over and takes the
// campaign over.
func (h *hold) end(ctx context.Context, r any) {
	if h.stopKeeping != nil {
		h.stopKeeping()
	}
	stopRunning(h.owner)
	if h.lock != nil {
		h.lock.end(r != nil)
	}
	if r != nil {
		panic(r)
	}
	if h.n.exclusive() {
		h.n.store().releaseLease(context.WithoutCancel(ctx), h.id, h.owner)
	}
}

// acquire takes the campaign's lease, or returns ErrBusy while another
// sender holds it. A holder on this machine is checked: a dead one
// (holder.dead) is taken over at once, a live one (holder.alive) is
// refused even once its lease has expired. A holder on another machine
// cannot be checked: its lease is free once it expired, and a live
// sender keeps renewing it (keepLease). Taking the lease also frees every batch claim of the
// campaign: the lease being exclusive, they can only be a dead or
// finished sender's.
func (n *Newsletter) acquire(ctx context.Context, c *Campaign, owner string) error {
	var busy *leaseRow
	err := n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
		l, err := s.lease(ctx, c.ID)
		if err != nil {
			return err
		}
		now := n.clock()
		h := l.holder()
		if l.Owner != "" && l.Owner != owner && (h.alive(l.Owner) || l.Until.After(now) && !h.dead(l.Owner)) {
			busy = l
			return nil
		}
		if err := s.takeLease(ctx, c.ID, owner, now.Add(n.lease), thisProcess()); err != nil {
			return err
		}
		return s.freeEveryClaim(ctx, c.ID)
	})
	if err != nil {
		return fmt.Errorf("campaign %s: lease: %w", c.Name, err)
	}
	if busy != nil {
		if busy.Host == thisProcess().Host {
			return fmt.Errorf("campaign %s: %w (%s is sending it)", c.Name, ErrBusy, busy.holder())
		}
		return fmt.Errorf("campaign %s: %w (%s holds it until %s; if that process died, run again after that)",
			c.Name, ErrBusy, busy.holder(), busy.Until.Format(time.RFC3339))
	}
	return nil
}

// renew extends the lease inside a batch's transaction, and fails with
// ErrBusy if another owner took it over.
func (n *Newsletter) renew(ctx context.Context, s sendStore, c *Campaign, owner string) error {
	if !n.exclusive() {
		return nil
	}
	now := n.clock()
	if until := c.LeaseUntil; c.LeaseOwner == owner && until.Sub(now) > n.lease*2/3 {
		return nil // renewed recently: nobody can have taken it over
	}
	held, err := s.renewLease(ctx, c.ID, owner, now.Add(n.lease))
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("campaign %s: %w (the lease was taken over)", c.Name, ErrBusy)
	}
	c.LeaseOwner, c.LeaseUntil = owner, now.Add(n.lease)
	return nil
}

// keepLease renews the lease every third of its length until the
// returned function is called, so that a sender on another machine
// (a database file on a shared drive), which cannot check that this one
// is alive, does not take the campaign over while this one waits a long
// time between two batches: 8 retries backing off to 30 s, a long
// rate-limit wait, or a slow provider. It renews only a lease this owner
// still holds; the renewal inside each batch's transaction (renew) is
// what detects a lease lost anyway.
func (n *Newsletter) keepLease(ctx context.Context, id int64, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(n.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A failure is retried at the next tick; the lease has two
			// more thirds to go.
			n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
				_, err := s.renewLease(ctx, id, owner, n.clock().Add(n.lease))
				return err
			})
		}
	}()
	return func() { cancel(); <-done }
}
