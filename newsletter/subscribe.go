package newsletter

import (
	"context"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// SubscribeOptions says which emails Subscribe queues.
type SubscribeOptions struct {
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
	// ConfirmationQueued says a confirmation email was queued;
	// ConfirmationDeferred that it was not, one having gone to the person
	// less than the interval ago.
	ConfirmationQueued   bool
	ConfirmationDeferred bool
	WelcomeQueued        bool
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
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
