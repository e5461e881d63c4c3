package newsletter

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
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

// queueToAnswers queues a notice of kind for each of answers (skipping
// the waiting list when skipWaiting), once per person with the dedupe
// key, and returns the ids of those it queued.
func queueToAnswers(ctx context.Context, idb bun.IDB, kind NoticeKind, eventID int64, answers []crm.EventAnswer,
	skipWaiting bool, dedupe string, now time.Time) ([]int64, error) {
	var ids []int64
	for _, a := range answers {
		if skipWaiting && a.Waiting {
			continue
		}
		id, err := queueEventNotice(ctx, idb, kind, a.SupporterID, eventID, dedupe, now)
		if err != nil {
			return nil, err
		}
		if id != 0 {
			ids = append(ids, id)
		}
	}
	return ids, nil
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

// EditEvent changes an event (crm.Tx.EditEvent) and, in the same
// transaction, queues a NoticeEventPlace for each party a larger capacity
// let in, and a NoticeEventChange for each person who answered yes
// (waiting list included) or maybe when the time or the place changed:
// EditEventWith with no options.
func (n *Newsletter) EditEvent(ctx context.Context, name string, edit crm.EventEdit) (*crm.Event, []crm.RSVP, error) {
	res, err := n.EditEventWith(ctx, name, edit, EditOptions{})
	if err != nil {
		return nil, nil, err
	}
	return res.Event, res.Promoted, nil
}

// EditOptions says how EditEventWith tells people of a change.
type EditOptions struct {
	// Quiet queues no NoticeEventChange: nobody is told that the time or
	// the place changed (those a larger capacity lets in are told all
	// the same).
	Quiet bool
	// Templates are the change's own email, one per language (the first
	// for other languages); none sends the package's default
	// (DefaultEventTemplate).
	Templates []TemplateSource
}

// EventEdited says what EditEventWith did.
type EventEdited struct {
	Event *crm.Event `json:"event"`
	// Promoted are the parties a larger capacity let in from the waiting
	// list, each with a NoticeEventPlace queued.
	Promoted []crm.RSVP `json:"promoted,omitempty"`
	// TimeChanged and PlaceChanged say whether the start or end, and the
	// address, city or postcode, changed.
	TimeChanged  bool `json:"time_changed"`
	PlaceChanged bool `json:"place_changed"`
	// Occasion is the dedupe key of the change's notices, "change-N" (N
	// the event's Sequence after the edit), "" when none were queued;
	// Notices are their IDs, one per person who answered yes (waiting
	// list included) or maybe: send them with SendNotices (IDs, or
	// EventID and Occasion).
	Occasion string  `json:"occasion,omitempty"`
	Notices  []int64 `json:"notices"`
}

// eventChangeRow is the time and place of an event before a change that
// people were told of.
type eventChangeRow struct {
	bun.BaseModel `bun:"table:newsletter_event_changes"`

	EventID   int64     `bun:"event_id,pk"`
	Sequence  int       `bun:"sequence,pk"`
	StartsAt  time.Time `bun:"starts_at"`
	EndsAt    time.Time `bun:"ends_at,nullzero"`
	Address   string    `bun:"address"`
	City      string    `bun:"city"`
	Postcode  string    `bun:"postcode"`
	CreatedAt time.Time `bun:"created_at"`
}

// event returns the event with the time and place of the row.
func (r *eventChangeRow) event(e *crm.Event) *crm.Event {
	before := *e
	before.StartsAt, before.EndsAt, before.Address, before.City, before.Postcode = r.StartsAt, r.EndsAt, r.Address,
		r.City, r.Postcode
	return &before
}

// changeOccasion is the dedupe key of the notices of the event's change
// that made its sequence seq.
func changeOccasion(seq int) string { return "change-" + strconv.Itoa(seq) }

// EditEventWith changes an event (crm.Tx.EditEvent) and, in the same
// transaction, queues a NoticeEventPlace for each party a larger capacity
// let in and, unless opts.Quiet, when the start, the end or the place
// (address, city, postcode) changed, a NoticeEventChange for each person
// who answered yes (waiting list included) or maybe, once per person and
// edit. Each change email tells the time and place true when it goes,
// and what they were before; a person with several change emails not
// sent yet gets the last one only. It returns the errors of
// crm.Tx.EditEvent, and a *TemplateError for a template's mistake, with
// nothing changed.
func (n *Newsletter) EditEventWith(ctx context.Context, name string, edit crm.EventEdit, opts EditOptions) (*EventEdited, error) {
	rows, err := checkEventTemplates(opts.Templates)
	if err != nil {
		return nil, err
	}
	out := &EventEdited{}
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		*out = EventEdited{}
		idb := dbutil.Tx(tx)
		before, err := tx.LockEvent(ctx, name)
		if err != nil {
			return err
		}
		e, promoted, err := tx.EditEvent(ctx, name, edit)
		if err != nil {
			return err
		}
		now := n.clock()
		out.Event, out.Promoted = e, promoted
		if err := queuePlaces(ctx, tx, e.ID, promoted, now); err != nil {
			return err
		}
		out.TimeChanged = !before.StartsAt.Equal(e.StartsAt) || !before.EndsAt.Equal(e.EndsAt)
		out.PlaceChanged = before.Place() != e.Place()
		if opts.Quiet || !(out.TimeChanged || out.PlaceChanged) {
			return nil
		}
		out.Occasion = changeOccasion(e.Sequence)
		if _, err := idb.NewInsert().Model(&eventChangeRow{EventID: e.ID, Sequence: e.Sequence, StartsAt: before.StartsAt,
			EndsAt: before.EndsAt, Address: before.Address, City: before.City, Postcode: before.Postcode, CreatedAt: now}).
			Exec(ctx); err != nil {
			return fmt.Errorf("event %s: change %d: %w", e.Name, e.Sequence, err)
		}
		if err := storeEventTemplates(ctx, idb, e.ID, out.Occasion, rows); err != nil {
			return err
		}
		answers, err := tx.EventAnswers(ctx, e, crm.AnswerYes, crm.AnswerMaybe)
		if err != nil {
			return err
		}
		if out.Notices, err = queueToAnswers(ctx, idb, NoticeEventChange, e.ID, answers, false, out.Occasion, now); err != nil {
			return err
		}
		return tx.Audit(ctx, "event change emails", fmt.Sprintf("event %s: change %d, %d email(s) queued", e.Name,
			e.Sequence, len(out.Notices)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeFor returns what a change notice tells the person: the time and
// place now, and before the earliest of the changes whose emails they
// were not sent since the last one they were (what they knew). It
// returns why to skip the notice instead when a later change email to
// them is waiting or went (it tells the same, and more), or when the
// time and place are back to what they knew.
func (n *Newsletter) changeFor(ctx context.Context, r *noticeRow, e *crm.Event, loc *time.Location, lang string) (EventChangeFields, string, error) {
	var mine []noticeRow
	if err := n.bun.NewSelect().Model(&mine).Column("id", "dedupe", "status").
		Where("event_id = ? AND supporter_id = ? AND kind = ?", r.EventID, r.SupporterID, NoticeEventChange).
		Order("id").Scan(ctx); err != nil {
		return EventChangeFields{}, "", fmt.Errorf("change emails: %w", err)
	}
	first := "" // the occasion of the first change of the run not sent
	for _, m := range mine {
		told := m.Status == noticeSent || m.Status == noticeUncertain
		switch {
		case m.ID > r.ID && (told || m.Status == noticePending || m.Status == noticeInFlight):
			return EventChangeFields{}, "a later change email to the person supersedes it", nil
		case m.ID > r.ID:
		case told:
			first = ""
		case first == "":
			first = m.Dedupe
		}
	}
	seq, err := strconv.Atoi(strings.TrimPrefix(cmp.Or(first, r.Dedupe), "change-"))
	if err != nil {
		return EventChangeFields{}, "", fmt.Errorf("change email %d: occasion %q", r.ID, r.Dedupe)
	}
	var prev eventChangeRow
	if err := n.bun.NewSelect().Model(&prev).Where("event_id = ? AND sequence = ?", r.EventID, seq).
		Scan(ctx); err != nil {
		return EventChangeFields{}, "", fmt.Errorf("event change %d: %w", seq, err)
	}
	was := prev.event(e)
	f := EventChangeFields{Time: !was.StartsAt.Equal(e.StartsAt) || !was.EndsAt.Equal(e.EndsAt),
		Place: was.Place() != e.Place(), PreviousWhen: eventWhen(was, loc, lang), PreviousPlace: was.Place()}
	if !f.Time && !f.Place {
		return f, "the time and place are back to what the person was told", nil
	}
	return f, "", nil
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
