package newsletter

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// queueEventNotice records, in the caller's transaction, a notice about
// an event for the supporter. With a dedupe key ("cancel", "reminder-2")
// it is queued at most once per person, event and key: queueing it again
// is a no-op that returns 0.
func queueEventNotice(ctx context.Context, idb bun.IDB, kind NoticeKind, supporterID, eventID int64, dedupe string,
	now time.Time) (int64, error) {
	r := &noticeRow{Kind: kind, SupporterID: supporterID, EventID: eventID, Dedupe: dedupe,
		Key: "notice-" + randomHex(16), Status: noticePending, CreatedAt: now}
	q := idb.NewInsert().Model(r).Returning("id")
	if dedupe != "" {
		q = q.On("CONFLICT (event_id, supporter_id, dedupe) WHERE dedupe IS NOT NULL DO NOTHING")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue %s email: %w", kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil
	}
	return r.ID, nil
}

// AnswerEvent records a person's answer to an event (crm.Tx.AnswerEvent)
// and, in the same transaction, queues a NoticeEventPlace for each party
// the answer let in from the waiting list. The caller sends the queued
// notices (SendNotices) when it has a sender; the result's Promoted says
// who they are for.
func (n *Newsletter) AnswerEvent(ctx context.Context, req crm.RSVPRequest) (*crm.RSVPResult, error) {
	var res *crm.RSVPResult
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		var err error
		if res, err = tx.AnswerEvent(ctx, req); err != nil {
			return err
		}
		return queuePlaces(ctx, tx, res.Event.ID, res.Promoted, n.clock())
	})
	return res, err
}

// EditEvent changes an event (crm.Tx.EditEvent) and queues a
// NoticeEventPlace for each party a larger capacity let in.
func (n *Newsletter) EditEvent(ctx context.Context, name string, edit crm.EventEdit) (*crm.Event, []crm.RSVP, error) {
	var e *crm.Event
	var promoted []crm.RSVP
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		var err error
		if e, promoted, err = tx.EditEvent(ctx, name, edit); err != nil {
			return err
		}
		return queuePlaces(ctx, tx, e.ID, promoted, n.clock())
	})
	return e, promoted, err
}

func queuePlaces(ctx context.Context, tx *crm.Tx, eventID int64, promoted []crm.RSVP, now time.Time) error {
	for _, r := range promoted {
		// A person can be let in more than once (in, out, waiting, in
		// again): each time is its own notice.
		if _, err := queueEventNotice(ctx, dbutil.Tx(tx), NoticeEventPlace, r.SupporterID, eventID, "", now); err != nil {
			return err
		}
	}
	return nil
}
