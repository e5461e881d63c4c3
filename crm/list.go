package crm

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
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

	// Subscribed counts the list's subscribed members; filled in by Lists.
	Subscribed int `bun:"subscribed,scanonly" json:"subscribed"`
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
	l.CreatedAt = tx.now()
	if _, err := tx.tx.NewInsert().Model(l).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("list %q already exists: %w", l.Name, ErrConflict)
		}
		return fmt.Errorf("create list: %w", err)
	}
	return nil
}

// GetList returns the list with the given name or an error wrapping
// ErrNotFound.
func (db *DB) GetList(ctx context.Context, name string) (*List, error) {
	return getList(ctx, db.bun, name)
}

// GetList is DB.GetList in the transaction.
func (tx *Tx) GetList(ctx context.Context, name string) (*List, error) {
	return getList(ctx, tx.tx, name)
}

func getList(ctx context.Context, idb bun.IDB, name string) (*List, error) {
	n, err := slug("list", name)
	if err != nil {
		return nil, err
	}
	var ls []*List
	if err := idb.NewSelect().Model(&ls).Where("l.name = ?", n).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get list: %w", err)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("list %q: %w", n, ErrNotFound)
	}
	return ls[0], nil
}

// Lists returns every list, ordered by name, with its subscribed count.
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
		Order("l.name").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list lists: %w", err)
	}
	return out, nil
}

// GetListByID returns the list with the given id or an error wrapping
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
	return ls[0], nil
}
