package crm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// auditSince returns the action and details of the audit entries
// written after the first skip ones.
func auditSince(t *testing.T, db *crm.DB, skip int) []string {
	t.Helper()
	es, err := db.AuditLog(context.Background(), crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es[skip:] {
		out = append(out, e.Action+": "+e.Details)
	}
	return out
}

func auditCount(t *testing.T, db *crm.DB) int {
	t.Helper()
	es, err := db.AuditLog(context.Background(), crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestEditList(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Title: "Alertes", Kind: crm.KindAlerts, Public: true}); err != nil {
		t.Fatal(err)
	}
	if got := auditSince(t, db, 0); len(got) != 1 || got[0] != "list create: list alertes" {
		t.Errorf("audit after create = %q", got)
	}
	mark := auditCount(t, db)

	l, err := db.EditList(ctx, "Alertes", crm.ListEdit{TitleEN: ptr("Eviction alerts"), Description: ptr("  Un SMS par expulsion  "),
		Public: ptr(false), DoubleOptIn: ptr(true), ConsentTextEN: ptr("I want the alerts")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.GetList(ctx, "alertes")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *l || got.Title != "Alertes" || got.TitleEN != "Eviction alerts" || got.Description != "Un SMS par expulsion" ||
		got.Public || !got.DoubleOptIn || got.ConsentTextEN != "I want the alerts" || got.ConsentText != "" || got.Kind != crm.KindAlerts {
		t.Errorf("after the edit: %+v (returned %+v)", got, l)
	}
	if a := auditSince(t, db, mark); len(a) != 1 ||
		a[0] != "list edit: list alertes: title-en, description, private, double opt-in, consent-text-en" {
		t.Errorf("audit of the edit = %q", a)
	}

	// nil changes nothing; an edit that changes nothing writes nothing.
	mark = auditCount(t, db)
	if _, err := db.EditList(ctx, "alertes", crm.ListEdit{Public: ptr(false), Title: ptr("Alertes")}); err != nil {
		t.Fatal(err)
	}
	if a := auditSince(t, db, mark); len(a) != 0 {
		t.Errorf("an edit that changed nothing was audited: %q", a)
	}
	if again, _ := db.GetList(ctx, "alertes"); *again != *got {
		t.Errorf("an empty edit changed the list: %+v", again)
	}

	// "" puts the title back to the name.
	if l, err := db.EditList(ctx, "alertes", crm.ListEdit{Title: ptr(" ")}); err != nil || l.Title != "alertes" {
		t.Errorf("title reset: %+v, %v", l, err)
	}

	// A bad field is refused, naming it, with nothing changed.
	before, _ := db.GetList(ctx, "alertes")
	mark = auditCount(t, db)
	_, err = db.EditList(ctx, "alertes", crm.ListEdit{Public: ptr(true), ConsentText: ptr(strings.Repeat("x", crm.MaxListTextLength+1))})
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || ve.Field != "consent-text" {
		t.Errorf("too long a consent text: %v", err)
	}
	if after, _ := db.GetList(ctx, "alertes"); *after != *before || auditCount(t, db) != mark {
		t.Errorf("a refused edit changed something: %+v", after)
	}
	if _, err := db.EditList(ctx, "nope", crm.ListEdit{Public: ptr(true)}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("edit of an unknown list: %v", err)
	}
}

func TestDeleteList(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for _, l := range []*crm.List{{Name: "alertes", Title: "Alertes", Public: true}, {Name: "vide"}} {
		if err := db.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := db.GetList(ctx, "alertes")
	amina := mustSupporter(t, db, &crm.Supporter{Email: "amina@example.org"})
	jo := mustSupporter(t, db, &crm.Supporter{Email: "jo@example.org"})
	odile := mustSupporter(t, db, &crm.Supporter{Email: "odile@example.org"})
	for _, r := range []crm.SubscribeRequest{
		{SupporterID: amina.ID, List: "alertes", Consent: crm.Consent{Source: crm.SourceWeb, Text: "Oui"}},
		{SupporterID: jo.ID, List: "alertes", RequireConfirmation: true, Consent: crm.Consent{Source: crm.SourceWeb, Text: "Oui"}},
		{SupporterID: odile.ID, List: "alertes", Consent: crm.Consent{Source: crm.SourceCLI}},
	} {
		if _, err := db.Subscribe(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Unsubscribe(ctx, odile.ID, "alertes", crm.Consent{Source: crm.SourceWeb}); err != nil {
		t.Fatal(err)
	}

	// An empty list goes without asking.
	if n, err := db.DeleteList(ctx, "vide", crm.DeleteListOptions{}); err != nil || n != 0 {
		t.Fatalf("delete an empty list: %d, %v", n, err)
	}
	// A list with people subscribed or pending needs EndSubscriptions.
	mark := auditCount(t, db)
	_, err := db.DeleteList(ctx, "alertes", crm.DeleteListOptions{})
	if !errors.Is(err, crm.ErrListHasSubscribers) || !errors.Is(err, crm.ErrConflict) || !strings.Contains(err.Error(), "has 2 person(s) subscribed or pending") {
		t.Fatalf("delete a list with 2 members: %v", err)
	}
	if l, err := db.GetList(ctx, "alertes"); err != nil || l.ID != old.ID || auditCount(t, db) != mark {
		t.Fatalf("the refused delete changed something: %+v, %v", l, err)
	}

	n, err := db.DeleteList(ctx, "alertes", crm.DeleteListOptions{EndSubscriptions: true})
	if err != nil || n != 2 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	if a := auditSince(t, db, mark); len(a) != 1 || a[0] != "list delete: list alertes, 2 subscription(s) ended" {
		t.Errorf("audit of the delete = %q", a)
	}
	// Hidden: by name, from Lists, from segments and filters.
	if _, err := db.GetList(ctx, "alertes"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("GetList of a deleted list: %v", err)
	}
	if ls, err := db.Lists(ctx); err != nil || len(ls) != 0 {
		t.Errorf("Lists after deleting both = %+v, %v", ls, err)
	}
	if _, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: "list:alertes"}); err == nil ||
		!strings.Contains(err.Error(), `no list "alertes" (there are none yet)`) {
		t.Errorf("segment naming a deleted list: %v", err)
	}
	if _, err := db.DeleteList(ctx, "alertes", crm.DeleteListOptions{EndSubscriptions: true}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: odile.ID, List: "alertes",
		Consent: crm.Consent{Source: crm.SourceCLI}}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("subscribe to a deleted list: %v", err)
	}
	// By id it is still there, with the name it had.
	if l, err := db.GetListByID(ctx, old.ID); err != nil || l.Name != "alertes" || l.DeletedAt.IsZero() || l.Title != "Alertes" {
		t.Errorf("GetListByID of the deleted list = %+v, %v", l, err)
	}

	// The name is free: a new list of that name is another list.
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Title: "Nouvelles alertes"}); err != nil {
		t.Fatalf("create a list with a deleted one's name: %v", err)
	}
	fresh, err := db.GetList(ctx, "alertes")
	if err != nil || fresh.ID == old.ID || fresh.Title != "Nouvelles alertes" {
		t.Fatalf("new list = %+v, %v", fresh, err)
	}
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: odile.ID, List: "alertes",
		Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	if c, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: "list:alertes"}); err != nil || c != 1 {
		t.Errorf("list:alertes counts %d (%v), want only odile, on the new list", c, err)
	}
	// Deleting the new one too: two deleted lists of one name.
	if _, err := db.DeleteList(ctx, "alertes", crm.DeleteListOptions{EndSubscriptions: true}); err != nil {
		t.Fatal(err)
	}

	// The export and the consent history still name it, and say it is
	// deleted; the subscriptions ended with a consent event each.
	x, err := db.ExportSupporter(ctx, "amina@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Subscriptions) != 1 || x.Subscriptions[0].List != "alertes" || !x.Subscriptions[0].ListDeleted ||
		x.Subscriptions[0].Status != crm.StatusUnsubscribed {
		t.Errorf("export's subscriptions = %+v", x.Subscriptions)
	}
	var hist []string
	for _, e := range x.ConsentHistory {
		hist = append(hist, fmt.Sprintf("%s %s %s %q %v", e.Action, e.List, e.Source, e.ConsentText, e.ListDeleted))
	}
	if want := []string{`subscribe alertes web "Oui" true`, `unsubscribe alertes list-deleted "" true`}; fmt.Sprint(hist) != fmt.Sprint(want) {
		t.Errorf("amina's consent history = %q, want %q", hist, want)
	}
	h, err := db.ConsentHistory(ctx, jo.ID)
	if err != nil || len(h) != 2 || h[0].Action != crm.ActionRequest || h[1].Source != crm.SourceListDeleted {
		t.Errorf("jo's history = %+v, %v", h, err)
	}
	// Odile had left before: no second event for the first list.
	h, err = db.ConsentHistory(ctx, odile.ID)
	if err != nil || len(h) != 4 || h[1].Action != crm.ActionUnsubscribe || h[1].Source != crm.SourceWeb ||
		h[3].Source != crm.SourceListDeleted || h[3].ListID == h[1].ListID {
		t.Errorf("odile's history = %+v, %v", h, err)
	}
	subs, err := db.Subscriptions(ctx, odile.ID)
	if err != nil || len(subs) != 2 || subs[0].List != "alertes" || subs[1].List != "alertes" || subs[0].ListID == subs[1].ListID {
		t.Errorf("odile's subscriptions = %+v, %v", subs, err)
	}
}

// An import resolves its list once and then writes in many transactions:
// the list may not be deleted under it.
func TestDeleteListRefusedDuringImport(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("email,first_name\n")
	for i := range 500 {
		fmt.Fprintf(&b, "p%d@example.org,P%d\n", i, i)
	}
	crm.SetImportCrash(func(batch int) bool { return batch == 1 })
	_, err := db.ImportSupporters(ctx, bytes.NewReader(b.Bytes()), crm.ImportOptions{FileName: "f.csv", List: "lettre",
		Consent: "Formulaire papier", BatchSize: 100})
	crm.SetImportCrash(nil)
	if err == nil {
		t.Fatal("the crashed import returned no error")
	}
	_, err = db.DeleteList(ctx, "lettre", crm.DeleteListOptions{EndSubscriptions: true})
	if !errors.Is(err, crm.ErrConflict) || !strings.Contains(err.Error(), "import 1 of f.csv into it has not finished") {
		t.Fatalf("delete during an import: %v", err)
	}
	if _, err := db.GetList(ctx, "lettre"); err != nil {
		t.Fatalf("the refused delete deleted: %v", err)
	}
	if _, err := db.RecoverImports(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteList(ctx, "lettre", crm.DeleteListOptions{}); err != nil {
		t.Fatalf("delete after the import was undone: %v", err)
	}
	// An import of a deleted list's name finds no list.
	if _, err := db.ImportSupporters(ctx, bytes.NewReader(b.Bytes()), crm.ImportOptions{FileName: "f.csv", List: "lettre",
		Consent: "Formulaire papier"}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("import into a deleted list: %v", err)
	}
}

// A transaction that found a list and writes for it (a signup) commits
// before a DeleteList decides: the deletion then sees the new subscriber.
// On PostgreSQL this is the row lock of Tx.GetList; on SQLite, the one
// writer at a time.
func TestDeleteListWaitsForWritersOfTheList(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	s := mustSupporter(t, db, &crm.Supporter{Email: "late@example.org"})
	found := make(chan struct{})
	deleted := make(chan error, 1)
	go func() {
		<-found
		_, err := db.DeleteList(ctx, "lettre", crm.DeleteListOptions{})
		deleted <- err
	}()
	err := db.RunInTx(ctx, func(tx *crm.Tx) error {
		if _, err := tx.GetList(ctx, "lettre"); err != nil {
			return err
		}
		close(found)
		time.Sleep(300 * time.Millisecond) // the deletion starts meanwhile
		_, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: crm.Consent{Source: crm.SourceWeb}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-deleted; !errors.Is(err, crm.ErrListHasSubscribers) {
		t.Errorf("the deletion did not see the subscriber who came in meanwhile: %v", err)
	}
	if subs, err := db.Subscriptions(ctx, s.ID); err != nil || len(subs) != 1 || subs[0].ListDeleted {
		t.Errorf("subscriptions = %+v, %v", subs, err)
	}
}
