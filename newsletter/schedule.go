package newsletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// DefaultMaxLate is how late a scheduled campaign may still be sent by
// SendDue: past it, nothing sends it until a person does (Send).
const DefaultMaxLate = 6 * time.Hour

// ScheduleCampaign makes a draft due at at, for SendDue (crm serve and
// crm send --due run it). A time that is not in the future is refused
// (crm.ErrInvalid, field "at"); a campaign whose send has started is
// refused with ErrNotDraft. Scheduling again moves the time.
func (n *Newsletter) ScheduleCampaign(ctx context.Context, name string, at time.Time) (*Campaign, error) {
	if !at.After(n.clock()) {
		return nil, &crm.ValidationError{Field: "at", Value: at.Format(time.RFC3339), Reason: "in the past: give a time to come"}
	}
	return n.setSchedule(ctx, name, at.UTC())
}

// UnscheduleCampaign makes a scheduled draft wait for a person again.
func (n *Newsletter) UnscheduleCampaign(ctx context.Context, name string) (*Campaign, error) {
	return n.setSchedule(ctx, name, time.Time{})
}

func (n *Newsletter) setSchedule(ctx context.Context, name string, at time.Time) (*Campaign, error) {
	var c *Campaign
	err := n.db.RunInTx(ctx, func(crmTx *crm.Tx) error {
		tx := dbutil.Tx(crmTx)
		slug, err := crm.Slug("campaign", name)
		if err != nil {
			return err
		}
		if err := (sendStore{tx}).lockCampaign(ctx, slug); err != nil {
			return err
		}
		if c, err = getCampaign(ctx, tx, slug); err != nil {
			return err
		}
		if c.Status != StatusDraft {
			return notDraft(c)
		}
		c.ScheduledAt = at
		if _, err = tx.NewUpdate().Model(c).Column("scheduled_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if at.IsZero() {
			return crmTx.Audit(ctx, "campaign unschedule", "campaign "+c.Name)
		}
		return crmTx.Audit(ctx, "campaign schedule", "campaign "+c.Name+" at "+at.Format(time.RFC3339))
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Late reports whether a scheduled campaign fell due more than maxLate
// before now without being sent: SendDue leaves it to a person.
func (c *Campaign) Late(now time.Time, maxLate time.Duration) bool {
	return c.Status == StatusDraft && !c.ScheduledAt.IsZero() && now.Sub(c.ScheduledAt) > maxLate
}

// DueReport is what SendDue did with one campaign.
type DueReport struct {
	Campaign string      `json:"campaign"`
	Report   *SendReport `json:"report,omitempty"`
	Err      error       `json:"-"`
	// Late says the campaign fell due more than maxLate ago: it was not
	// sent, and waits for a person.
	Late bool `json:"late,omitempty"`
	// Busy says another process is sending it (on SQLite, where one
	// sender holds a campaign at a time).
	Busy bool `json:"busy,omitempty"`
}

// DueCampaigns returns the scheduled campaigns that are due now and not
// sent (late ones included), soonest first, with their id, name, status
// and scheduled time: what SendDue would look at.
func (n *Newsletter) DueCampaigns(ctx context.Context) ([]*Campaign, error) {
	return n.dueAt(ctx, n.clock())
}

func (n *Newsletter) dueAt(ctx context.Context, now time.Time) ([]*Campaign, error) {
	var due []*Campaign
	if err := n.bun.NewSelect().Model(&due).Column("c.id", "c.name", "c.status", "c.scheduled_at").
		Where("c.scheduled_at IS NOT NULL AND c.scheduled_at <= ? AND c.status <> ?", now, StatusSent).
		Order("c.scheduled_at", "c.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("due campaigns: %w", err)
	}
	return due, nil
}

// SendDue sends, through sender and the exactly-once engine, every
// scheduled campaign that is due (at most maxLate late: DefaultMaxLate
// if 0), and goes on with those whose scheduled send was interrupted. It
// reports each campaign it looked at, sent or late; a campaign whose send
// failed is in the report with its error, and the others still go. Two
// processes running it at once (two crm serve on one PostgreSQL
// database) send each recipient once: they share the batches.
func (n *Newsletter) SendDue(ctx context.Context, sender Sender, maxLate time.Duration, opts SendOptions) ([]DueReport, error) {
	if maxLate <= 0 {
		maxLate = DefaultMaxLate
	}
	if err := n.CheckSender(sender); err != nil {
		return nil, err
	}
	now := n.clock()
	due, err := n.dueAt(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []DueReport
	for _, c := range due {
		r := DueReport{Campaign: c.Name}
		if c.Late(now, maxLate) {
			r.Late = true
			out = append(out, r)
			continue
		}
		opts.dueWithin = maxLate
		r.Report, r.Err = n.Send(ctx, c.Name, sender, opts)
		if errors.Is(r.Err, errNotDue) {
			continue // unscheduled or moved since it was picked
		}
		if errors.Is(r.Err, ErrBusy) {
			r.Busy, r.Err = true, nil
		}
		out = append(out, r)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}
