package crm

import (
	"context"
	"fmt"
	"time"

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

// Valid reports whether k is a known kind.
func (k ListKind) Valid() bool { return k == KindNewsletter || k == KindAlerts || k == KindPress }

// List is a mailing list people subscribe to. With DoubleOptIn, a new
// subscription stays pending until the person confirms it.
type List struct {
	bun.BaseModel `bun:"table:lists,alias:l" json:"-"`

	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	Name        string    `bun:"name" json:"name"`
	Title       string    `bun:"title" json:"title"`
	Kind        ListKind  `bun:"kind" json:"kind"`
	DoubleOptIn bool      `bun:"double_opt_in" json:"double_opt_in"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`

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
	l.Name, l.Title = name, CleanText(l.Title)
	if l.Title == "" {
		l.Title = l.Name
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
