package crm

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// ListKind says what a list is for.
type ListKind string

// List kinds.
const (
	KindNewsletter ListKind = "newsletter" // the regular newsletter
	KindAlerts     ListKind = "alerts"     // urgent mobilisation alerts
	KindPress      ListKind = "press"      // press releases
)

// Bounds of a list's texts, in characters.
const (
	MaxListTitleLength = 200
	MaxListTextLength  = 2000
)

// TitleFor returns the list's title in the language (fr or en).
func (l *List) TitleFor(lang string) string {
	if lang == "en" && l.TitleEN != "" {
		return l.TitleEN
	}
	return l.Title
}

// DescriptionFor returns the list's description in the language, "" if
// it has none.
func (l *List) DescriptionFor(lang string) string {
	if lang == "en" && l.DescriptionEN != "" {
		return l.DescriptionEN
	}
	return l.Description
}

// ConsentTextFor returns the list's own consent text in the language, ""
// if it has none in that language: a consent text is proof of what the
// person read, so a French text never stands in for an English one.
func (l *List) ConsentTextFor(lang string) string {
	if lang == "en" {
		return l.ConsentTextEN
	}
	return l.ConsentText
}

// Valid reports whether k is a known kind.
func (k ListKind) Valid() bool { return k == KindNewsletter || k == KindAlerts || k == KindPress }

// List is a mailing list people subscribe to. With DoubleOptIn, a new
// subscription stays pending until the person confirms it.
type List struct {
	bun.BaseModel `bun:"table:lists,alias:l" json:"-"`

	ID          int64    `bun:"id,pk,autoincrement" json:"id"`
	Name        string   `bun:"name" json:"name"`
	Title       string   `bun:"title" json:"title"`       // French, and the default
	TitleEN     string   `bun:"title_en" json:"title_en"` // English; "" shows Title
	Kind        ListKind `bun:"kind" json:"kind"`
	DoubleOptIn bool     `bun:"double_opt_in" json:"double_opt_in"`
	// Public lists are offered on the signup form and on everyone's
	// preferences page; a private one (press, officials, internal) on no
	// public page, except the preferences page of someone subscribed to
	// it, so they can leave. The zero value is private: a list is never
	// offered to the public by mistake.
	Public bool `bun:"public" json:"public"`
	// Description and DescriptionEN say on the signup form what the list
	// sends and how often.
	Description   string `bun:"description" json:"description,omitempty"`
	DescriptionEN string `bun:"description_en" json:"description_en,omitempty"`
	// ConsentText and ConsentTextEN are shown beside the list's checkbox
	// and recorded as the proof of a signup's consent; "" uses the
	// default text of package newsletter.
	ConsentText   string    `bun:"consent_text" json:"consent_text,omitempty"`
	ConsentTextEN string    `bun:"consent_text_en" json:"consent_text_en,omitempty"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	// DeletedAt is when DeleteList deleted it; zero for a live list.
	// Only GetListByID returns a deleted list.
	DeletedAt time.Time `bun:"deleted_at,nullzero" json:"deleted_at,omitzero"`

	// Subscribed counts the list's subscribed members, Pending those who
	// have yet to confirm; filled in by Lists.
	Subscribed int `bun:"subscribed,scanonly" json:"subscribed"`
	Pending    int `bun:"pending,scanonly" json:"pending"`
}

// Normalize turns the name into a slug, defaults Title to the name and
// Kind to newsletter, and returns a *ValidationError for a bad field.
func (l *List) Normalize() error {
	name, err := slug("name", l.Name)
	if err != nil {
		return err
	}
	l.Name, l.Title, l.TitleEN = name, CleanText(l.Title), CleanText(l.TitleEN)
	if l.Title == "" {
		l.Title = l.Name
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"title", &l.Title, MaxListTitleLength}, {"title-en", &l.TitleEN, MaxListTitleLength},
		{"description", &l.Description, MaxListTextLength}, {"description-en", &l.DescriptionEN, MaxListTextLength},
		{"consent-text", &l.ConsentText, MaxListTextLength}, {"consent-text-en", &l.ConsentTextEN, MaxListTextLength},
	} {
		*f.v = strings.TrimSpace(*f.v)
		if n := utf8.RuneCountInString(*f.v); n > f.max {
			return invalid(f.name, "", fmt.Sprintf("%d characters, at most %d", n, f.max))
		}
	}
	if l.Kind == "" {
		l.Kind = KindNewsletter
	}
	if !l.Kind.Valid() {
		return invalid("kind", string(l.Kind), "want newsletter, alerts or press")
	}
	return nil
}

// CreateList adds a list and sets l.ID. It returns an error wrapping
// ErrConflict if the name is taken, or a *ValidationError.
func (db *DB) CreateList(ctx context.Context, l *List) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.CreateList(ctx, l) })
}

// CreateList is DB.CreateList in the transaction.
func (tx *Tx) CreateList(ctx context.Context, l *List) error {
	if err := l.Normalize(); err != nil {
		return err
	}
	l.CreatedAt, l.DeletedAt = tx.now(), time.Time{}
	if _, err := tx.tx.NewInsert().Model(l).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("list %q already exists: %w", l.Name, ErrConflict)
		}
		return fmt.Errorf("create list: %w", err)
	}
	return tx.audit(ctx, "list create", 0, "list "+l.Name)
}

// GetList returns the list with the given name or an error wrapping
// ErrNotFound; a deleted list is not found.
func (db *DB) GetList(ctx context.Context, name string) (*List, error) {
	return getList(ctx, db.bun, name)
}

// GetList is DB.GetList in the transaction. On PostgreSQL the list stays
// locked against deletion until the transaction ends, so what fn writes
// for it commits before a DeleteList sees the list.
func (tx *Tx) GetList(ctx context.Context, name string) (*List, error) {
	return getList(ctx, tx.tx, name)
}

func getList(ctx context.Context, idb bun.IDB, name string) (*List, error) {
	n, err := slug("list", name)
	if err != nil {
		return nil, err
	}
	var ls []*List
	q := idb.NewSelect().Model(&ls).Where("l.name = ? AND l.deleted_at IS NULL", n).Limit(1)
	if _, inTx := idb.(bun.Tx); inTx && idb.Dialect().Name() == dialect.PG {
		// Held until the transaction ends, so that what it writes for
		// the list (a subscription, a campaign) commits before a
		// DeleteList, which waits for it and then sees it, or after,
		// when this finds no list. SQLite runs one writer at a time.
		q.For("SHARE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("get list: %w", err)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("list %q: %w", n, ErrNotFound)
	}
	return ls[0], nil
}

// Lists returns every list but the deleted ones, ordered by name, with
// its subscribed and pending counts.
func (db *DB) Lists(ctx context.Context) ([]*List, error) {
	return lists(ctx, db.bun)
}

// Lists is DB.Lists in the transaction.
func (tx *Tx) Lists(ctx context.Context) ([]*List, error) {
	return lists(ctx, tx.tx)
}

func lists(ctx context.Context, idb bun.IDB) ([]*List, error) {
	var out []*List
	err := idb.NewSelect().Model(&out).ColumnExpr("l.*").
		ColumnExpr("(SELECT COUNT(*) FROM subscriptions sub WHERE sub.list_id = l.id AND sub.status = ?) AS subscribed", StatusSubscribed).
		ColumnExpr("(SELECT COUNT(*) FROM subscriptions sub WHERE sub.list_id = l.id AND sub.status = ?) AS pending", StatusPending).
		Where("l.deleted_at IS NULL").Order("l.name").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list lists: %w", err)
	}
	return out, nil
}

// GetListByID returns the list with the given id, even a deleted one (its
// DeletedAt is set, its Name the one it had), or an error wrapping
// ErrNotFound.
func (db *DB) GetListByID(ctx context.Context, id int64) (*List, error) {
	return listByID(ctx, db.bun, id)
}

// GetListByID is DB.GetListByID in the transaction.
func (tx *Tx) GetListByID(ctx context.Context, id int64) (*List, error) {
	return listByID(ctx, tx.tx, id)
}

func listByID(ctx context.Context, idb bun.IDB, id int64) (*List, error) {
	var ls []*List
	if err := idb.NewSelect().Model(&ls).Where("l.id = ?", id).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get list: %w", err)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("list %d: %w", id, ErrNotFound)
	}
	ls[0].Name = ListName(ls[0].Name)
	return ls[0], nil
}

// ListEdit changes a list's texts and settings: each field that is not
// nil replaces the list's, nil leaves it as it is. A list's name and kind
// do not change.
type ListEdit struct {
	Title         *string // "" puts back the default, the name
	TitleEN       *string
	Description   *string
	DescriptionEN *string
	Public        *bool
	DoubleOptIn   *bool
	ConsentText   *string
	ConsentTextEN *string
}

// EditList applies e to the named list, checked as CreateList checks a
// new one, and returns the list as it now is. It returns an error
// wrapping ErrNotFound, or a *ValidationError naming the field at fault
// with nothing changed. The audit entry names the fields that changed
// (not their texts); an edit that changes nothing writes nothing.
//
// A change of DoubleOptIn applies to signups from then on: pending
// subscriptions stay pending, subscribed people stay subscribed.
func (db *DB) EditList(ctx context.Context, name string, e ListEdit) (*List, error) {
	return runTx(ctx, db, func(tx *Tx) (*List, error) { return tx.EditList(ctx, name, e) })
}

// EditList is DB.EditList in the transaction.
func (tx *Tx) EditList(ctx context.Context, name string, e ListEdit) (*List, error) {
	l, err := getList(ctx, tx.tx, name)
	if err != nil {
		return nil, err
	}
	before := *l
	for _, f := range []struct {
		to   *string
		from *string
	}{
		{&l.Title, e.Title}, {&l.TitleEN, e.TitleEN}, {&l.Description, e.Description},
		{&l.DescriptionEN, e.DescriptionEN}, {&l.ConsentText, e.ConsentText}, {&l.ConsentTextEN, e.ConsentTextEN},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if e.Public != nil {
		l.Public = *e.Public
	}
	if e.DoubleOptIn != nil {
		l.DoubleOptIn = *e.DoubleOptIn
	}
	if err := l.Normalize(); err != nil {
		return nil, err
	}
	var changed []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"title", l.Title != before.Title}, {"title-en", l.TitleEN != before.TitleEN},
		{"description", l.Description != before.Description}, {"description-en", l.DescriptionEN != before.DescriptionEN},
		{map[bool]string{true: "public", false: "private"}[l.Public], l.Public != before.Public},
		{map[bool]string{true: "double opt-in", false: "single opt-in"}[l.DoubleOptIn], l.DoubleOptIn != before.DoubleOptIn},
		{"consent-text", l.ConsentText != before.ConsentText}, {"consent-text-en", l.ConsentTextEN != before.ConsentTextEN},
	} {
		if f.changed {
			changed = append(changed, f.name)
		}
	}
	if len(changed) == 0 {
		return l, nil
	}
	if _, err := tx.tx.NewUpdate().Model(l).
		Column("title", "title_en", "description", "description_en", "public", "double_opt_in",
			"consent_text", "consent_text_en").
		WherePK().Exec(ctx); err != nil {
		return nil, fmt.Errorf("edit list %s: %w", l.Name, err)
	}
	return l, tx.audit(ctx, "list edit", 0, "list "+l.Name+": "+strings.Join(changed, ", "))
}

// Deleting a list.
//
// A list is never removed from the database: the consent history, which
// is append-only, names it in the events of everyone who ever joined or
// left it, and a sent campaign is the record of what went to it. So
// DeleteList is a soft delete. It sets the list's deleted_at, ends every
// subscription still pending or subscribed (each one unsubscribed, with
// an "unsubscribe" event of source SourceListDeleted in the person's
// consent history), and frees the name for a new list by renaming the row
// NAME~ID: '~' is never in a list's name, and the id keeps two deleted
// lists of one name apart. From then on the list is not found by name:
// GetList, Lists, segments (list:NAME), supporter filters, imports,
// signups and new campaigns do not see it. What was recorded of it still
// names it by the name it had: a supporter's subscriptions and consent
// history (and so their export, with list_deleted set), GetListByID and
// the campaigns sent to it. ListName turns the stored NAME~ID back into
// NAME for packages that read the lists table themselves.

// SourceListDeleted is the source of the consent events that end the
// subscriptions of a deleted list.
const SourceListDeleted = "list-deleted"

// ErrListHasSubscribers means a list still has people subscribed or
// pending, and the deletion was not told to end their subscriptions
// (DeleteListOptions.EndSubscriptions). It wraps ErrConflict.
var ErrListHasSubscribers = fmt.Errorf("the list has subscribers: %w", ErrConflict)

// DeleteListOptions are the choices of DeleteList.
type DeleteListOptions struct {
	// EndSubscriptions allows deleting a list that people are still
	// subscribed or pending to: their subscriptions end. Without it such
	// a list is refused with ErrListHasSubscribers.
	EndSubscriptions bool
	// Check, when set, is asked whether something of the caller's still
	// needs the list (package newsletter: a campaign not yet sent). It
	// runs in the deletion's transaction, once the list is found and
	// locked against new writers and before anything changes; an error
	// it returns refuses the deletion and is returned as it is.
	Check func(ctx context.Context, tx *Tx, l *List) error
}

// ListName returns the name of a list from the name column of its row:
// the name itself for a live list, and for a deleted one (stored as
// NAME~ID, see DeleteList) the name it had. Packages that join the lists
// table in their own queries show names through it.
func ListName(column string) string {
	name, _, _ := strings.Cut(column, "~")
	return name
}

// DeleteList deletes the named list (see above for what is kept) and
// returns how many subscriptions it ended. It returns an error wrapping
// ErrNotFound for no such list, and one wrapping ErrConflict, with
// nothing changed, when people are subscribed or pending and opts does not
// say to end their subscriptions (ErrListHasSubscribers), or while an
// import into the list has not finished: an import resolves its list once
// when it starts and then writes in many transactions, so the list must
// live until the import is done, or undone by RecoverImports.
//
// Package newsletter's DeleteList also refuses a list that a campaign
// not yet sent uses (through opts.Check); a program that uses newsletter
// calls that one.
func (db *DB) DeleteList(ctx context.Context, name string, opts DeleteListOptions) (int, error) {
	return runTx(ctx, db, func(tx *Tx) (int, error) { return tx.DeleteList(ctx, name, opts) })
}

// DeleteList is DB.DeleteList in the transaction.
func (tx *Tx) DeleteList(ctx context.Context, name string, opts DeleteListOptions) (int, error) {
	n, err := slug("list", name)
	if err != nil {
		return 0, err
	}
	var ls []*List
	q := tx.tx.NewSelect().Model(&ls).Where("l.name = ? AND l.deleted_at IS NULL", n)
	if tx.tx.Dialect().Name() == dialect.PG {
		q.For("UPDATE") // waits for the writers holding it (getList), and makes new ones wait
	}
	if err := q.Scan(ctx); err != nil {
		return 0, fmt.Errorf("delete list: %w", err)
	}
	if len(ls) == 0 {
		return 0, fmt.Errorf("list %q: %w", n, ErrNotFound)
	}
	l := ls[0]
	var runs []importRun
	if err := tx.tx.NewSelect().Model(&runs).Where("imp.list_id = ?", l.ID).
		Where("imp.status IN (?)", bun.List([]string{importRunning, importCommitted})).Order("imp.id").Scan(ctx); err != nil {
		return 0, fmt.Errorf("delete list: %w", err)
	}
	if len(runs) > 0 {
		r := runs[0]
		return 0, fmt.Errorf("list %s: import %d of %s into it has not finished (%s since %s): "+
			"let it finish, or if its process is gone, recover it (RecoverImports) before deleting the list: %w",
			l.Name, r.ID, r.File, r.Status, r.StartedAt.Format(time.RFC3339), ErrConflict)
	}
	if opts.Check != nil {
		if err := opts.Check(ctx, tx, l); err != nil {
			return 0, err
		}
	}
	active := []SubscriptionStatus{StatusSubscribed, StatusPending}
	members, err := tx.tx.NewSelect().Table("subscriptions").Where("list_id = ? AND status IN (?)", l.ID, bun.List(active)).
		Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete list: %w", err)
	}
	if members > 0 && !opts.EndSubscriptions {
		return 0, fmt.Errorf("list %s has %d person(s) subscribed or pending, whose subscriptions deleting it would end: %w",
			l.Name, members, ErrListHasSubscribers)
	}
	now := tx.now()
	if members > 0 {
		// One event per ended subscription, in one statement: a list may
		// have thousands of members.
		if _, err := tx.tx.NewRaw("INSERT INTO consent_events (supporter_id, list_id, action, source, created_at) "+
			"SELECT supporter_id, list_id, ?, ?, ? FROM subscriptions WHERE list_id = ? AND status IN (?) ORDER BY supporter_id",
			ActionUnsubscribe, SourceListDeleted, now, l.ID, bun.List(active)).Exec(ctx); err != nil {
			return 0, fmt.Errorf("delete list: record consent: %w", err)
		}
		if _, err := tx.tx.NewUpdate().Table("subscriptions").Set("status = ?", StatusUnsubscribed).Set("updated_at = ?", now).
			Where("list_id = ? AND status IN (?)", l.ID, bun.List(active)).Exec(ctx); err != nil {
			return 0, fmt.Errorf("delete list: %w", err)
		}
	}
	if _, err := tx.tx.NewUpdate().Table("lists").Set("name = ?", fmt.Sprintf("%s~%d", l.Name, l.ID)).
		Set("deleted_at = ?", now).Where("id = ?", l.ID).Exec(ctx); err != nil {
		return 0, fmt.Errorf("delete list: %w", err)
	}
	return int(members), tx.audit(ctx, "list delete", 0, fmt.Sprintf("list %s, %d subscription(s) ended", l.Name, members))
}
