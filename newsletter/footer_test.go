package newsletter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// The footer shows the association's name and postal address from the
// settings; a send keeps the ones it started with, so a batch sent again
// after the settings changed has the same bytes, and the public URL of
// the settings is used when no WithPublicURL is given.
func TestFooterAndPublicURLFromSettings(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, resendtest.Options{Faults: func(n int) resendtest.Fault {
		if n == 2 {
			return resendtest.FaultDailyQuota // the send stops after its first batch
		}
		return 0
	}})
	e.addAudience(t, 150, crm.List{Name: "lettre"})
	for k, v := range map[string]string{"name": "Solidarité Calais", "postal-address": `5 rue Royale\n62100 Calais`,
		"public-url": "https://asso.example.org/nl"} {
		if err := e.db.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	n, err := newsletter.New(ctx, e.db, newsletter.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if n.PublicURL() != "https://asso.example.org/nl" || n.CheckSender(e.sender(t)) != nil {
		t.Fatalf("public URL from the settings: %s, %v", n.PublicURL(), n.CheckSender(e.sender(t)))
	}
	newsletter.SetSleep(n, func(ctx context.Context, d time.Duration) error { return nil })
	e.campaign(t, n, "mars", "lettre", "")
	m, err := n.RenderFor(ctx, "mars", "", "fr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, "Solidarité Calais<br>5 rue Royale<br>62100 Calais") ||
		!strings.Contains(m.Text, "-- \nSolidarité Calais\n5 rue Royale\n62100 Calais\n") {
		t.Fatalf("draft footer:\n%s\n%s", m.HTML, m.Text)
	}

	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err == nil {
		t.Fatal("the quota did not stop the send")
	}
	if err := e.db.SetSetting(ctx, "postal-address", "1 place d'Armes, Calais"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetSetting(ctx, "public-url", "https://nouveau.example.org"); err != nil {
		t.Fatal(err)
	}
	// The resume runs in a new process, which reads the new settings.
	n, err = newsletter.New(ctx, e.db, newsletter.WithClock(e.clock.Now))
	if err != nil || n.PublicURL() != "https://nouveau.example.org" {
		t.Fatalf("%v %s", err, n.PublicURL())
	}
	newsletter.SetSleep(n, func(ctx context.Context, d time.Duration) error { return nil })
	rep, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Sent != 50 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	emails := e.srv.Emails()
	if len(emails) != 150 {
		t.Fatalf("%d emails, want 150", len(emails))
	}
	for _, em := range emails {
		if !strings.Contains(em.Text, "5 rue Royale") || strings.Contains(em.Text, "place d'Armes") ||
			!strings.HasPrefix(em.Headers["List-Unsubscribe"], "<https://asso.example.org/nl/unsubscribe?token=") {
			t.Fatalf("email to %s: footer or links not those the send started with:\n%s", em.To[0], em.Text)
		}
	}
	if c, _ := n.Campaign(ctx, "mars"); c.PostalAddress != "5 rue Royale\n62100 Calais" || c.Association != "Solidarité Calais" {
		t.Errorf("frozen footer: %q %q", c.Association, c.PostalAddress)
	}
}

// A batch the provider already had under its key with other bytes (an
// earlier try reached it, then an upgrade changed what the program
// renders) is not sent again: its recipients are counted uncertain and the
// send goes on instead of failing on it at every resume.
func TestBatchKnownUnderItsKeyWithOtherBytes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, resendtest.Options{Faults: func(k int) resendtest.Fault {
		switch {
		case k == 1:
			return resendtest.FaultLostAnswer // the first batch goes out; its answer is lost
		case k <= 12:
			return resendtest.FaultServerError // and the retries fail until the send gives up
		}
		return 0
	}})
	e.addAudience(t, 150, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err == nil {
		t.Fatal("the send did not stop")
	}
	// What an upgrade between the two tries would do: other bytes.
	if _, err := dbutil.DB(e.db).NewUpdate().Table("newsletter_campaigns").Set("association = ?", "Autre nom").
		Where("name = ?", "mars").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Uncertain != 100 || rep.Sent != 50 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	if len(e.srv.Emails()) != 150 {
		t.Errorf("%d emails, want 150 (nobody twice)", len(e.srv.Emails()))
	}
	st, _ := n.CampaignStats(ctx, "mars")
	if st.Campaign.Status != newsletter.StatusSent || st.Uncertain != 100 {
		t.Errorf("stats: %+v", st)
	}
}
