package newsletter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// A list is deleted only once no campaign still to be sent uses it; the
// campaigns sent to it keep its name.
func TestDeleteListAndCampaigns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 250, crm.List{Name: "lettre", Public: true})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	e.campaign(t, n, "avril", "lettre", "")
	if crashed, err := sendUntilCrash(n, "avril", &crashAt{next: e.sender(t), n: 2}); !crashed {
		t.Fatalf("no crash (err %v)", err)
	}
	e.campaign(t, n, "mai", "lettre", "")
	e.campaign(t, n, "juin", "lettre", "")
	if _, err := n.ScheduleCampaign(ctx, "juin", time.Date(2026, 6, 1, 7, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}

	_, err := n.DeleteList(ctx, "lettre", crm.DeleteListOptions{EndSubscriptions: true})
	want := "list lettre is used by 3 campaign(s) not yet sent: avril (sending), juin (scheduled for 2026-06-01 07:30:00 UTC), mai (draft)"
	if !errors.Is(err, crm.ErrConflict) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "mars") {
		t.Fatalf("delete a list with campaigns to send:\n%v\nwant %q", err, want)
	}
	var inUse *newsletter.ListInUseError
	if !errors.As(err, &inUse) || len(inUse.Campaigns) != 3 || strings.HasSuffix(err.Error(), crm.ErrConflict.Error()) {
		t.Errorf("the refusal: %#v, %q (shown as it is, it ends with no sentinel)", inUse, err)
	}
	if _, err := e.db.GetList(ctx, "lettre"); err != nil {
		t.Fatalf("the refused delete deleted: %v", err)
	}
	// The send finishes, the drafts go: only the subscribers are left.
	if _, err := e.newsletter(t).Send(ctx, "avril", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.UnscheduleCampaign(ctx, "juin"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"mai", "juin"} {
		if err := n.DeleteCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.DeleteList(ctx, "lettre", crm.DeleteListOptions{}); !errors.Is(err, crm.ErrListHasSubscribers) {
		t.Fatalf("delete a list with 250 subscribers without EndSubscriptions: %v", err)
	}
	// The caller's own check runs too, and refuses.
	mine := errors.New("the website still links to it")
	_, err = n.DeleteList(ctx, "lettre", crm.DeleteListOptions{EndSubscriptions: true,
		Check: func(ctx context.Context, tx *crm.Tx, l *crm.List) error { return mine }})
	if !errors.Is(err, mine) {
		t.Fatalf("the caller's check: %v", err)
	}
	ended, err := n.DeleteList(ctx, "lettre", crm.DeleteListOptions{EndSubscriptions: true})
	if err != nil || ended != 250 {
		t.Fatalf("delete: %d, %v", ended, err)
	}

	// The sent campaigns keep the list's name, and cannot be copied to a
	// new list that took it.
	if err := e.db.CreateList(ctx, &crm.List{Name: "lettre", Public: true}); err != nil {
		t.Fatal(err)
	}
	c, err := n.Campaign(ctx, "mars")
	if err != nil || c.List != "lettre" || c.Status != newsletter.StatusSent {
		t.Errorf("the sent campaign after its list was deleted: %+v, %v", c, err)
	}
	cs, err := n.Campaigns(ctx)
	if err != nil || len(cs) != 2 || cs[0].List != "lettre" || cs[1].List != "lettre" {
		t.Errorf("campaigns = %+v, %v", cs, err)
	}
	if _, err := n.CopyCampaign(ctx, "mars", "mars-bis"); !errors.Is(err, crm.ErrNotFound) || !strings.Contains(err.Error(), "was deleted") {
		t.Errorf("copy of a campaign of a deleted list: %v", err)
	}
	e.campaign(t, n, "juillet", "lettre", "")
	if nc, _ := n.Campaign(ctx, "juillet"); nc.ListID == c.ListID {
		t.Error("a new campaign went to the deleted list")
	}

	// An unsubscribe link of a sent campaign still works (the person is
	// already out), and does not touch the new list of that name.
	p, err := e.db.GetSupporterByEmail(ctx, "p00001@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: p.ID, List: "lettre", Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	link := n.UnsubscribeURL(p.ID, c.ListID)
	if _, _, err := n.UnsubscribeToken(ctx, link[strings.Index(link, "token=")+6:], crm.Consent{}); err != nil {
		t.Errorf("unsubscribe link of the deleted list: %v", err)
	}
	subs, _ := e.db.Subscriptions(ctx, p.ID)
	for _, s := range subs {
		if !s.ListDeleted && s.Status != crm.StatusSubscribed {
			t.Errorf("the old list's unsubscribe link unsubscribed from the new one: %+v", subs)
		}
	}
	audit, _ := e.db.AuditLog(ctx, crm.AuditFilter{})
	var deletes []string
	for _, a := range audit {
		if a.Action == "list delete" {
			deletes = append(deletes, a.Details)
		}
	}
	if len(deletes) != 1 || deletes[0] != "list lettre, 250 subscription(s) ended" {
		t.Errorf("audit entries of the deletes = %q", deletes)
	}
}
