package crm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// state is what an operation could change in the database, for
// comparing before and after.
func state(t *testing.T, db *crm.DB, emails ...string) string {
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
		fmt.Fprintf(&b, " id=%d %s %s %s %s %v %v %v", s.ID, s.FirstName, s.Phone, s.Language, s.EmailStatus,
			s.Tags, s.Interests, s.UpdatedAt)
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
	n, err := db.CountSupporters(ctx, crm.SupporterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%d supporters\n", n)
	return b.String()
}

// failingDB returns db on which the queries matching parts fail (see
// crmtest.FailQueries).
func failingDB(t *testing.T, db *crm.DB, parts ...string) (*crm.DB, func() int) {
	t.Helper()
	bdb, hits := crmtest.FailQueries(dbutil.DB(db), parts...)
	failing, err := crm.New(context.Background(), bdb)
	if err != nil {
		t.Fatal(err)
	}
	return failing, hits
}

// RunInTx commits what fn did only when it returns nil: an error or a
// panic rolls back every operation, and inside fn the transaction sees
// its own writes while the database outside does not.
func TestRunInTx(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	bob := mustSupporter(t, db, &crm.Supporter{Email: "bob@example.org", Tags: []string{"ancien"}})
	before := state(t, db, "ann@example.org", "bob@example.org")
	consent := crm.Consent{Source: crm.SourceAPI, Text: "oui"}

	compose := func(tx *crm.Tx) error {
		ann := &crm.Supporter{Email: "ann@example.org", FirstName: "Ann"}
		if err := tx.CreateSupporter(ctx, ann); err != nil {
			return err
		}
		if _, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: ann.ID, List: "lettre", Consent: consent}); err != nil {
			return err
		}
		if err := tx.TagSupporter(ctx, bob.ID, "nouveau"); err != nil {
			return err
		}
		if s, err := tx.GetSupporterByEmail(ctx, "ann@example.org"); err != nil || s.FirstName != "Ann" {
			t.Errorf("the transaction does not see its own write: %+v, %v", s, err)
		}
		if _, err := db.GetSupporterByEmail(ctx, "ann@example.org"); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("outside the transaction, the supporter is seen before the commit: %v", err)
		}
		return nil
	}

	stop := errors.New("stop")
	err := db.RunInTx(ctx, func(tx *crm.Tx) error {
		if err := compose(tx); err != nil {
			return err
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("RunInTx = %v, want fn's error", err)
	}
	if after := state(t, db, "ann@example.org", "bob@example.org"); after != before {
		t.Fatalf("an error kept something:\nbefore %s\nafter  %s", before, after)
	}

	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recover() = %v, want the panic of fn", r)
			}
		}()
		db.RunInTx(ctx, func(tx *crm.Tx) error {
			if err := compose(tx); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	if after := state(t, db, "ann@example.org", "bob@example.org"); after != before {
		t.Fatalf("a panic kept something:\nbefore %s\nafter  %s", before, after)
	}

	if err := db.RunInTx(ctx, compose); err != nil {
		t.Fatal(err)
	}
	ann, err := db.GetSupporterByEmail(ctx, "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if subs, err := db.Subscriptions(ctx, ann.ID); err != nil || len(subs) != 1 || subs[0].Status != crm.StatusSubscribed {
		t.Errorf("subscriptions after commit: %+v, %v", subs, err)
	}
	if b, err := db.GetSupporter(ctx, bob.ID); err != nil || !slices.Equal(b.Tags, []string{"ancien", "nouveau"}) {
		t.Errorf("bob after commit: %+v, %v", b, err)
	}
	log, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if want := []string{"list create", "create supporter", "create supporter", "subscription subscribed", "update supporter"}; !slices.Equal(actions, want) {
		t.Errorf("audit log %q, want %q", actions, want)
	}
}

// RunInTx on a database opened read-only refuses at once, without
// calling fn.
func TestRunInTxReadOnly(t *testing.T) {
	ctx := context.Background()
	dsn := crmtest.Database(t)
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := crm.Open(ctx, dsn, crm.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	called := false
	err = ro.RunInTx(ctx, func(tx *crm.Tx) error { called = true; return nil })
	if !errors.Is(err, crm.ErrReadOnly) || called {
		t.Errorf("RunInTx = %v (fn called: %v), want ErrReadOnly without a call", err, called)
	}
	if err := ro.CreateList(ctx, &crm.List{Name: "lettre"}); !errors.Is(err, crm.ErrReadOnly) {
		t.Errorf("CreateList = %v, want ErrReadOnly", err)
	}
}

// addWithFreshConsent adds back someone erased, as CreateSupporter's
// documentation says: the erasure lifted and the supporter created in one
// transaction.
func addWithFreshConsent(ctx context.Context, db *crm.DB, s *crm.Supporter) error {
	return db.RunInTx(ctx, func(tx *crm.Tx) error {
		if err := tx.ClearErased(ctx, s.Email); err != nil {
			return err
		}
		return tx.CreateSupporter(ctx, s)
	})
}

// Adding someone erased with fresh consent lifts the erasure and creates
// the supporter in one transaction: whichever step fails, down to the
// last statement, the address stays erased and nothing is written.
func TestCreateSupporterFreshConsentIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "ann@example.org"})
	if err := db.Forget(ctx, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	before := state(t, db, "ann@example.org")
	if !strings.Contains(before, "erased=true") {
		t.Fatalf("not erased: %s", before)
	}
	for _, tt := range []struct {
		name  string
		s     crm.Supporter
		fail  []string // the statement made to fail
		check func(error) bool
	}{
		{"phone too long", crm.Supporter{Email: "ann@example.org", Phone: strings.Repeat("6", 51)}, nil,
			func(err error) bool { return errors.Is(err, crm.ErrInvalid) }},
		{"unknown interest", crm.Supporter{Email: "ann@example.org", Interests: []crm.SupporterInterest{{Interest: "nope"}}}, nil,
			func(err error) bool { return errors.Is(err, crm.ErrInvalid) }},
		{"last statement", crm.Supporter{Email: "ann@example.org", FirstName: "Ann", Tags: []string{"retour"}},
			[]string{`INSERT INTO "audit_log"`, "'create supporter'"},
			func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			on, hits := db, func() int { return 1 }
			if tt.fail != nil {
				on, hits = failingDB(t, db, tt.fail...)
			}
			s := tt.s
			err := addWithFreshConsent(ctx, on, &s)
			if !tt.check(err) || hits() != 1 {
				t.Fatalf("ClearErased and CreateSupporter = %v (failed statements: %d)", err, hits())
			}
			if after := state(t, db, "ann@example.org"); after != before {
				t.Fatalf("a failed creation changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	s := &crm.Supporter{Email: "ann@example.org", FirstName: "Ann"}
	if err := db.CreateSupporter(ctx, s); !errors.Is(err, crm.ErrErased) {
		t.Fatalf("without fresh consent: %v", err)
	}
	if err := addWithFreshConsent(ctx, db, s); err != nil {
		t.Fatal(err)
	}
	if erased, err := db.IsErased(ctx, "ann@example.org"); err != nil || erased {
		t.Errorf("IsErased after fresh consent = %v, %v", erased, err)
	}
	if n := countAudit(t, db, "erasure lifted (fresh consent)"); n != 1 {
		t.Errorf("%d erasures lifted in the audit log, want 1", n)
	}
}

// Forget is one transaction: when its last statement fails, the person
// is as they were and their address is not on the erased list.
func TestForgetIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	ann := mustSupporter(t, db, &crm.Supporter{Email: "ann@example.org", FirstName: "Ann", Tags: []string{"presse"}})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: ann.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI, Text: "oui"}}); err != nil {
		t.Fatal(err)
	}
	before := state(t, db, "ann@example.org")
	failing, hits := failingDB(t, db, `INSERT INTO "audit_log"`, "'forget'")
	err := failing.Forget(ctx, "ann@example.org")
	if !errors.Is(err, context.Canceled) || hits() != 1 {
		t.Fatalf("Forget = %v (failed statements: %d)", err, hits())
	}
	if after := state(t, db, "ann@example.org"); after != before {
		t.Fatalf("a failed Forget changed something:\nbefore %s\nafter  %s", before, after)
	}
	if _, ok, err := dbutil.Setting(ctx, dbutil.DB(db), "crm.suppression_key"); err != nil || ok {
		t.Errorf("the erased list's key was kept: %v, %v", ok, err)
	}
	if err := db.Forget(ctx, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	if erased, err := db.IsErased(ctx, "ann@example.org"); err != nil || !erased {
		t.Errorf("IsErased after Forget = %v, %v", erased, err)
	}
}

// An operation of Tx that returns an error wrapping ErrInvalid wrote
// nothing, so the function may go on in the same transaction (as a
// signup with a bad interest goes on without it), on PostgreSQL too.
func TestTxGoesOnAfterInvalid(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	bob := mustSupporter(t, db, &crm.Supporter{Email: "bob@example.org"})
	mustSupporter(t, db, &crm.Supporter{Email: "gone@example.org"})
	if err := db.Forget(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	unknown := []crm.SupporterInterest{{Interest: "nope"}}
	consent := crm.Consent{Source: crm.SourceAPI}
	err := db.RunInTx(ctx, func(tx *crm.Tx) error {
		for _, op := range []func() error{
			func() error {
				return tx.CreateSupporter(ctx, &crm.Supporter{Email: "ann@example.org", Interests: unknown})
			},
			func() error {
				_, err := tx.UpdateSupporter(ctx, bob.ID, crm.SupporterUpdate{FirstName: ptr("Bob"), SetInterests: unknown})
				return err
			},
			func() error {
				return tx.CreateSupporter(ctx, &crm.Supporter{Email: "gone@example.org", Interests: unknown})
			},
			func() error {
				_, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: bob.ID, List: "lettre"})
				return err
			},
			func() error { _, err := tx.SaveSegment(ctx, "s", "tag:"); return err },
		} {
			if err := op(); !errors.Is(err, crm.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		}
		if err := tx.CreateSupporter(ctx, &crm.Supporter{Email: "ann@example.org"}); err != nil {
			return err
		}
		if _, err := tx.UpdateSupporter(ctx, bob.ID, crm.SupporterUpdate{FirstName: ptr("Bob")}); err != nil {
			return err
		}
		if err := tx.ClearErased(ctx, "gone@example.org"); err != nil {
			return err
		}
		if err := tx.CreateSupporter(ctx, &crm.Supporter{Email: "gone@example.org"}); err != nil {
			return err
		}
		_, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: bob.ID, List: "lettre", Consent: consent})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	log, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log[4:] { // after the list, the two creations and the forget
		actions = append(actions, e.Action)
	}
	want := []string{"create supporter", "update supporter", "erasure lifted (fresh consent)", "create supporter", "subscription subscribed"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit log %q, want %q", actions, want)
	}
	if s, err := db.GetSupporter(ctx, bob.ID); err != nil || s.FirstName != "Bob" || len(s.Interests) != 0 {
		t.Errorf("bob: %+v, %v", s, err)
	}
}
