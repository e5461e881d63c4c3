package newsletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// SubscribeOptions says which emails Subscribe queues, and whom it
// subscribes when the request names no supporter.
type SubscribeOptions struct {
	// NewSupporter, when the request's SupporterID is 0, names the person
	// by NewSupporter.Email instead: the supporter with that address, else
	// NewSupporter itself, created in the subscription's transaction (a
	// subscription refused adds no one). An address erased by Forget is
	// refused with crm.ErrErased: only fresh consent brings it back (see
	// crm.Tx.ClearErased).
	NewSupporter *crm.Supporter
	// Confirm queues the confirmation email when the subscription is left
	// pending (a double opt-in list), at most one per supporter per
	// ConfirmationInterval (default DefaultConfirmationInterval), as a
	// signup does.
	Confirm bool
	// ResendConfirmation queues it again for a subscription already
	// pending, within the same limit.
	ResendConfirmation   bool
	ConfirmationInterval time.Duration
	// Welcome queues the list's welcome email (if it has one) when the
	// subscription becomes subscribed. A subscription made by hand says
	// so explicitly: the person may have been welcomed in person.
	Welcome bool
}

// SubscribeOutcome says what Subscribe did.
type SubscribeOutcome struct {
	crm.SubscribeResult
	// SupporterID is the person subscribed; Created says Subscribe
	// created them (see SubscribeOptions.NewSupporter).
	SupporterID int64
	Created     bool
	// ConfirmationQueued says a confirmation email was queued;
	// ConfirmationDeferred that it was not, one having gone to the person
	// less than the interval ago.
	ConfirmationQueued   bool
	ConfirmationDeferred bool
	WelcomeQueued        bool
	// WelcomeSkipped says the subscription became subscribed and the list
	// has a welcome email, which opts did not ask for.
	WelcomeSkipped bool
	// Notices are the queued emails' ids, for SendNotices (NoticeOptions.IDs).
	Notices []int64
}

// Subscribe is crm's Subscribe with the emails it calls for, queued in
// the same transaction (see SendNotices): a confirmation when the
// subscription is left pending, a welcome when it becomes subscribed, as
// opts asks.
func (n *Newsletter) Subscribe(ctx context.Context, r crm.SubscribeRequest, opts SubscribeOptions) (*SubscribeOutcome, error) {
	out := &SubscribeOutcome{}
	interval := opts.ConfirmationInterval
	if interval <= 0 {
		interval = DefaultConfirmationInterval
	}
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		*out = SubscribeOutcome{}
		r := r
		if r.SupporterID == 0 && opts.NewSupporter != nil {
			id, err := tx.SupporterID(ctx, opts.NewSupporter.Email)
			if errors.Is(err, crm.ErrNotFound) {
				s := *opts.NewSupporter
				if err := tx.CreateSupporter(ctx, &s); err != nil {
					return err
				}
				id, out.Created = s.ID, true
			} else if err != nil {
				return err
			}
			r.SupporterID = id
		}
		out.SupporterID = r.SupporterID
		res, err := tx.Subscribe(ctx, r)
		if err != nil {
			return err
		}
		out.SubscribeResult = res
		l, err := tx.GetList(ctx, r.List)
		if err != nil {
			return err
		}
		switch {
		case res.Status == crm.StatusPending && opts.Confirm && (res.Changed || opts.ResendConfirmation):
			claimed, err := n.claimConfirmation(ctx, dbutil.Tx(tx), r.SupporterID, interval)
			if err != nil {
				return err
			}
			if !claimed {
				out.ConfirmationDeferred = true
				return nil
			}
			id, err := queueNotice(ctx, dbutil.Tx(tx), NoticeConfirm, r.SupporterID, []int64{l.ID}, n.clock())
			out.ConfirmationQueued, out.Notices = true, append(out.Notices, id)
			return err
		case res.Status == crm.StatusSubscribed && res.Changed && opts.Welcome:
			id, err := queueWelcome(ctx, tx, r.SupporterID, l.ID, n.clock())
			if id != 0 {
				out.WelcomeQueued, out.Notices = true, append(out.Notices, id)
			}
			return err
		case res.Status == crm.StatusSubscribed && res.Changed:
			has, err := dbutil.Tx(tx).NewSelect().Table("newsletter_list_templates").
				Where("list_id = ? AND kind = ?", l.ID, NoticeWelcome).Exists(ctx)
			out.WelcomeSkipped = has
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WelcomeImported queues the list's welcome email for everyone a finished
// import newly subscribed to its list (see crm.Tx.ImportSubscribed), once:
// running it again for the same import queues nothing more. It returns
// the queued notices, for SendNotices. An import sends no welcome unless
// asked: the people in a spreadsheet may have been welcomed long ago.
func (n *Newsletter) WelcomeImported(ctx context.Context, importID int64) ([]int64, error) {
	var ids []int64
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		ids = ids[:0]
		var imp struct {
			ListID    int64     `bun:"list_id"`
			StartedAt time.Time `bun:"started_at"`
		}
		if err := dbutil.Tx(tx).NewSelect().Table("imports").Column("list_id", "started_at").Where("id = ?", importID).
			Scan(ctx, &imp); err != nil {
			return fmt.Errorf("import %d: %w", importID, err)
		}
		people, err := tx.ImportSubscribed(ctx, importID)
		if err != nil || len(people) == 0 {
			return err
		}
		// Those welcomed since the import began are not welcomed again.
		var welcomed []int64
		if err := dbutil.Tx(tx).NewSelect().Table("newsletter_notices").Column("supporter_id").
			Where("kind = ? AND list_ids = ? AND created_at >= ?", NoticeWelcome, strconv.FormatInt(imp.ListID, 10), imp.StartedAt).
			Scan(ctx, &welcomed); err != nil {
			return err
		}
		done := make(map[int64]bool, len(welcomed))
		for _, id := range welcomed {
			done[id] = true
		}
		for _, p := range people {
			if done[p] {
				continue
			}
			id, err := queueWelcome(ctx, tx, p, imp.ListID, n.clock())
			if err != nil {
				return err
			}
			if id == 0 {
				return fmt.Errorf("the import's list has no welcome email: %w", crm.ErrNotFound)
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
