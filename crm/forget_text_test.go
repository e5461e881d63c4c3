package crm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
)

// Forget clears the consent texts of the erased person's events (a form
// may have posted anything), and only theirs; the history stays
// append-only otherwise: a text can be cleared, not rewritten.
func TestForgetClearsConsentTexts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	const personal = "Je suis Odile Varenne, 3 impasse des Mûriers, née le 4 mai 1961"
	gone := mustSupporter(t, db, &crm.Supporter{Email: "odile@example.org", Notes: "voisine de Paul"})
	kept := mustSupporter(t, db, &crm.Supporter{Email: "kept@example.org"})
	for _, s := range []*crm.Supporter{gone, kept} {
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
			Consent: crm.Consent{Source: crm.SourceWeb, Text: personal, IP: "192.0.2.9", UserAgent: "Firefox"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Forget(ctx, "odile@example.org"); err != nil {
		t.Fatal(err)
	}
	hist, err := db.ConsentHistory(ctx, gone.ID)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history after forget: %+v, %v", hist, err)
	}
	if h := hist[0]; h.ConsentText != "" || h.IP != "" || h.UserAgent != "" || h.Action != crm.ActionSubscribe || h.List != "lettre" {
		t.Errorf("erased person's event = %+v", h)
	}
	if h, _ := db.ConsentHistory(ctx, kept.ID); len(h) != 1 || h[0].ConsentText != personal || h[0].IP != "192.0.2.9" {
		t.Errorf("someone else's event = %+v", h)
	}
	s, _ := db.GetSupporter(ctx, gone.ID)
	if s.Notes != "" {
		t.Errorf("notes after forget: %q", s.Notes)
	}

	// Still append-only: a text cannot be rewritten, nor anything else.
	for _, set := range []string{"consent_text = 'forged'", "action = 'forged'", "source = 'forged'"} {
		if _, err := db.Bun().NewUpdate().Table("consent_events").Set(set).Where("supporter_id = ?", kept.ID).Exec(ctx); err == nil ||
			!strings.Contains(err.Error(), "append-only") {
			t.Errorf("UPDATE SET %s: %v", set, err)
		}
	}
	if h, _ := db.ConsentHistory(ctx, kept.ID); h[0].ConsentText != personal {
		t.Errorf("the text was changed: %q", h[0].ConsentText)
	}
}

// "erasure lifted" is written only when an erasure was lifted.
func TestClearErasedAuditsOnlyALiftedErasure(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "never@example.org"})
	mustSupporter(t, db, &crm.Supporter{Email: "erased@example.org"})
	if err := db.ClearErased(ctx, "never@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := db.Forget(ctx, "erased@example.org"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the second time there is nothing left to lift
		if err := db.ClearErased(ctx, "erased@example.org"); err != nil {
			t.Fatal(err)
		}
	}
	if n := countAudit(t, db, "erasure lifted (fresh consent)"); n != 1 {
		t.Errorf("%d \"erasure lifted\" entries, want 1", n)
	}
}

func countAudit(t *testing.T, db *crm.DB, action string) int {
	t.Helper()
	log, err := db.AuditLog(context.Background(), crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n
}
