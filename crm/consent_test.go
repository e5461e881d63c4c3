package crm_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

func TestSubscribeWritesConsentEventsAtomically(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{Email: "lea@example.org"})
	if err := db.CreateList(ctx, &crm.List{Name: "Alertes", Kind: crm.KindAlerts, DoubleOptIn: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "lettre", Title: "La lettre mensuelle"}); err != nil {
		t.Fatal(err)
	}
	cli := crm.Consent{Source: crm.SourceCLI, Text: "Oui, je veux recevoir les alertes"}

	steps := []struct {
		name       string
		do         func() (crm.SubscriptionStatus, bool, error)
		wantStatus crm.SubscriptionStatus
		changed    bool
		action     string // the consent event expected, "" for none
	}{
		{"double opt-in leaves pending", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: cli})
			return r.Status, r.Changed, err
		}, crm.StatusPending, true, crm.ActionRequest},
		{"asking again changes nothing", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: cli})
			return r.Status, r.Changed, err
		}, crm.StatusPending, false, ""},
		{"confirm subscribes", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Confirm(ctx, s.ID, "alertes", crm.Consent{Source: crm.SourceWeb, IP: "192.0.2.1"})
			return r.Status, r.Changed, err
		}, crm.StatusSubscribed, true, crm.ActionConfirm},
		{"single opt-in subscribes", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: cli})
			return r.Status, r.Changed, err
		}, crm.StatusSubscribed, true, crm.ActionSubscribe},
		{"unsubscribe from all", func() (crm.SubscriptionStatus, bool, error) {
			n, err := db.Unsubscribe(ctx, s.ID, "", crm.Consent{Source: crm.SourceCLI})
			if n != 2 {
				t.Errorf("unsubscribed from %d lists, want 2", n)
			}
			return crm.StatusUnsubscribed, n > 0, err
		}, crm.StatusUnsubscribed, true, crm.ActionUnsubscribe},
		{"confirm after unsubscribe is refused", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Confirm(ctx, s.ID, "alertes", crm.Consent{Source: crm.SourceWeb})
			if !errors.Is(err, crm.ErrNotFound) {
				t.Errorf("confirm after unsubscribe: %v", err)
			}
			return crm.StatusUnsubscribed, r.Changed, nil
		}, crm.StatusUnsubscribed, false, ""},
		{"confirmed resubscribe skips pending", func() (crm.SubscriptionStatus, bool, error) {
			r, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: cli, Confirmed: true})
			return r.Status, r.Changed, err
		}, crm.StatusSubscribed, true, crm.ActionSubscribe},
	}
	events := 0
	for _, st := range steps {
		status, changed, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if status != st.wantStatus || changed != st.changed {
			t.Errorf("%s: status %s changed %v, want %s %v", st.name, status, changed, st.wantStatus, st.changed)
		}
		hist, err := db.ConsentHistory(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.action != "" {
			events++
			if st.action == crm.ActionUnsubscribe {
				events++ // one per list
			}
			if last := hist[len(hist)-1]; last.Action != st.action {
				t.Errorf("%s: last event %+v, want action %s", st.name, last, st.action)
			}
		}
		if len(hist) != events {
			t.Errorf("%s: %d consent events, want %d", st.name, len(hist), events)
		}
	}
	hist, _ := db.ConsentHistory(ctx, s.ID)
	if hist[0].List != "alertes" || hist[0].ConsentText != cli.Text || hist[0].Source != "cli" || hist[1].IP != "192.0.2.1" {
		t.Errorf("first events = %+v", hist[:2])
	}

	// The history is append-only at the database level.
	if _, err := dbutil.DB(db).NewUpdate().Table("consent_events").Set("action = 'forged'").Where("1 = 1").Exec(ctx); err == nil {
		t.Error("consent_events accepted an UPDATE")
	}
	if _, err := dbutil.DB(db).NewDelete().Table("consent_events").Where("1 = 1").Exec(ctx); err == nil {
		t.Error("consent_events accepted a DELETE")
	}

	// A failed change writes no event: unknown list.
	before, _ := db.ConsentHistory(ctx, s.ID)
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "nope", Consent: cli}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("subscribe to unknown list: %v", err)
	}
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre"}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("subscribe without a source: %v", err)
	}
	after, _ := db.ConsentHistory(ctx, s.ID)
	if len(after) != len(before) {
		t.Errorf("failed subscribes wrote %d events", len(after)-len(before))
	}
}

func TestSetEmailStatus(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{Email: "x@example.org"})
	changed, err := db.SetEmailStatus(ctx, s.ID, crm.EmailBounced, crm.Consent{Source: crm.SourceWebhook})
	if err != nil || !changed {
		t.Fatalf("SetEmailStatus = %v, %v", changed, err)
	}
	if changed, _ := db.SetEmailStatus(ctx, s.ID, crm.EmailBounced, crm.Consent{Source: crm.SourceWebhook}); changed {
		t.Error("same status reported as a change")
	}
	if _, err := db.SetEmailStatus(ctx, s.ID, "lost", crm.Consent{Source: crm.SourceCLI}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("invalid status: %v", err)
	}
	if _, err := db.SetEmailStatus(ctx, 999, crm.EmailOK, crm.Consent{Source: crm.SourceCLI}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("unknown supporter: %v", err)
	}
	got, _ := db.GetSupporter(ctx, s.ID)
	hist, _ := db.ConsentHistory(ctx, s.ID)
	if got.EmailStatus != crm.EmailBounced || len(hist) != 1 || hist[0].Action != "email_status:bounced" {
		t.Errorf("status %s, history %+v", got.EmailStatus, hist)
	}
}

func TestLists(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "Communiqués", Kind: crm.KindPress}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "communiques"}); !errors.Is(err, crm.ErrConflict) {
		t.Errorf("duplicate list: %v", err)
	}
	if err := db.CreateList(ctx, &crm.List{Name: "x", Kind: "spam"}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("bad kind: %v", err)
	}
	s := mustSupporter(t, db, &crm.Supporter{Email: "j@example.org"})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "communiques", Consent: crm.Consent{Source: "cli"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := db.Lists(ctx)
	if err != nil || len(ls) != 1 || ls[0].Name != "communiques" || ls[0].Title != "communiques" || ls[0].Subscribed != 1 {
		t.Fatalf("lists = %+v, %v", ls, err)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{List: ptr("communiques")}); n != 1 {
		t.Errorf("count on list = %d", n)
	}
}

func TestDonations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{Email: "don@example.org"})
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	for _, d := range []*crm.Donation{
		{SupporterID: s.ID, Amount: 2550, Currency: "eur", ReceivedAt: day(31), Method: "transfer", Fund: "Hiver"},
		{SupporterID: s.ID, Amount: 1000, Currency: "EUR", ReceivedAt: day(2), Method: "cash", ExternalRef: "R1"},
		{SupporterID: s.ID, Amount: 500, Currency: "CHF", ReceivedAt: day(10), Method: "card", Recurring: true},
	} {
		if err := db.AddDonation(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	err := db.AddDonation(ctx, &crm.Donation{SupporterID: s.ID, Amount: 1000, Currency: "EUR", ReceivedAt: day(2), Method: "cash", ExternalRef: "R1"})
	if !errors.Is(err, crm.ErrConflict) {
		t.Errorf("same external reference twice: %v", err)
	}
	for _, bad := range []crm.Donation{
		{SupporterID: s.ID, Amount: -1, Currency: "EUR", ReceivedAt: day(1), Method: "cash"},
		{SupporterID: s.ID, Amount: 1, Currency: "EURO", ReceivedAt: day(1), Method: "cash"},
		{SupporterID: s.ID, Amount: 1, Currency: "EUR", Method: "cash"},
		{SupporterID: s.ID, Amount: 1, Currency: "EUR", ReceivedAt: day(1), Method: "bitcoin"},
	} {
		if err := db.AddDonation(ctx, &bad); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("AddDonation(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if err := db.AddDonation(ctx, &crm.Donation{SupporterID: 999, Amount: 1, Currency: "EUR", ReceivedAt: day(1), Method: "cash"}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("donation of unknown supporter: %v", err)
	}
	totals, err := db.DonationTotals(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []crm.DonationTotal{
		{Currency: "CHF", Count: 1, Sum: 500, First: day(10), Last: day(10)},
		{Currency: "EUR", Count: 2, Sum: 3550, First: day(2), Last: day(31)},
	}
	if len(totals) != 2 || totals[0] != want[0] || totals[1] != want[1] {
		t.Errorf("totals = %+v\nwant %+v", totals, want)
	}
	since := day(5)
	ds, err := db.ListDonations(ctx, crm.DonationFilter{Since: &since})
	if err != nil || len(ds) != 2 || ds[0].Amount != 500 || ds[0].Email != "don@example.org" {
		t.Errorf("donations since the 5th = %+v, %v", ds, err)
	}
	rep, err := db.DonationReport(ctx, crm.DonationFilter{}, crm.ByMethod)
	if err != nil || len(rep) != 3 || rep[0].Key != "card" || rep[2].Key != "transfer" || rep[2].Sum != 2550 {
		t.Errorf("report by method = %+v, %v", rep, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crm.db")
	db, err := crm.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil || applied == "" || applied != known {
		t.Fatalf("SchemaVersion = %q, %q, %v", applied, known, err)
	}
	// Opening again applies nothing and works.
	db.Close()
	if db, err = crm.Open(ctx, path); err != nil {
		t.Fatalf("second open: %v", err)
	}
	// A newer program ran a migration this one does not know.
	if _, err := dbutil.DB(db).ExecContext(ctx, "INSERT INTO crm_migrations (name, group_id, migrated_at) VALUES (?, ?, ?)",
		"29990101000000_future", 99, time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = crm.Open(ctx, path)
	if !errors.Is(err, crm.ErrSchemaTooNew) {
		t.Fatalf("open of newer schema: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "29990101000000_future") {
		t.Errorf("error does not name the unknown migration: %v", err)
	}
}

func TestNewKeepsCallerOwnership(t *testing.T) {
	ctx := context.Background()
	sqldb, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "own.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	bdb := bun.NewDB(sqldb, sqlitedialect.New())
	defer bdb.Close()
	db, err := crm.New(ctx, bdb)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSupporter(ctx, &crm.Supporter{Email: "a@example.org"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := bdb.PingContext(ctx); err != nil {
		t.Errorf("Close closed the caller's *bun.DB: %v", err)
	}
	if _, err := crm.New(ctx, nil); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("New(nil) = %v", err)
	}
	if _, err := crm.Open(ctx, filepath.Join(t.TempDir(), "x.db"), crm.WithClock(nil)); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("WithClock(nil) = %v", err)
	}
}
