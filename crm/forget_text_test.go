package crm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
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
		if _, err := dbutil.DB(db).NewUpdate().Table("consent_events").Set(set).Where("supporter_id = ?", kept.ID).Exec(ctx); err == nil ||
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

// Only an erased supporter's consent texts may be cleared: the trigger
// refuses it for anyone else.
func TestConsentTextClearedOnlyForTheErased(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	s := mustSupporter(t, db, &crm.Supporter{Email: "alive@example.org"})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceWeb, Text: "Oui"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbutil.DB(db).NewUpdate().Table("consent_events").Set("consent_text = ''").
		Where("supporter_id = ?", s.ID).Exec(ctx); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("clearing a living supporter's text: %v", err)
	}
	if h, _ := db.ConsentHistory(ctx, s.ID); h[0].ConsentText != "Oui" {
		t.Errorf("text now %q", h[0].ConsentText)
	}
}

// People erased by an earlier version, whose texts Forget did not clear
// then, lose them when the database is migrated.
func TestMigrationClearsTextsOfTheErasedBefore(t *testing.T) {
	ctx := context.Background()
	dsn := crmtest.Database(t)
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	const personal = "Odile Varenne, 3 impasse des Mûriers"
	gone := mustSupporter(t, db, &crm.Supporter{Email: "odile@example.org"})
	kept := mustSupporter(t, db, &crm.Supporter{Email: "kept@example.org"})
	for _, s := range []*crm.Supporter{gone, kept} {
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
			Consent: crm.Consent{Source: crm.SourceWeb, Text: personal}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Forget(ctx, "odile@example.org"); err != nil {
		t.Fatal(err)
	}
	// Put the database back as the earlier version left it: the text
	// still there, the migration not applied.
	b := dbutil.DB(db)
	dropTrigger := "DROP TRIGGER consent_events_text_clear_only"
	if b.Dialect().Name() == dialect.PG {
		dropTrigger += " ON consent_events"
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{dropTrigger, nil},
		{"UPDATE consent_events SET consent_text = ? WHERE supporter_id = ?", []any{personal, gone.ID}},
		{"DELETE FROM crm_migrations WHERE name = ?", []any{"20261202160001"}},
	} {
		if _, err := b.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db.Close()
	if db, err = crm.Open(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if h, _ := db.ConsentHistory(ctx, gone.ID); len(h) != 1 || h[0].ConsentText != "" {
		t.Errorf("erased person's history after the migration: %+v", h)
	}
	if h, _ := db.ConsentHistory(ctx, kept.ID); len(h) != 1 || h[0].ConsentText != personal {
		t.Errorf("someone else's history after the migration: %+v", h)
	}
}
