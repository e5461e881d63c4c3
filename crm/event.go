package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Events and mobilisation calls.
//
// An event is the same small thing whether it is tomorrow morning's
// eviction (KindAction: an urgent call) or Saturday's distribution
// (KindEvent: planned). People answer yes, no or maybe, with guests; one
// current answer per person and event (event_rsvps), every answer kept in
// order (event_rsvp_history). With a capacity, places are counted in
// people: a "yes" and its guests. A yes that does not fit goes on the
// waiting list, in the order people asked; when places free up (someone
// changes their answer, brings fewer guests, or the capacity grows), the
// waiting list is offered them in that order: each waiting party that
// fits the places left is confirmed, the first in line first; a party
// too big for what is left keeps its rank while a smaller one behind it
// takes the places it could not use (a free place is never left empty
// while someone waits who fits it). So a new "yes" gets a place only
// when no one waiting fits it. A party bigger than the capacity itself
// is refused: it could never come. AnswerEvent returns who was confirmed
// from the waiting list so the caller can tell them.
//
// Answers are one transaction that locks the event (its row on
// PostgreSQL; SQLite's write lock, taken when the transaction begins): two
// people answering yes at the same instant for the last place cannot both
// get it. Afterwards the organiser records attendance (attended or
// no-show), which segments can select: attended.count>=3 is "those who
// came to three actions".

// EventKind says whether an event is an urgent call or a planned one.
type EventKind string

// Event kinds.
const (
	KindAction EventKind = "action" // urgent: an eviction tomorrow at 7:30
	KindEvent  EventKind = "event"  // planned: a distribution, a meeting
)

// EventStatus is whether an event still takes place.
type EventStatus string

// Event statuses.
const (
	EventScheduled EventStatus = "scheduled"
	EventCancelled EventStatus = "cancelled"
)

// Answer is a person's answer to an event.
type Answer string

// Answers.
const (
	AnswerYes   Answer = "yes"
	AnswerNo    Answer = "no"
	AnswerMaybe Answer = "maybe"
)

// ParseAnswer reads yes, no or maybe (and oui, non, peut-être).
func ParseAnswer(s string) (Answer, error) {
	switch fold(CleanText(s)) {
	case "yes", "oui":
		return AnswerYes, nil
	case "no", "non":
		return AnswerNo, nil
	case "maybe", "peut-etre", "peutetre":
		return AnswerMaybe, nil
	}
	return "", invalid("answer", s, "want yes, no or maybe")
}

// Attendance statuses, recorded after an event.
const (
	Attended = "attended"
	NoShow   = "no-show"
)

// Bounds of an event's fields.
const (
	MaxEventTitleLength = 200
	MaxEventTextLength  = 4000
	MaxGuests           = 20
)

// ErrEventClosed means an event takes no more answers: it was cancelled or
// has started.
var ErrEventClosed = errors.New("event closed")

// Event is an action or a planned event people can answer.
type Event struct {
	bun.BaseModel `bun:"table:events,alias:ev" json:"-"`

	ID            int64       `bun:"id,pk,autoincrement" json:"id"`
	Name          string      `bun:"name" json:"name"`
	Title         string      `bun:"title" json:"title"`       // French, and the default
	TitleEN       string      `bun:"title_en" json:"title_en"` // English; "" shows Title
	Description   string      `bun:"description" json:"description,omitempty"`
	DescriptionEN string      `bun:"description_en" json:"description_en,omitempty"`
	StartsAt      time.Time   `bun:"starts_at" json:"starts_at"`               // UTC
	EndsAt        time.Time   `bun:"ends_at,nullzero" json:"ends_at,omitzero"` // UTC; zero: not said
	Address       string      `bun:"address" json:"address,omitempty"`         // "12 rue des Lilas"
	City          string      `bun:"city" json:"city,omitempty"`               // "Calais"
	Postcode      string      `bun:"postcode" json:"postcode,omitempty"`       // "62100"
	Capacity      int         `bun:"capacity" json:"capacity,omitempty"`       // people, guests included; 0: no limit
	Kind          EventKind   `bun:"kind" json:"kind"`                         // KindAction or KindEvent
	Public        bool        `bun:"public" json:"public"`                     // on the public events page and feed
	Status        EventStatus `bun:"status" json:"status"`                     // EventScheduled or EventCancelled
	// Sequence counts the event's changes, for calendars (iCalendar's
	// SEQUENCE): each EditEvent and the CancelEvent add one.
	Sequence    int       `bun:"sequence" json:"sequence"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"` //
	UpdatedAt   time.Time `bun:"updated_at" json:"updated_at"` //
	CancelledAt time.Time `bun:"cancelled_at,nullzero" json:"cancelled_at,omitzero"`
}

// TitleFor returns the event's title in the language (fr or en).
func (e *Event) TitleFor(lang string) string {
	if lang == "en" && e.TitleEN != "" {
		return e.TitleEN
	}
	return e.Title
}

// DescriptionFor returns the event's description in the language.
func (e *Event) DescriptionFor(lang string) string {
	if lang == "en" && e.DescriptionEN != "" {
		return e.DescriptionEN
	}
	return e.Description
}

// Place returns the address, postcode and city on one line.
func (e *Event) Place() string {
	var parts []string
	if e.Address != "" {
		parts = append(parts, e.Address)
	}
	if pc := strings.TrimSpace(e.Postcode + " " + e.City); pc != "" {
		parts = append(parts, pc)
	}
	return strings.Join(parts, ", ")
}

// End returns EndsAt, or for an event whose end was not said, two hours
// after its start (calendars need an end).
func (e *Event) End() time.Time {
	if !e.EndsAt.IsZero() {
		return e.EndsAt
	}
	return e.StartsAt.Add(2 * time.Hour)
}

// Open reports whether the event takes answers at now: scheduled and not
// started yet.
func (e *Event) Open(now time.Time) bool {
	return e.Status == EventScheduled && now.Before(e.StartsAt)
}

// Normalize checks and cleans the event: a slug name, a title (the name
// when empty), an end after the start, a kind (KindEvent when empty), a
// capacity that is not negative. It returns a *ValidationError naming the
// field at fault.
func (e *Event) Normalize() error {
	name, err := slug("name", e.Name)
	if err != nil {
		return err
	}
	e.Name = name
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"title", &e.Title, MaxEventTitleLength}, {"title-en", &e.TitleEN, MaxEventTitleLength},
		{"description", &e.Description, MaxEventTextLength}, {"description-en", &e.DescriptionEN, MaxEventTextLength},
		{"place", &e.Address, MaxEventTitleLength}, {"city", &e.City, MaxEventTitleLength},
		{"postcode", &e.Postcode, 20},
	} {
		if f.name == "description" || f.name == "description-en" {
			*f.v = cleanMultiline(*f.v)
		} else {
			*f.v = CleanText(*f.v)
		}
		if n := utf8.RuneCountInString(*f.v); n > f.max {
			return invalid(f.name, "", fmt.Sprintf("%d characters, at most %d", n, f.max))
		}
	}
	if e.Title == "" {
		e.Title = e.Name
	}
	e.Postcode = normalizePostcode(e.Postcode)
	if e.StartsAt.IsZero() {
		return invalid("start", "", "missing")
	}
	e.StartsAt = e.StartsAt.UTC().Truncate(time.Second)
	if !e.EndsAt.IsZero() {
		e.EndsAt = e.EndsAt.UTC().Truncate(time.Second)
		if !e.EndsAt.After(e.StartsAt) {
			return invalid("end", e.EndsAt.Format(time.RFC3339), "not after the start")
		}
	}
	switch e.Kind {
	case "":
		e.Kind = KindEvent
	case KindAction, KindEvent:
	default:
		return invalid("kind", string(e.Kind), "want action or event")
	}
	if e.Capacity < 0 {
		return invalid("capacity", fmt.Sprint(e.Capacity), "negative")
	}
	if e.Status == "" {
		e.Status = EventScheduled
	}
	return nil
}

// CreateEvent checks and stores a new event, setting its ID. It returns
// an error wrapping ErrConflict for a taken name and a *ValidationError
// for a bad field.
func (db *DB) CreateEvent(ctx context.Context, e *Event) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.CreateEvent(ctx, e) })
}

// CreateEvent is DB.CreateEvent in the transaction.
func (tx *Tx) CreateEvent(ctx context.Context, e *Event) error {
	e.Status = EventScheduled
	if err := e.Normalize(); err != nil {
		return err
	}
	taken, err := tx.tx.NewSelect().Table("events").Where("name = ?", e.Name).Exists(ctx)
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("event %q already exists: %w", e.Name, ErrConflict)
	}
	e.CreatedAt, e.UpdatedAt = tx.now(), tx.now()
	if _, err := tx.tx.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("create event: %w", err)
	}
	return tx.Audit(ctx, "event create", "event "+e.Name)
}

// EventEdit holds the fields to change; nil leaves a field as it is.
type EventEdit struct {
	Title, TitleEN, Description, DescriptionEN *string
	StartsAt, EndsAt                           *time.Time // a zero EndsAt removes the end
	Address, City, Postcode                    *string
	Capacity                                   *int
	Kind                                       *EventKind
	Public                                     *bool
}

// EditEvent changes a scheduled event and adds one to its Sequence.
// When the capacity grows, the waiting list is offered the new places;
// the result says who got one.
func (db *DB) EditEvent(ctx context.Context, name string, edit EventEdit) (*Event, []RSVP, error) {
	var e *Event
	var promoted []RSVP
	err := db.RunInTx(ctx, func(tx *Tx) error {
		var err error
		e, promoted, err = tx.EditEvent(ctx, name, edit)
		return err
	})
	return e, promoted, err
}

// EditEvent is DB.EditEvent in the transaction.
func (tx *Tx) EditEvent(ctx context.Context, name string, edit EventEdit) (*Event, []RSVP, error) {
	e, err := tx.lockEvent(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if e.Status == EventCancelled {
		return nil, nil, fmt.Errorf("event %s is cancelled: %w", e.Name, ErrEventClosed)
	}
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&e.Title, edit.Title}, {&e.TitleEN, edit.TitleEN}, {&e.Description, edit.Description},
		{&e.DescriptionEN, edit.DescriptionEN}, {&e.Address, edit.Address}, {&e.City, edit.City},
		{&e.Postcode, edit.Postcode},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if edit.StartsAt != nil {
		e.StartsAt = *edit.StartsAt
	}
	if edit.EndsAt != nil {
		e.EndsAt = *edit.EndsAt
	}
	if edit.Capacity != nil {
		e.Capacity = *edit.Capacity
	}
	if edit.Kind != nil {
		e.Kind = *edit.Kind
	}
	if edit.Public != nil {
		e.Public = *edit.Public
	}
	if err := e.Normalize(); err != nil {
		return nil, nil, err
	}
	e.UpdatedAt = tx.now()
	e.Sequence++
	if _, err := tx.tx.NewUpdate().Model(e).WherePK().ExcludeColumn("id", "name", "created_at").Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("edit event: %w", err)
	}
	promoted, err := tx.offerPlaces(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Audit(ctx, "event edit", "event "+e.Name); err != nil {
		return nil, nil, err
	}
	return e, promoted, nil
}

// CancelEvent marks a scheduled event cancelled, adding one to its
// Sequence; it takes no more answers. It returns an error wrapping
// ErrEventClosed if it already was.
func (db *DB) CancelEvent(ctx context.Context, name string) (*Event, error) {
	return runTx(ctx, db, func(tx *Tx) (*Event, error) { return tx.CancelEvent(ctx, name) })
}

// CancelEvent is DB.CancelEvent in the transaction.
func (tx *Tx) CancelEvent(ctx context.Context, name string) (*Event, error) {
	e, err := tx.lockEvent(ctx, name)
	if err != nil {
		return nil, err
	}
	if e.Status == EventCancelled {
		return nil, fmt.Errorf("event %s was already cancelled: %w", e.Name, ErrEventClosed)
	}
	now := tx.now()
	e.Status, e.CancelledAt, e.UpdatedAt = EventCancelled, now, now
	e.Sequence++
	if _, err := tx.tx.NewUpdate().Model(e).Column("status", "cancelled_at", "updated_at", "sequence").WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("cancel event: %w", err)
	}
	return e, tx.Audit(ctx, "event cancel", "event "+e.Name)
}

// GetEvent returns the event with this name, or an error wrapping
// ErrNotFound.
func (db *DB) GetEvent(ctx context.Context, name string) (*Event, error) {
	return getEvent(ctx, db.bun, "ev.name = ?", eventName(name))
}

// GetEvent is DB.GetEvent in the transaction.
func (tx *Tx) GetEvent(ctx context.Context, name string) (*Event, error) {
	return getEvent(ctx, tx.tx, "ev.name = ?", eventName(name))
}

// GetEventByID returns the event with this id, or an error wrapping
// ErrNotFound.
func (db *DB) GetEventByID(ctx context.Context, id int64) (*Event, error) {
	return getEvent(ctx, db.bun, "ev.id = ?", id)
}

// eventName folds a name as it is stored, leaving a name that is no slug
// as it is (it then matches nothing).
func eventName(name string) string {
	if n, err := slug("name", name); err == nil {
		return n
	}
	return name
}

func getEvent(ctx context.Context, idb bun.IDB, where string, arg any) (*Event, error) {
	e := new(Event)
	if err := idb.NewSelect().Model(e).Where(where, arg).Limit(1).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("no event %v: %w", arg, ErrNotFound)
		}
		return nil, err
	}
	return e, nil
}

// lockEvent reads the event for a change, locking its row on PostgreSQL
// (SQLite's transaction already holds the write lock).
func (tx *Tx) lockEvent(ctx context.Context, name string) (*Event, error) {
	e := new(Event)
	q := tx.tx.NewSelect().Model(e).Where("ev.name = ?", eventName(name)).Limit(1)
	if !tx.db.isSQLite() {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("no event %q: %w", name, ErrNotFound)
		}
		return nil, err
	}
	return e, nil
}

// EventFilter selects events; the zero value selects all, soonest first.
type EventFilter struct {
	// From keeps the events that end at or after it (zero: all).
	From time.Time
	// PublicOnly keeps the public events; Scheduled the ones not
	// cancelled.
	PublicOnly, Scheduled bool
}

// Events returns the events the filter selects, by start time.
func (db *DB) Events(ctx context.Context, f EventFilter) ([]*Event, error) {
	var es []*Event
	q := db.bun.NewSelect().Model(&es).Order("starts_at", "name")
	if !f.From.IsZero() {
		// An event without an end is taken to last two hours (Event.End).
		q = q.Where("(ev.ends_at >= ? OR (ev.ends_at IS NULL AND ev.starts_at >= ?))", f.From.UTC(),
			f.From.UTC().Add(-2*time.Hour))
	}
	if f.PublicOnly {
		q = q.Where("ev.public")
	}
	if f.Scheduled {
		q = q.Where("ev.status = ?", EventScheduled)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return es, nil
}

// RSVP is a person's current answer to an event.
type RSVP struct {
	bun.BaseModel `bun:"table:event_rsvps,alias:r" json:"-"`

	EventID     int64  `bun:"event_id,pk" json:"event_id"`
	SupporterID int64  `bun:"supporter_id,pk" json:"supporter_id"`
	Answer      Answer `bun:"answer" json:"answer"`
	Guests      int    `bun:"guests" json:"guests"`
	// Waiting is a yes beyond the capacity, on the waiting list since
	// WaitingSince.
	Waiting      bool      `bun:"waiting" json:"waiting"`
	WaitingSince time.Time `bun:"waiting_since,nullzero" json:"waiting_since,omitzero"`
	Source       string    `bun:"source" json:"source"` // "web", "cli", "waiting list"
	AnsweredAt   time.Time `bun:"answered_at" json:"answered_at"`
}

// Coming reports whether the answer holds a place: a yes off the waiting
// list.
func (r *RSVP) Coming() bool { return r != nil && r.Answer == AnswerYes && !r.Waiting }

// places is how many places the answer holds.
func (r *RSVP) places() int {
	if !r.Coming() {
		return 0
	}
	return 1 + r.Guests
}

// RSVPChange is one answer as the history keeps it.
type RSVPChange struct {
	bun.BaseModel `bun:"table:event_rsvp_history,alias:h" json:"-"`

	ID          int64     `bun:"id,pk,autoincrement" json:"-"`
	EventID     int64     `bun:"event_id" json:"event_id"`
	SupporterID int64     `bun:"supporter_id" json:"-"`
	Answer      Answer    `bun:"answer" json:"answer"`
	Guests      int       `bun:"guests" json:"guests"`
	Waiting     bool      `bun:"waiting" json:"waiting"`
	Source      string    `bun:"source" json:"source"`
	At          time.Time `bun:"at" json:"at"`
}

// RSVPRequest is an answer to record.
type RSVPRequest struct {
	Event       string // the event's name
	SupporterID int64
	Answer      Answer
	Guests      int    // people coming with them (0 to MaxGuests); only with yes
	Source      string // where the answer came from: "web", "cli"
}

// RSVPResult says what an answer did.
type RSVPResult struct {
	Event *Event
	RSVP  RSVP
	// Changed is false when the answer was already the current one.
	Changed bool
	// Promoted are the waiting parties that got the places this answer
	// freed, in order: tell them.
	Promoted []RSVP
}

// AnswerEvent records a person's answer to an event: their current
// answer is replaced and the history keeps both. A yes that does not fit
// the capacity goes on the waiting list (RSVP.Waiting); a person who held
// a place and asks for more guests than the places left gets a
// *ValidationError on guests, and keeps what they had. It returns an
// error wrapping ErrEventClosed for a cancelled or started event, and
// ErrNotFound for an unknown event or supporter (or an erased one).
func (db *DB) AnswerEvent(ctx context.Context, req RSVPRequest) (*RSVPResult, error) {
	return runTx(ctx, db, func(tx *Tx) (*RSVPResult, error) { return tx.AnswerEvent(ctx, req) })
}

// AnswerEvent is DB.AnswerEvent in the transaction.
func (tx *Tx) AnswerEvent(ctx context.Context, req RSVPRequest) (*RSVPResult, error) {
	switch req.Answer {
	case AnswerYes, AnswerNo, AnswerMaybe:
	default:
		return nil, invalid("answer", string(req.Answer), "want yes, no or maybe")
	}
	if req.Guests < 0 || req.Guests > MaxGuests {
		return nil, invalid("guests", fmt.Sprint(req.Guests), fmt.Sprintf("want 0 to %d", MaxGuests))
	}
	if req.Answer != AnswerYes {
		req.Guests = 0
	}
	e, err := tx.lockEvent(ctx, req.Event)
	if err != nil {
		return nil, err
	}
	now := tx.now()
	if !e.Open(now) {
		what := "has started"
		if e.Status == EventCancelled {
			what = "was cancelled"
		}
		return nil, fmt.Errorf("event %s %s: %w", e.Name, what, ErrEventClosed)
	}
	if _, err := lockLiveSupporter(ctx, tx.tx, req.SupporterID); err != nil {
		return nil, err
	}
	rsvps, err := eventRSVPs(ctx, tx.tx, e.ID)
	if err != nil {
		return nil, err
	}
	var cur *RSVP
	taken := 0
	for i := range rsvps {
		if rsvps[i].SupporterID == req.SupporterID {
			cur = &rsvps[i]
			continue
		}
		taken += rsvps[i].places()
	}
	next := RSVP{EventID: e.ID, SupporterID: req.SupporterID, Answer: req.Answer, Guests: req.Guests,
		Source: CleanText(req.Source), AnsweredAt: now}
	if req.Answer == AnswerYes && e.Capacity > 0 && 1+req.Guests > e.Capacity {
		return nil, invalid("guests", fmt.Sprint(req.Guests),
			fmt.Sprintf("the event has %d place(s) in all: at most %d guest(s)", e.Capacity, e.Capacity-1))
	}
	if req.Answer == AnswerYes && e.Capacity > 0 && taken+1+req.Guests > e.Capacity {
		switch {
		case cur.Coming():
			return nil, invalid("guests", fmt.Sprint(req.Guests),
				fmt.Sprintf("only %d place(s) left with yours", max(e.Capacity-taken, 0)))
		case cur != nil && cur.Waiting:
			next.Waiting, next.WaitingSince = true, cur.WaitingSince
		default:
			next.Waiting, next.WaitingSince = true, now
		}
	}
	res := &RSVPResult{Event: e, RSVP: next}
	if cur != nil && cur.Answer == next.Answer && cur.Guests == next.Guests && cur.Waiting == next.Waiting {
		res.RSVP = *cur
		return res, nil
	}
	res.Changed = true
	if _, err := tx.tx.NewInsert().Model(&next).
		On("CONFLICT (event_id, supporter_id) DO UPDATE").
		Set("answer = EXCLUDED.answer, guests = EXCLUDED.guests, waiting = EXCLUDED.waiting").
		Set("waiting_since = EXCLUDED.waiting_since, source = EXCLUDED.source, answered_at = EXCLUDED.answered_at").
		Exec(ctx); err != nil {
		return nil, fmt.Errorf("answer event: %w", err)
	}
	if err := recordRSVP(ctx, tx.tx, next, now); err != nil {
		return nil, err
	}
	if cur.places() > next.places() {
		if res.Promoted, err = tx.offerPlaces(ctx, e); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func recordRSVP(ctx context.Context, idb bun.IDB, r RSVP, at time.Time) error {
	h := &RSVPChange{EventID: r.EventID, SupporterID: r.SupporterID, Answer: r.Answer, Guests: r.Guests,
		Waiting: r.Waiting, Source: r.Source, At: at}
	if _, err := idb.NewInsert().Model(h).Exec(ctx); err != nil {
		return fmt.Errorf("answer history: %w", err)
	}
	return nil
}

// eventRSVPs returns the current answers to an event, the waiting list in
// order at the end.
func eventRSVPs(ctx context.Context, idb bun.IDB, eventID int64) ([]RSVP, error) {
	var rs []RSVP
	if err := idb.NewSelect().Model(&rs).Where("event_id = ?", eventID).
		OrderExpr("waiting, waiting_since, supporter_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	return rs, nil
}

// offerPlaces confirms the waiting parties that fit the places left, in
// the order they asked; one that does not fit keeps its rank. The event
// is locked.
func (tx *Tx) offerPlaces(ctx context.Context, e *Event) ([]RSVP, error) {
	rsvps, err := eventRSVPs(ctx, tx.tx, e.ID)
	if err != nil {
		return nil, err
	}
	taken := 0
	for i := range rsvps {
		taken += rsvps[i].places()
	}
	var promoted []RSVP
	now := tx.now()
	for _, r := range rsvps {
		if !r.Waiting {
			continue
		}
		if e.Capacity > 0 && taken+1+r.Guests > e.Capacity {
			continue
		}
		r.Waiting, r.WaitingSince, r.Source = false, time.Time{}, "waiting list"
		if _, err := tx.tx.NewUpdate().Model(&r).Column("waiting", "waiting_since", "source").WherePK().
			Exec(ctx); err != nil {
			return nil, fmt.Errorf("waiting list: %w", err)
		}
		if err := recordRSVP(ctx, tx.tx, r, now); err != nil {
			return nil, err
		}
		taken += 1 + r.Guests
		promoted = append(promoted, r)
	}
	return promoted, nil
}

// EventCounts sums up the answers to an event.
type EventCounts struct {
	Yes     int `json:"yes"`     // people who answered yes and hold a place
	Guests  int `json:"guests"`  // the guests they bring
	Maybe   int `json:"maybe"`   //
	No      int `json:"no"`      //
	Waiting int `json:"waiting"` // parties on the waiting list
	// Coming is Yes + Guests; PlacesLeft is the capacity minus Coming
	// (-1 without a capacity).
	Coming     int `json:"coming"`
	PlacesLeft int `json:"places_left"`
}

// Full reports whether a capacity is set and no place is left.
func (c EventCounts) Full() bool { return c.PlacesLeft == 0 }

// CountAnswers sums up the current answers to the event.
func (db *DB) CountAnswers(ctx context.Context, e *Event) (EventCounts, error) {
	rsvps, err := eventRSVPs(ctx, db.bun, e.ID)
	if err != nil {
		return EventCounts{}, err
	}
	var c EventCounts
	for _, r := range rsvps {
		switch {
		case r.Waiting:
			c.Waiting++
		case r.Answer == AnswerYes:
			c.Yes++
			c.Guests += r.Guests
		case r.Answer == AnswerMaybe:
			c.Maybe++
		case r.Answer == AnswerNo:
			c.No++
		}
	}
	c.Coming = c.Yes + c.Guests
	c.PlacesLeft = -1
	if e.Capacity > 0 {
		c.PlacesLeft = max(e.Capacity-c.Coming, 0)
	}
	return c, nil
}

// EventAnswer is a current answer with who gave it, for the organiser.
type EventAnswer struct {
	RSVP
	Email     string `bun:"email" json:"email"`
	FirstName string `bun:"first_name" json:"first_name"`
	LastName  string `bun:"last_name" json:"last_name"`
	Phone     string `bun:"phone" json:"phone"`
	Language  string `bun:"language" json:"language"`
	// Attendance is Attended or NoShow once recorded, else "".
	Attendance string `bun:"attendance" json:"attendance,omitempty"`
}

// EventAnswers returns the current answers to the event with the people
// who gave them: those coming first, then the waiting list in its order,
// then maybe, then no; by when they answered within each. answers, if
// given, keeps only those answers.
func (db *DB) EventAnswers(ctx context.Context, e *Event, answers ...Answer) ([]EventAnswer, error) {
	return eventAnswers(ctx, db.bun, e, answers)
}

// EventAnswers is DB.EventAnswers in the transaction: what an email to
// those who answered is queued from, in the transaction that queues it.
func (tx *Tx) EventAnswers(ctx context.Context, e *Event, answers ...Answer) ([]EventAnswer, error) {
	return eventAnswers(ctx, tx.tx, e, answers)
}

// LockEvent returns the event with this name for a change made in the
// transaction (its row locked on PostgreSQL, as AnswerEvent locks it), or
// an error wrapping ErrNotFound.
func (tx *Tx) LockEvent(ctx context.Context, name string) (*Event, error) {
	return tx.lockEvent(ctx, name)
}

func eventAnswers(ctx context.Context, idb bun.IDB, e *Event, answers []Answer) ([]EventAnswer, error) {
	var out []EventAnswer
	q := idb.NewSelect().TableExpr("event_rsvps AS r").
		ColumnExpr("r.*").
		ColumnExpr("s.email, s.first_name, s.last_name, s.phone, s.language").
		ColumnExpr("COALESCE(a.status, '') AS attendance").
		Join("JOIN supporters AS s ON s.id = r.supporter_id").
		Join("LEFT JOIN event_attendance AS a ON a.event_id = r.event_id AND a.supporter_id = r.supporter_id").
		Where("r.event_id = ?", e.ID).
		OrderExpr("CASE WHEN r.answer = 'yes' AND NOT r.waiting THEN 0 WHEN r.waiting THEN 1 WHEN r.answer = 'maybe' THEN 2 ELSE 3 END").
		OrderExpr("CASE WHEN r.waiting THEN r.waiting_since ELSE r.answered_at END, r.supporter_id")
	if len(answers) > 0 {
		q = q.Where("r.answer IN (?)", bun.List(answers))
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("event answers: %w", err)
	}
	return out, nil
}

// EventPeople returns, for the organiser, everyone who answered the event
// or whose attendance was recorded: the answers in EventAnswers' order,
// then those recorded as attended or no-show without answering (Answer
// ""), by name.
func (db *DB) EventPeople(ctx context.Context, e *Event) ([]EventAnswer, error) {
	out, err := eventAnswers(ctx, db.bun, e, nil)
	if err != nil {
		return nil, err
	}
	var walkIns []EventAnswer
	if err := db.bun.NewSelect().TableExpr("event_attendance AS a").
		ColumnExpr("a.event_id, a.supporter_id, a.status AS attendance").
		ColumnExpr("s.email, s.first_name, s.last_name, s.phone, s.language").
		Join("JOIN supporters AS s ON s.id = a.supporter_id").
		Where("a.event_id = ?", e.ID).
		Where("NOT EXISTS (SELECT 1 FROM event_rsvps AS r WHERE r.event_id = a.event_id AND r.supporter_id = a.supporter_id)").
		OrderExpr("s.last_name, s.first_name, s.email").Scan(ctx, &walkIns); err != nil {
		return nil, fmt.Errorf("event attendance: %w", err)
	}
	return append(out, walkIns...), nil
}

// AttendanceCounts sums up the attendance recorded for an event.
type AttendanceCounts struct {
	Attended int `json:"attended"`
	NoShow   int `json:"no_show"`
}

// CountAttendance sums up the attendance recorded for the event.
func (db *DB) CountAttendance(ctx context.Context, e *Event) (AttendanceCounts, error) {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := db.bun.NewSelect().Table("event_attendance").ColumnExpr("status, COUNT(*) AS n").
		Where("event_id = ?", e.ID).Group("status").Scan(ctx, &rows); err != nil {
		return AttendanceCounts{}, fmt.Errorf("event attendance: %w", err)
	}
	var c AttendanceCounts
	for _, r := range rows {
		switch r.Status {
		case Attended:
			c.Attended = r.N
		case NoShow:
			c.NoShow = r.N
		}
	}
	return c, nil
}

// GetRSVP returns the person's current answer to the event, nil if they
// gave none.
func (db *DB) GetRSVP(ctx context.Context, eventID, supporterID int64) (*RSVP, error) {
	r := new(RSVP)
	err := db.bun.NewSelect().Model(r).Where("event_id = ? AND supporter_id = ?", eventID, supporterID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return r, nil
}

// WaitingPosition returns the person's place on the event's waiting list,
// counted from 1 in the order places are offered (see AnswerEvent); 0
// when they are not on it.
func (db *DB) WaitingPosition(ctx context.Context, eventID, supporterID int64) (int, error) {
	r, err := db.GetRSVP(ctx, eventID, supporterID)
	if err != nil || r == nil || !r.Waiting {
		return 0, err
	}
	ahead, err := db.bun.NewSelect().Table("event_rsvps").
		Where("event_id = ? AND waiting", eventID).
		Where("(waiting_since < ? OR (waiting_since = ? AND supporter_id < ?))", r.WaitingSince, r.WaitingSince, supporterID).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("waiting list: %w", err)
	}
	return int(ahead) + 1, nil
}

// RSVPHistory returns every answer the person gave to the event, oldest
// first.
func (db *DB) RSVPHistory(ctx context.Context, eventID, supporterID int64) ([]RSVPChange, error) {
	var hs []RSVPChange
	if err := db.bun.NewSelect().Model(&hs).Where("event_id = ? AND supporter_id = ?", eventID, supporterID).
		Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("answer history: %w", err)
	}
	return hs, nil
}

// AttendanceRecord is whether a person came to an event.
type AttendanceRecord struct {
	bun.BaseModel `bun:"table:event_attendance,alias:att" json:"-"`

	EventID     int64     `bun:"event_id,pk" json:"event_id"`
	SupporterID int64     `bun:"supporter_id,pk" json:"-"`
	Status      string    `bun:"status" json:"status"` // Attended or NoShow
	RecordedAt  time.Time `bun:"recorded_at" json:"recorded_at"`
}

// RecordAttendance records, after an event has started, that the
// supporters came (Attended) or did not (NoShow), replacing what was
// recorded for them. It returns an error wrapping ErrNotFound naming the
// first unknown or erased supporter, with nothing written.
func (db *DB) RecordAttendance(ctx context.Context, event string, supporterIDs []int64, status string) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.RecordAttendance(ctx, event, supporterIDs, status) })
}

// RecordAttendance is DB.RecordAttendance in the transaction.
func (tx *Tx) RecordAttendance(ctx context.Context, event string, supporterIDs []int64, status string) error {
	if status != Attended && status != NoShow {
		return invalid("status", status, "want attended or no-show")
	}
	e, err := tx.lockEvent(ctx, event)
	if err != nil {
		return err
	}
	now := tx.now()
	if now.Before(e.StartsAt) {
		return invalid("event", e.Name, "has not started yet: attendance is recorded afterwards")
	}
	rows := make([]AttendanceRecord, 0, len(supporterIDs))
	for _, id := range supporterIDs {
		if _, err := lockLiveSupporter(ctx, tx.tx, id); err != nil {
			return err
		}
		rows = append(rows, AttendanceRecord{EventID: e.ID, SupporterID: id, Status: status, RecordedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.tx.NewInsert().Model(&rows).On("CONFLICT (event_id, supporter_id) DO UPDATE").
		Set("status = EXCLUDED.status, recorded_at = EXCLUDED.recorded_at").Exec(ctx); err != nil {
		return fmt.Errorf("attendance: %w", err)
	}
	return tx.Audit(ctx, "event attendance", fmt.Sprintf("event %s: %d %s", e.Name, len(rows), status))
}

// SupporterEvents is what a supporter answered and attended, for their
// export and profile; each entry names its event.
type SupporterEvents struct {
	Answers    []SupporterAnswer     `json:"answers"`    // every answer given, oldest first
	Attendance []SupporterAttendance `json:"attendance"` // by event start
}

// SupporterAnswer is one answer a supporter gave, with its event's name
// and title.
type SupporterAnswer struct {
	RSVPChange
	Event      string `bun:"event_name" json:"event"`
	EventTitle string `bun:"event_title" json:"event_title"`
}

// SupporterAttendance is whether a supporter came to an event, with the
// event's name and title.
type SupporterAttendance struct {
	AttendanceRecord
	Event      string `bun:"event_name" json:"event"`
	EventTitle string `bun:"event_title" json:"event_title"`
}

// supporterEvents returns the supporter's answer history and attendance.
func supporterEvents(ctx context.Context, idb bun.IDB, id int64) (*SupporterEvents, error) {
	x := &SupporterEvents{Answers: []SupporterAnswer{}, Attendance: []SupporterAttendance{}}
	if err := idb.NewSelect().TableExpr("event_rsvp_history AS h").ColumnExpr("h.*").
		ColumnExpr("ev.name AS event_name, ev.title AS event_title").
		Join("JOIN events AS ev ON ev.id = h.event_id").
		Where("h.supporter_id = ?", id).Order("h.id").Scan(ctx, &x.Answers); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	if err := idb.NewSelect().TableExpr("event_attendance AS att").ColumnExpr("att.*").
		ColumnExpr("ev.name AS event_name, ev.title AS event_title").
		Join("JOIN events AS ev ON ev.id = att.event_id").
		Where("att.supporter_id = ?", id).Order("ev.starts_at", "att.event_id").Scan(ctx, &x.Attendance); err != nil {
		return nil, fmt.Errorf("attendance: %w", err)
	}
	return x, nil
}
