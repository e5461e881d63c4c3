package newsletter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// DeleteList deletes a list as crm.DB.DeleteList does (see there what is
// kept and when it is refused), and also refuses, with a *ListInUseError
// (wrapping crm.ErrConflict) that names them, while a campaign not yet
// sent uses the list: a draft (scheduled or not) or one whose send has started.
// Campaigns already sent do not hold it back: they are the record of what
// went out, and keep showing the list's name. opts.Check, if set, is
// asked too, after the campaigns. It returns how many subscriptions
// ended.
func (n *Newsletter) DeleteList(ctx context.Context, name string, opts crm.DeleteListOptions) (int, error) {
	theirs := opts.Check
	opts.Check = func(ctx context.Context, tx *crm.Tx, l *crm.List) error {
		if err := campaignsUsing(ctx, tx, l); err != nil {
			return err
		}
		if theirs != nil {
			return theirs(ctx, tx, l)
		}
		return nil
	}
	var ended int
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		var err error
		ended, err = tx.DeleteList(ctx, name, opts)
		return err
	})
	return ended, err
}

// campaignsUsing refuses the deletion of l while a campaign not yet sent
// uses it. It runs once DeleteList holds the list, so a campaign created
// at the same moment either committed before (and is seen here) or finds
// no list (see liveList).
func campaignsUsing(ctx context.Context, tx *crm.Tx, l *crm.List) error {
	var cs []*Campaign
	if err := dbutil.Tx(tx).NewSelect().Model(&cs).Column("name", "status", "scheduled_at").
		Where("list_id = ? AND status <> ?", l.ID, StatusSent).Order("name").Scan(ctx); err != nil {
		return fmt.Errorf("delete list: campaigns: %w", err)
	}
	if len(cs) == 0 {
		return nil
	}
	e := &ListInUseError{List: l.Name}
	for _, c := range cs {
		state := string(c.Status)
		if c.Status == StatusDraft && !c.ScheduledAt.IsZero() {
			state = "scheduled for " + c.ScheduledAt.UTC().Format(time.DateTime) + " UTC"
		}
		e.Campaigns = append(e.Campaigns, c.Name+" ("+state+")")
	}
	return e
}

// ListInUseError refuses the deletion of a list that campaigns not yet
// sent use. It wraps crm.ErrConflict; its message does not end with the
// sentinel's word, as it is shown as it is.
type ListInUseError struct {
	List      string
	Campaigns []string // their names, each with its state: "mars (draft)"
}

// Error names the list and the campaigns, and what to do.
func (e *ListInUseError) Error() string {
	return fmt.Sprintf("list %s is used by %d campaign(s) not yet sent: %s; delete the drafts (or move them to another list) "+
		"and let the sends finish first", e.List, len(e.Campaigns), strings.Join(e.Campaigns, ", "))
}

// Unwrap returns crm.ErrConflict.
func (e *ListInUseError) Unwrap() error { return crm.ErrConflict }

// liveList checks, in the transaction that stores a campaign, that its
// list is still the one checkSpec found: a list deleted in between is
// crm.ErrNotFound. On PostgreSQL it also holds the list until the
// campaign commits, which DeleteList waits for (see crm.Tx.GetList).
func liveList(ctx context.Context, tx *crm.Tx, c *Campaign) error {
	l, err := tx.GetList(ctx, c.List)
	if err == nil && l.ID != c.ListID {
		err = fmt.Errorf("list %q was deleted: %w", c.List, crm.ErrNotFound)
	}
	return err
}
