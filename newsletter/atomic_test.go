package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

// dbState is what a signup, a link or a webhook could change, for
// comparing before and after: the people, their erasure, subscriptions
// and consent history, the audit log and the package's own records.
func dbState(t *testing.T, db *crm.DB, emails ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, email := range emails {
		erased, err := db.IsErased(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s erased=%v", email, erased)
		s, err := db.GetSupporterByEmail(ctx, email)
		if errors.Is(err, crm.ErrNotFound) {
			b.WriteString(" absent\n")
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		subs, err := db.Subscriptions(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := db.ConsentHistory(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " id=%d %s %s %s %v %v", s.ID, s.FirstName, s.Language, s.EmailStatus, s.Interests, s.UpdatedAt)
		for _, sub := range subs {
			fmt.Fprintf(&b, " %s=%s", sub.List, sub.Status)
		}
		fmt.Fprintf(&b, " %d consent events\n", len(hist))
	}
	log, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		fmt.Fprintf(&b, "audit %d %s %d %s\n", e.ID, e.Action, e.SupporterID, e.Details)
	}
	for _, table := range []string{"supporters", "newsletter_confirmations", "newsletter_notices", "newsletter_webhook_events"} {
		n, err := dbutil.DB(db).NewSelect().Table(table).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s\n", n, table)
	}
	return b.String()
}

// tokenOf returns the token of a link.
func tokenOf(link string) string {
	_, tok, _ := strings.Cut(link, "token=")
	return tok
}

// failLast runs op on a Newsletter whose statements matching parts fail,
// and checks that exactly one did, that op returned that failure, and
// that the database is as it was before.
func failLast(t *testing.T, w *web, emails []string, parts []string, op func(n *newsletter.Newsletter) error) {
	t.Helper()
	ctx := context.Background()
	before := dbState(t, w.db, emails...)
	bdb, hits := crmtest.FailQueries(dbutil.DB(w.db), parts...)
	db, err := crm.New(ctx, bdb, crm.WithClock(w.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	n, err := newsletter.New(ctx, db, newsletter.WithClock(w.clock.Now), newsletter.WithPublicURL(w.n.PublicURL()))
	if err != nil {
		t.Fatal(err)
	}
	if err := op(n); !errors.Is(err, context.Canceled) || hits() != 1 {
		t.Fatalf("the operation returned %v (failed statements: %d), want the failure of its last statement", err, hits())
	}
	if after := dbState(t, w.db, emails...); after != before {
		t.Fatalf("a failed operation changed something:\nbefore %s\nafter  %s", before, after)
	}
}

// A signup is one transaction: when its last write (the queued
// confirmation email) fails, no supporter, subscription, consent event
// or audit entry is left, and no email goes.
func TestSignupIsAtomic(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	old := &crm.Supporter{Email: "old@example.org", FirstName: "Old"}
	if err := w.db.CreateSupporter(ctx, old); err != nil {
		t.Fatal(err)
	}
	gone := &crm.Supporter{Email: "gone@example.org"}
	if err := w.db.CreateSupporter(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := w.db.Forget(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	sender := w.sender(t)
	emails := []string{"new@example.org", "old@example.org", "gone@example.org"}
	for _, email := range emails {
		r := newsletter.SignupRequest{Email: email, FirstName: "Léa", Lists: []string{"lettre", "alertes"},
			Interests: []string{"terrain"}, ConsentText: "Je veux recevoir la lettre"}
		failLast(t, w, emails, []string{`INSERT INTO "newsletter_notices"`}, func(n *newsletter.Newsletter) error {
			_, err := n.Signup(ctx, r, sender, "Asso <news@asso.example.org>")
			return err
		})
	}
	if n := len(w.env.srv.Emails()); n != 0 {
		t.Errorf("%d emails sent by failed signups", n)
	}
	// Nothing was left that a signup after the failure would trip on.
	res, err := w.n.Signup(ctx, newsletter.SignupRequest{Email: "new@example.org", Lists: []string{"lettre", "alertes"},
		Interests: []string{"terrain"}}, sender, "Asso <news@asso.example.org>")
	if err != nil || !res.Created || len(res.Subscribed) != 1 || len(res.Confirmation) != 1 || res.ConfirmationDeferred {
		t.Fatalf("signup after the failure: %+v, %v", res, err)
	}
	if n := len(w.env.srv.Emails()); n != 1 {
		t.Errorf("%d confirmation emails, want 1", n)
	}
}

// Confirming a link lifts the erasure of the address, confirms the
// subscription and marks a bounced address fine again in one
// transaction: when the last of these fails, all stay as they were.
func TestConfirmTokenIsAtomic(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	first := &crm.Supporter{Email: "back@example.org"}
	if err := w.db.CreateSupporter(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := w.db.Forget(ctx, "back@example.org"); err != nil {
		t.Fatal(err)
	}
	res, err := w.n.Signup(ctx, newsletter.SignupRequest{Email: "back@example.org", Lists: []string{"alertes"}},
		w.sender(t), "Asso <news@asso.example.org>")
	if err != nil || len(res.Confirmation) != 1 {
		t.Fatalf("signup: %+v, %v", res, err)
	}
	id := mustID(t, w.db, "back@example.org")
	if _, err := w.db.SetEmailStatus(ctx, id, crm.EmailBounced, crm.Consent{Source: crm.SourceWebhook}); err != nil {
		t.Fatal(err)
	}
	emails := []string{"back@example.org"}
	before := dbState(t, w.db, emails...)
	if !strings.Contains(before, "erased=true") || !strings.Contains(before, "alertes=pending") || !strings.Contains(before, "bounced") {
		t.Fatalf("setup: %s", before)
	}
	token := tokenOf(w.n.ConfirmURL(id, listID(t, w.db, "alertes")))
	consent := crm.Consent{Text: "confirmed"}
	failLast(t, w, emails, []string{`UPDATE "supporters"`, "email_status = 'ok'"}, func(n *newsletter.Newsletter) error {
		_, _, err := n.ConfirmToken(ctx, token, consent)
		return err
	})
	if _, _, err := w.n.ConfirmToken(ctx, token, consent); err != nil {
		t.Fatal(err)
	}
	after := dbState(t, w.db, emails...)
	if !strings.Contains(after, "erased=false") || !strings.Contains(after, "alertes=subscribed") || !strings.Contains(after, " ok ") {
		t.Errorf("after the confirmation: %s", after)
	}
}

// A preferences form is one transaction: when its last write (leaving a
// list) fails, the language, interests and the list joined before it
// are not kept either.
func TestUpdatePreferencesIsAtomic(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "en@example.org", Language: "en", Interests: []crm.SupporterInterest{{Interest: "terrain"}}}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(w.n.PreferencesURL(s.ID))
	ch := newsletter.PreferenceChange{Lists: []string{"alertes"}, Language: "fr", Interests: []string{"traduction"}}
	emails := []string{"en@example.org"}
	failLast(t, w, emails, []string{`INSERT INTO "consent_events"`, "'unsubscribe'"}, func(n *newsletter.Newsletter) error {
		return n.UpdatePreferences(ctx, token, ch, crm.Consent{})
	})
	if err := w.n.UpdatePreferences(ctx, token, ch, crm.Consent{}); err != nil {
		t.Fatal(err)
	}
	after := dbState(t, w.db, emails...)
	if !strings.Contains(after, " fr ") || !strings.Contains(after, "alertes=subscribed") || !strings.Contains(after, "lettre=unsubscribed") {
		t.Errorf("after the form: %s", after)
	}
	// Unticking terrain was the person's own choice: an import of the
	// team's sheet will not put it back.
	own, err := w.db.OwnChoices(ctx, s.ID)
	if err != nil || len(own) != 1 || own[0].Kind != crm.ChoiceInterest || own[0].Name != "terrain" || own[0].Source != "preferences page" {
		t.Errorf("own choices after the form = %+v, %v", own, err)
	}
}

// A complaint marks the address, unsubscribes it and records the event's
// id in one transaction: when the record fails, nothing is kept, and the
// provider's retry applies the event.
func TestWebhookIsAtomic(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "ann@example.org"}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"type":"email.complained","data":{"email_id":"e1","to":["ann@example.org"]}}`)
	emails := []string{"ann@example.org"}
	failLast(t, w, emails, []string{`INSERT INTO "newsletter_webhook_events"`}, func(n *newsletter.Newsletter) error {
		_, err := n.ApplyWebhook(ctx, "msg_1", payload)
		return err
	})
	if res, err := w.n.ApplyWebhook(ctx, "msg_1", payload); err != nil || res != newsletter.WebhookApplied {
		t.Fatalf("retry: %v, %v", res, err)
	}
	after := dbState(t, w.db, emails...)
	if !strings.Contains(after, "complained") || !strings.Contains(after, "lettre=unsubscribed") {
		t.Errorf("after the retry: %s", after)
	}
	if res, err := w.n.ApplyWebhook(ctx, "msg_1", payload); err != nil || res != newsletter.WebhookReplayed {
		t.Errorf("replay: %v, %v", res, err)
	}
}
