package newsletter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// A scheduled campaign is sent once it falls due, exactly once even with
// two schedulers racing (two crm serve on one database); one due too
// long ago waits for a person; a time in the past is refused.
func TestScheduledCampaigns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 250, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	e.campaign(t, n, "oubliee", "lettre", "")
	e.campaign(t, n, "main", "lettre", "")

	now := e.clock.Now()
	if _, err := n.ScheduleCampaign(ctx, "mars", now.Add(-time.Minute)); !errors.Is(err, crm.ErrInvalid) {
		t.Fatalf("a time in the past: %v", err)
	}
	if _, err := n.ScheduleCampaign(ctx, "mars", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ScheduleCampaign(ctx, "oubliee", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ScheduleCampaign(ctx, "main", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.UnscheduleCampaign(ctx, "main"); err != nil {
		t.Fatal(err)
	}

	// Nothing is due yet.
	reps, err := n.SendDue(ctx, e.sender(t), 0, newsletter.SendOptions{})
	if err != nil || len(reps) != 0 || len(e.srv.Emails()) != 0 {
		t.Fatalf("before the time: %+v %v", reps, err)
	}
	// Seven hours later: mars is due since five hours, oubliee since more
	// than the six hours a campaign may be late.
	e.clock.Advance(7 * time.Hour)
	var wg sync.WaitGroup
	results := make([][]newsletter.DueReport, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n2 := e.newsletter(t)
			results[i], errs[i] = n2.SendDue(ctx, e.sender(t), 0, newsletter.SendOptions{})
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("scheduler %d: %v", i, errs[i])
		}
		if len(results[i]) != 2 || results[i][0].Campaign != "oubliee" || !results[i][0].Late ||
			results[i][1].Campaign != "mars" || results[i][1].Late || (results[i][1].Report == nil) != results[i][1].Busy {
			t.Fatalf("scheduler %d: %+v", i, results[i])
		}
	}
	count := map[string]int{}
	for _, m := range e.srv.Emails() {
		count[m.To[0]]++
	}
	if len(count) != 250 {
		t.Errorf("%d addresses mailed, want 250", len(count))
	}
	for addr, k := range count {
		if k != 1 {
			t.Errorf("%s got %d messages", addr, k)
		}
	}
	for name, want := range map[string]newsletter.CampaignStatus{"mars": newsletter.StatusSent,
		"oubliee": newsletter.StatusDraft, "main": newsletter.StatusDraft} {
		if c, _ := n.Campaign(ctx, name); c.Status != want {
			t.Errorf("%s: %s, want %s", name, c.Status, want)
		}
	}
	if _, err := n.ScheduleCampaign(ctx, "mars", e.clock.Now().Add(time.Hour)); !errors.Is(err, newsletter.ErrNotDraft) {
		t.Errorf("scheduling a sent campaign: %v", err)
	}
	// Run again: nothing more is sent; the late one is still reported.
	reps, err = n.SendDue(ctx, e.sender(t), 0, newsletter.SendOptions{})
	if err != nil || len(reps) != 1 || !reps[0].Late || len(e.srv.Emails()) != 250 {
		t.Errorf("again: %+v %v, %d emails", reps, err, len(e.srv.Emails()))
	}
}

// hookSender runs fn once, before its first batch.
type hookSender struct {
	newsletter.Sender
	once sync.Once
	fn   func()
}

func (h *hookSender) SendBatch(ctx context.Context, key string, msgs []newsletter.Message) ([]newsletter.Result, error) {
	h.once.Do(h.fn)
	return h.Sender.SendBatch(ctx, key, msgs)
}

// A campaign unscheduled while SendDue sends an earlier one is not sent:
// whether it is still due is checked when its send would start.
func TestUnscheduledWhileSendDueRuns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 5, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "a", "lettre", "")
	e.campaign(t, n, "b", "lettre", "")
	now := e.clock.Now()
	for _, c := range []string{"a", "b"} {
		if _, err := n.ScheduleCampaign(ctx, c, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(2 * time.Minute)
	other := e.newsletter(t)
	s := &hookSender{Sender: e.sender(t), fn: func() {
		if _, err := other.UnscheduleCampaign(ctx, "b"); err != nil { // while a is sent, a person stops b
			t.Error(err)
		}
	}}
	reps, err := n.SendDue(ctx, s, 0, newsletter.SendOptions{})
	if err != nil || len(reps) != 1 || reps[0].Campaign != "a" || reps[0].Report == nil || reps[0].Report.Sent != 5 {
		t.Fatalf("%+v %v", reps, err)
	}
	if c, _ := n.Campaign(ctx, "b"); c.Status != newsletter.StatusDraft || !c.ScheduledAt.IsZero() {
		t.Errorf("b was unscheduled before its send started, yet it is %s (scheduled %v)", c.Status, c.ScheduledAt)
	}
	if len(e.srv.Emails()) != 5 {
		t.Errorf("%d emails, want a's 5", len(e.srv.Emails()))
	}
}
