package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// SubscriptionStatus is where a supporter stands with one list.
type SubscriptionStatus string

// Subscription statuses.
const (
	StatusPending      SubscriptionStatus = "pending"      // asked, not yet confirmed (double opt-in)
	StatusSubscribed   SubscriptionStatus = "subscribed"   // may be sent the list's mail
	StatusUnsubscribed SubscriptionStatus = "unsubscribed" // said stop; never resubscribed without new consent
)

// Consent actions recorded in ConsentEvent.Action.
const (
	ActionSubscribe   = "subscribe"     // subscribed, consent given
	ActionRequest     = "request"       // asked to subscribe to a double opt-in list
	ActionConfirm     = "confirm"       // confirmed a pending subscription
	ActionUnsubscribe = "unsubscribe"   // left the list
	ActionEmailStatus = "email_status:" // followed by the new EmailStatus
)

// Sources of consent events, for ConsentEvent.Source. Imports use
// "import:" followed by the file name.
const (
	SourceCLI     = "cli"
	SourceWeb     = "web"
	SourceWebhook = "webhook"
	SourceAPI     = "api"
)

// ImportSource returns the consent source of an import of the named file.
func ImportSource(file string) string { return "import:" + file }

// Subscription is a supporter's standing with one list.
type Subscription struct {
	bun.BaseModel `bun:"table:subscriptions,alias:sub" json:"-"`

	SupporterID int64              `bun:"supporter_id,pk" json:"-"`
	ListID      int64              `bun:"list_id,pk" json:"-"`
	Status      SubscriptionStatus `bun:"status" json:"status"`
	CreatedAt   time.Time          `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time          `bun:"updated_at" json:"updated_at"`

	// List is the list's name, filled in by Subscriptions; ListDeleted
	// says the list was deleted since (see DeleteList).
	List        string `bun:"list,scanonly" json:"list"`
	ListDeleted bool   `bun:"list_deleted,scanonly" json:"list_deleted,omitempty"`
}

// ConsentEvent is one entry of the append-only consent history: the proof
// of what a person agreed to, when and how. The database refuses to update
// or delete it.
type ConsentEvent struct {
	bun.BaseModel `bun:"table:consent_events,alias:ce" json:"-"`

	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	SupporterID int64     `bun:"supporter_id" json:"-"`
	ListID      int64     `bun:"list_id,nullzero" json:"-"`
	Action      string    `bun:"action" json:"action"`
	Source      string    `bun:"source" json:"source"`
	ConsentText string    `bun:"consent_text" json:"consent_text,omitempty"`
	IP          string    `bun:"ip" json:"ip,omitempty"`
	UserAgent   string    `bun:"user_agent" json:"user_agent,omitempty"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`

	// List is the list's name, filled in by ConsentHistory; ListDeleted
	// says the list was deleted since (see DeleteList).
	List        string `bun:"list,scanonly" json:"list,omitempty"`
	ListDeleted bool   `bun:"list_deleted,scanonly" json:"list_deleted,omitempty"`
}

// Consent describes how a change of subscription came about. Source is
// required; the rest is recorded as given.
type Consent struct {
	Source    string // SourceCLI, SourceWeb, ImportSource(file)...
	Text      string // the consent text the person was shown
	IP        string // recorded only if the caller chooses to
	UserAgent string
}

func (c Consent) normalize() (Consent, error) {
	c.Source, c.Text = CleanText(c.Source), cleanMultiline(c.Text)
	c.IP, c.UserAgent = CleanText(c.IP), CleanText(c.UserAgent)
	// The client chooses its user agent (up to the server's header limit):
	// what the append-only history keeps of it is bounded.
	c.IP = truncateUTF8(c.IP, 64) // an IPv6 address with a zone fits
	c.UserAgent = truncateUTF8(c.UserAgent, MaxUserAgentLength)
	if c.Source == "" {
		return c, invalid("source", "", "missing consent source")
	}
	return c, nil
}

// MaxUserAgentLength is the most of a user agent a consent event keeps,
// in bytes; a longer one is cut.
const MaxUserAgentLength = 256

// truncateUTF8 cuts s to at most n bytes at a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SubscribeRequest asks for a supporter to join a list.
type SubscribeRequest struct {
	SupporterID int64
	List        string
	Consent     Consent
	// Confirmed says the person's consent is already proven (a signed
	// paper form, a confirmed web signup), so a double opt-in list
	// subscribes them directly instead of leaving them pending.
	Confirmed bool
	// RequireConfirmation leaves the subscription pending even on a
	// single opt-in list, as for someone who left the list before.
	RequireConfirmation bool
}

// SubscribeResult says what Subscribe did.
type SubscribeResult struct {
	Status  SubscriptionStatus
	Changed bool // false when the supporter already had that status
}

// Subscribe adds a supporter to a list: subscribed, or pending on a double
// opt-in list unless the request is Confirmed. A pending subscription is
// not downgraded and an existing one is left alone. The consent event is
// written in the same transaction as the change. It returns an error
// wrapping ErrNotFound (supporter or list) or ErrInvalid.
func (db *DB) Subscribe(ctx context.Context, r SubscribeRequest) (SubscribeResult, error) {
	return runTx(ctx, db, func(tx *Tx) (SubscribeResult, error) { return tx.Subscribe(ctx, r) })
}

// Subscribe is DB.Subscribe in the transaction.
func (tx *Tx) Subscribe(ctx context.Context, r SubscribeRequest) (SubscribeResult, error) {
	c, err := r.Consent.normalize()
	if err != nil {
		return SubscribeResult{}, err
	}
	if _, err := lockLiveSupporter(ctx, tx.tx, r.SupporterID); err != nil {
		return SubscribeResult{}, err
	}
	l, err := getList(ctx, tx.tx, r.List)
	if err != nil {
		return SubscribeResult{}, err
	}
	want := StatusSubscribed
	if l.DoubleOptIn && !r.Confirmed || r.RequireConfirmation {
		want = StatusPending
	}
	res, err := subscribe(ctx, tx.tx, r.SupporterID, l.ID, want, c, tx.now())
	if err != nil || !res.Changed {
		return res, err
	}
	return res, tx.audit(ctx, "subscription "+string(res.Status), r.SupporterID, "list "+l.Name)
}

// subscribe moves a supporter's subscription towards want and records the
// consent event. From pending, only subscribed is a change; from
// subscribed, nothing is.
func subscribe(ctx context.Context, tx bun.IDB, supporterID, listID int64, want SubscriptionStatus,
	c Consent, now time.Time) (SubscribeResult, error) {
	cur, err := subscriptionStatus(ctx, tx, supporterID, listID)
	if err != nil {
		return SubscribeResult{}, err
	}
	if cur == want || cur == StatusSubscribed || (cur == StatusPending && want == StatusPending) {
		return SubscribeResult{Status: cur}, nil
	}
	action := ActionSubscribe
	switch {
	case want == StatusPending:
		action = ActionRequest
	case cur == StatusPending:
		action = ActionConfirm
	}
	if err := setSubscription(ctx, tx, supporterID, listID, want, now); err != nil {
		return SubscribeResult{}, err
	}
	if err := addConsentEvent(ctx, tx, supporterID, listID, action, c, now); err != nil {
		return SubscribeResult{}, err
	}
	return SubscribeResult{Status: want, Changed: true}, nil
}

// Confirm turns a pending subscription into a subscribed one, as when the
// person clicks the link in the confirmation email. A confirmation is
// fresh consent: in the same transaction it lifts an erasure of the
// supporter's address (see ClearErased), so an erasure made a moment
// before or after is never undone by a confirmation of the other side of
// it. It returns an error wrapping ErrNotFound when there is no pending or
// subscribed subscription (someone who unsubscribed in between stays
// unsubscribed), and ErrErased when the supporter was erased.
func (db *DB) Confirm(ctx context.Context, supporterID int64, list string, c Consent) (SubscribeResult, error) {
	return runTx(ctx, db, func(tx *Tx) (SubscribeResult, error) { return tx.Confirm(ctx, supporterID, list, c) })
}

// Confirm is DB.Confirm in the transaction.
func (tx *Tx) Confirm(ctx context.Context, supporterID int64, list string, c Consent) (SubscribeResult, error) {
	c, err := c.normalize()
	if err != nil {
		return SubscribeResult{}, err
	}
	email, err := lockLiveSupporter(ctx, tx.tx, supporterID)
	if err != nil {
		return SubscribeResult{}, err
	}
	l, err := getList(ctx, tx.tx, list)
	if err != nil {
		return SubscribeResult{}, err
	}
	cur, err := subscriptionStatus(ctx, tx.tx, supporterID, l.ID)
	if err != nil {
		return SubscribeResult{}, err
	}
	if cur != StatusPending && cur != StatusSubscribed {
		return SubscribeResult{}, fmt.Errorf("no pending subscription: %w", ErrNotFound)
	}
	if err := tx.clearErased(ctx, email); err != nil {
		return SubscribeResult{}, err
	}
	res, err := subscribe(ctx, tx.tx, supporterID, l.ID, StatusSubscribed, c, tx.now())
	if err != nil || !res.Changed {
		return res, err
	}
	return res, tx.audit(ctx, "subscription confirmed", supporterID, "list "+l.Name)
}

// Unsubscribe removes a supporter from the named list, or from every list
// when list is "". It returns how many subscriptions changed, and an error
// wrapping ErrNotFound if the supporter or the list does not exist.
func (db *DB) Unsubscribe(ctx context.Context, supporterID int64, list string, c Consent) (int, error) {
	return runTx(ctx, db, func(tx *Tx) (int, error) { return tx.Unsubscribe(ctx, supporterID, list, c) })
}

// Unsubscribe is DB.Unsubscribe in the transaction.
func (tx *Tx) Unsubscribe(ctx context.Context, supporterID int64, list string, c Consent) (int, error) {
	c, err := c.normalize()
	if err != nil {
		return 0, err
	}
	if _, err := lockLiveSupporter(ctx, tx.tx, supporterID); err != nil {
		return 0, err
	}
	var listIDs []int64
	if list != "" {
		l, err := getList(ctx, tx.tx, list)
		if err != nil {
			return 0, err
		}
		listIDs = []int64{l.ID}
	} else if err := tx.tx.NewSelect().Table("subscriptions").Column("list_id").
		Where("supporter_id = ? AND status <> ?", supporterID, StatusUnsubscribed).
		Order("list_id").Scan(ctx, &listIDs); err != nil {
		return 0, fmt.Errorf("unsubscribe: %w", err)
	}
	n, err := unsubscribe(ctx, tx.tx, supporterID, listIDs, c, tx.now())
	if err != nil || n == 0 {
		return n, err
	}
	return n, tx.audit(ctx, "unsubscribe", supporterID, fmt.Sprintf("%d list(s)", n))
}

func unsubscribe(ctx context.Context, tx bun.IDB, supporterID int64, listIDs []int64, c Consent, now time.Time) (int, error) {
	n := 0
	for _, id := range listIDs {
		cur, err := subscriptionStatus(ctx, tx, supporterID, id)
		if err != nil {
			return 0, err
		}
		if cur == "" || cur == StatusUnsubscribed {
			continue
		}
		if err := setSubscription(ctx, tx, supporterID, id, StatusUnsubscribed, now); err != nil {
			return 0, err
		}
		if err := addConsentEvent(ctx, tx, supporterID, id, ActionUnsubscribe, c, now); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// SetEmailStatus records that mail bounces or was marked as spam (or is
// fine again). Any status but EmailOK suppresses all sending. The change
// is recorded in the consent history. It returns whether the status
// changed, and an error wrapping ErrNotFound or ErrInvalid.
func (db *DB) SetEmailStatus(ctx context.Context, supporterID int64, st EmailStatus, c Consent) (bool, error) {
	return runTx(ctx, db, func(tx *Tx) (bool, error) { return tx.SetEmailStatus(ctx, supporterID, st, c) })
}

// SetEmailStatus is DB.SetEmailStatus in the transaction.
func (tx *Tx) SetEmailStatus(ctx context.Context, supporterID int64, st EmailStatus, c Consent) (bool, error) {
	if !st.Valid() {
		return false, invalid("email_status", string(st), "want ok, bounced or complained")
	}
	c, err := c.normalize()
	if err != nil {
		return false, err
	}
	if _, err := lockLiveSupporter(ctx, tx.tx, supporterID); err != nil {
		return false, err
	}
	now := tx.now()
	res, err := tx.tx.NewUpdate().Table("supporters").
		Set("email_status = ?", st).Set("updated_at = ?", now).
		Where("id = ? AND email_status <> ?", supporterID, st).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("set email status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, requireSupporter(ctx, tx.tx, supporterID)
	}
	if err := addConsentEvent(ctx, tx.tx, supporterID, 0, ActionEmailStatus+string(st), c, now); err != nil {
		return false, err
	}
	return true, tx.audit(ctx, "email status "+string(st), supporterID, "")
}

// Subscriptions returns a supporter's subscriptions, ordered by list name.
func (db *DB) Subscriptions(ctx context.Context, supporterID int64) ([]Subscription, error) {
	return subscriptions(ctx, db.bun, supporterID)
}

// Subscriptions is DB.Subscriptions in the transaction.
func (tx *Tx) Subscriptions(ctx context.Context, supporterID int64) ([]Subscription, error) {
	return subscriptions(ctx, tx.tx, supporterID)
}

func subscriptions(ctx context.Context, idb bun.IDB, supporterID int64) ([]Subscription, error) {
	var out []Subscription
	err := idb.NewSelect().Model(&out).ColumnExpr("sub.*").
		ColumnExpr("l.name AS list, l.deleted_at IS NOT NULL AS list_deleted").
		Join("JOIN lists AS l ON l.id = sub.list_id").
		Where("sub.supporter_id = ?", supporterID).Order("l.name").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	for i := range out {
		out[i].List = ListName(out[i].List)
	}
	return out, nil
}

// ConsentHistory returns a supporter's consent events, oldest first: in
// the order they happened, then the order they were written (an import's
// events are written when it commits, after events of people who acted
// while it ran).
func (db *DB) ConsentHistory(ctx context.Context, supporterID int64) ([]ConsentEvent, error) {
	var out []ConsentEvent
	err := db.bun.NewSelect().Model(&out).ColumnExpr("ce.*").
		ColumnExpr("l.name AS list, l.deleted_at IS NOT NULL AS list_deleted").
		Join("LEFT JOIN lists AS l ON l.id = ce.list_id").
		Where("ce.supporter_id = ?", supporterID).Order("ce.created_at", "ce.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	for i := range out {
		out[i].List = ListName(out[i].List)
	}
	return out, nil
}

// lockLiveSupporter returns the address of the supporter with the given
// id, and an error wrapping ErrNotFound for an unknown one or ErrErased
// for one erased by Forget: nothing may be written for an erased person
// (a link of theirs clicked late, a form posted while Forget ran). It is
// called first in each write transaction about one supporter. On
// PostgreSQL it locks the row until the transaction ends, so a Forget
// running at the same time either commits before this reads (and the
// write is refused) or waits for the write and then erases it; SQLite's
// immediate transactions already run one at a time.
func lockLiveSupporter(ctx context.Context, tx bun.IDB, id int64) (string, error) {
	var row struct {
		Email    string    `bun:"email"`
		ErasedAt time.Time `bun:"erased_at,nullzero"`
	}
	q := tx.NewSelect().Table("supporters").Column("email", "erased_at").Where("id = ?", id)
	if tx.Dialect().Name() == dialect.PG {
		q.For("UPDATE")
	}
	if err := q.Scan(ctx, &row); errors.Is(err, sql.ErrNoRows) {
		return "", notFound("supporter")
	} else if err != nil {
		return "", fmt.Errorf("supporter %d: %w", id, err)
	}
	if !row.ErasedAt.IsZero() {
		return "", fmt.Errorf("supporter %d: %w", id, ErrErased)
	}
	return row.Email, nil
}

func requireSupporter(ctx context.Context, tx bun.IDB, id int64) error {
	n, err := tx.NewSelect().Table("supporters").Where("id = ?", id).Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("supporter")
	}
	return nil
}

// subscriptionStatus returns the current status, or "" when the supporter
// never joined the list. It fails with ErrNotFound for an unknown
// supporter.
func subscriptionStatus(ctx context.Context, tx bun.IDB, supporterID, listID int64) (SubscriptionStatus, error) {
	var st []SubscriptionStatus
	if err := tx.NewSelect().Table("subscriptions").Column("status").
		Where("supporter_id = ? AND list_id = ?", supporterID, listID).Scan(ctx, &st); err != nil {
		return "", fmt.Errorf("subscription status: %w", err)
	}
	if len(st) > 0 {
		return st[0], nil
	}
	return "", requireSupporter(ctx, tx, supporterID)
}

func setSubscription(ctx context.Context, tx bun.IDB, supporterID, listID int64, st SubscriptionStatus, now time.Time) error {
	sub := &Subscription{SupporterID: supporterID, ListID: listID, Status: st, CreatedAt: now, UpdatedAt: now}
	_, err := tx.NewInsert().Model(sub).
		On("CONFLICT (supporter_id, list_id) DO UPDATE").
		Set("status = EXCLUDED.status").Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set subscription: %w", err)
	}
	return nil
}

func addConsentEvent(ctx context.Context, tx bun.IDB, supporterID, listID int64, action string, c Consent, now time.Time) error {
	ev := &ConsentEvent{
		SupporterID: supporterID, ListID: listID, Action: action, Source: c.Source,
		ConsentText: c.Text, IP: c.IP, UserAgent: c.UserAgent, CreatedAt: now,
	}
	if _, err := tx.NewInsert().Model(ev).Exec(ctx); err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}
