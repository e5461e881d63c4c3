package newsletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// After a send, the report counts what Resend's webhooks said of each
// message, found by the tags each message carries (even for an address
// changed since), who left through the campaign's link, and opens and
// clicks for the campaign only.
func TestCampaignReport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 10, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	emails := e.srv.Emails()
	type info struct{ id, delivery, token string }
	by := map[string]info{}
	for _, m := range emails {
		tags := map[string]string{}
		for _, tg := range m.Tags {
			tags[tg.Name] = tg.Value
		}
		if tags["campaign"] != "mars" || tags["delivery"] == "" {
			t.Fatalf("tags of the message to %s: %+v", m.To[0], m.Tags)
		}
		u, _ := url.Parse(strings.Trim(m.Headers["List-Unsubscribe"], "<>"))
		by[m.To[0]] = info{m.ID, tags["delivery"], u.Query().Get("token")}
	}
	event := func(svix, typ, to, extra string) newsletter.WebhookResult {
		t.Helper()
		i := by[to]
		payload := fmt.Sprintf(`{"type":%q,"data":{"email_id":%q,"to":[%q],"tags":{"campaign":"mars","delivery":%q}%s}}`,
			typ, i.id, to, i.delivery, extra)
		res, err := n.ApplyWebhook(ctx, svix, []byte(payload))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return res
	}
	// p00001 changes address before its delivery is reported.
	s1, _ := e.db.GetSupporterByEmail(ctx, "p00001@example.org")
	newEmail := "nouvelle@example.org"
	if _, err := e.db.UpdateSupporter(ctx, s1.ID, crm.SupporterUpdate{Email: &newEmail}); err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{"p00000@example.org", "p00001@example.org", "p00002@example.org", "p00003@example.org"} {
		event(fmt.Sprintf("d%d", i), "email.delivered", to, "")
	}
	event("late", "email.delivery_delayed", "p00004@example.org", "")
	event("late2", "email.delivery_delayed", "p00000@example.org", "") // after its delivery: stays delivered
	event("b", "email.bounced", "p00005@example.org", `,"bounce":{"type":"Permanent"}`)
	event("c", "email.complained", "p00006@example.org", "")
	for i := range 3 {
		event(fmt.Sprintf("o%d", i), "email.opened", "p00002@example.org", "")
	}
	event("k", "email.clicked", "p00002@example.org", "")
	// Two leave through the campaign's link, one twice.
	for _, to := range []string{"p00007@example.org", "p00008@example.org", "p00008@example.org"} {
		if _, _, err := n.UnsubscribeToken(ctx, by[to].token, crm.Consent{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := n.CampaignStats(ctx, "mars")
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 10 || st.Delivered != 4 || st.Delayed != 1 || st.Bounced != 1 || st.Complained != 1 ||
		st.Unsubscribed != 2 || st.Campaign.Opened != 3 || st.Campaign.Clicked != 1 || st.Failed != 0 {
		t.Errorf("report: %+v opened %d clicked %d", st, st.Campaign.Opened, st.Campaign.Clicked)
	}
	if s, _ := e.db.GetSupporterByEmail(ctx, "p00005@example.org"); s.EmailStatus != crm.EmailBounced {
		t.Errorf("a permanent bounce leaves the address %s", s.EmailStatus)
	}

	// The funnel, as a picture for the board.
	var svg, pic bytes.Buffer
	if err := newsletter.WriteChart(&svg, st, "svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", ">Campaign mars<", ">delivered<", ">4<", ">unsubscribed<", ">2<"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if err := newsletter.WriteChart(&pic, st, "png"); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(&pic); err != nil || img.Bounds().Dx() != 560 {
		t.Errorf("PNG: %v", err)
	}
	if err := newsletter.WriteChart(&pic, st, "gif"); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("gif: %v", err)
	}
}

// One event delivered twice at once (a provider's retry after a slow
// answer) is counted once.
func TestWebhookDeliveredTwiceAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 1, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	for i := range 20 {
		payload := []byte(`{"type":"email.opened","data":{"email_id":"x","to":["p00000@example.org"],"tags":{"campaign":"mars"}}}`)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := n.ApplyWebhook(ctx, fmt.Sprintf("svix-%d", i), payload); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if c, _ := n.Campaign(ctx, "mars"); c.Opened != 20 {
		t.Errorf("opened %d, want 20", c.Opened)
	}
}
