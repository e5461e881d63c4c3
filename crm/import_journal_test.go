package crm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// gatedReader reads r, then waits for open to be closed before reading
// rest: the import cannot end before the test says so.
type gatedReader struct {
	r, rest io.Reader
	open    chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if errors.Is(err, io.EOF) {
		<-g.open
		g.r = g.rest
		if n == 0 {
			return g.r.Read(p)
		}
		err = nil
	}
	return n, err
}

// waitForImport waits until the import has committed supporters beyond
// the given count.
func waitForImport(t *testing.T, db *crm.DB, than int, importErr <-chan error) {
	t.Helper()
	for {
		n, err := db.CountSupporters(context.Background(), crm.SupporterFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if n > than {
			return
		}
		select {
		case err := <-importErr:
			t.Fatalf("import ended before writing anything: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestImportLetsOthersWrite runs an import of a big file and, while it
// writes, a signup, an unsubscribe, a preference change and a webhook's
// bounce, as the web handlers do them: each is recorded within 2 seconds
// (reported only under the race detector, which slows everything down)
// and none fails. Before the journal, the import held the SQLite write
// lock for its whole length and each of them failed after the 5 s busy
// timeout.
func TestImportLetsOthersWrite(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for _, l := range []string{"lettre", "alertes"} {
		if err := db.CreateList(ctx, &crm.List{Name: l}); err != nil {
			t.Fatal(err)
		}
	}
	web := crm.Consent{Source: crm.SourceWeb, Text: "J'accepte"}
	leaver := mustSupporter(t, db, &crm.Supporter{Email: "leaver@example.net"})
	changer := mustSupporter(t, db, &crm.Supporter{Email: "changer@example.net"})
	bouncer := mustSupporter(t, db, &crm.Supporter{Email: "bouncer@example.net"})
	for _, id := range []int64{leaver.ID, changer.ID, bouncer.ID} {
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: id, List: "lettre", Consent: web}); err != nil {
			t.Fatal(err)
		}
	}

	var file bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&file, 10000, 7); err != nil {
		t.Fatal(err)
	}
	data := file.Bytes()
	cut := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	gate := &gatedReader{r: bytes.NewReader(data[:cut]), rest: bytes.NewReader(data[cut:]), open: make(chan struct{})}
	importErr := make(chan error, 1)
	var rep *crm.ImportReport
	go func() {
		var err error
		rep, err = db.ImportSupporters(ctx, gate, crm.ImportOptions{FileName: "big.csv", List: "lettre", Consent: "paper forms"})
		importErr <- err
	}()
	waitForImport(t, db, 3, importErr)

	ops := []struct {
		name string
		do   func() error
	}{
		{"signup", func() error {
			s := &crm.Supporter{Email: "new.signup@example.net"}
			if err := db.CreateSupporter(ctx, s); err != nil {
				return err
			}
			_, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: web})
			return err
		}},
		{"one-click unsubscribe", func() error {
			_, err := db.Unsubscribe(ctx, leaver.ID, "lettre", crm.Consent{Source: crm.SourceWeb})
			return err
		}},
		{"preference change", func() error {
			lang := "en"
			if _, err := db.UpdateSupporter(ctx, changer.ID, crm.SupporterUpdate{Language: &lang}); err != nil {
				return err
			}
			_, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: changer.ID, List: "alertes", Consent: web, Confirmed: true})
			return err
		}},
		{"webhook bounce", func() error {
			_, err := db.SetEmailStatus(ctx, bouncer.ID, crm.EmailBounced, crm.Consent{Source: crm.SourceWebhook})
			return err
		}},
	}
	// Then edits, one every 50 ms, so that many of them find a batch
	// holding the lock.
	for i := range 30 {
		city := fmt.Sprintf("Calais %d", i)
		ops = append(ops, struct {
			name string
			do   func() error
		}{"edit " + city, func() error {
			_, err := db.UpdateSupporter(ctx, changer.ID, crm.SupporterUpdate{City: &city})
			time.Sleep(50 * time.Millisecond)
			return err
		}})
	}
	var slowest time.Duration
	for _, op := range ops {
		start := time.Now()
		err := op.do()
		took := time.Since(start)
		slowest = max(slowest, took)
		if err != nil {
			t.Errorf("%s during the import: %v", op.name, err)
		}
		if took > 2*time.Second && !raceDetector {
			t.Errorf("%s during the import took %s, want under 2 s", op.name, took)
		}
	}
	t.Logf("slowest write during the import: %s", slowest.Round(time.Millisecond))
	select {
	case err := <-importErr:
		t.Fatalf("the import ended before the last row was let through: %v", err)
	default:
	}
	close(gate.open)
	if err := <-importErr; err != nil {
		t.Fatal(err)
	}
	if rep.Created != 10000 {
		t.Errorf("created %d, want 10000", rep.Created)
	}
	subs, err := db.Subscriptions(ctx, leaver.ID)
	if err != nil || len(subs) != 1 || subs[0].Status != crm.StatusUnsubscribed {
		t.Errorf("leaver's subscriptions = %+v, %v", subs, err)
	}
	if c, err := db.GetSupporter(ctx, changer.ID); err != nil || c.Language != "en" {
		t.Errorf("changer = %+v, %v", c, err)
	}
	if b, err := db.GetSupporter(ctx, bouncer.ID); err != nil || b.EmailStatus != crm.EmailBounced {
		t.Errorf("bouncer = %+v, %v", b, err)
	}
	if _, err := db.GetSupporterByEmail(ctx, "new.signup@example.net"); err != nil {
		t.Errorf("signup: %v", err)
	}
}

// supporterState is what a test compares of one supporter before and
// after an import that is undone.
type supporterState struct {
	S       *crm.Supporter
	Subs    []crm.Subscription
	Consent []crm.ConsentEvent
}

func stateOf(t *testing.T, db *crm.DB, email string) supporterState {
	t.Helper()
	ctx := context.Background()
	s, err := db.GetSupporterByEmail(ctx, email)
	if err != nil {
		t.Fatalf("%s: %v", email, err)
	}
	subs, err := db.Subscriptions(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := db.ConsentHistory(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return supporterState{s, subs, ce}
}

// importWorld prepares a database with a list and one known supporter
// that the test file changes, and returns the file: the known supporter
// on its first line, then rows new supporters.
func importWorld(t *testing.T, db *crm.DB, rows int) []byte {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	s := mustSupporter(t, db, &crm.Supporter{Email: "amina@example.net", FirstName: "Amina", City: "Calais",
		Tags: []string{"ancienne"}, Attributes: map[string]string{"pointure": "38"}})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI, Text: "paper"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Unsubscribe(ctx, s.ID, "lettre", crm.Consent{Source: crm.SourceWeb}); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&file, rows, 3); err != nil {
		t.Fatal(err)
	}
	header, rest, _ := strings.Cut(file.String(), "\n")
	return []byte(header + "\namina@example.net,Amina,Kaci,06 00 00 00 00,Lille,59000,en,nouvelle;presse,terrain\n" + rest)
}

// TestImportFailureUndone cancels an import after several batches were
// committed: the import is undone, the known supporter is exactly as
// before (row, tags, attributes, interests, subscription, consent
// history), no created supporter remains, except the one someone else
// unsubscribed meanwhile, whose change is not lost.
func TestImportFailureUndone(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)() // a commit per batch
	data := importWorld(t, db, 3000)
	before := stateOf(t, db, "amina@example.net")

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gate := &gatedReader{r: bytes.NewReader(data[:len(data)/2]), rest: bytes.NewReader(data[len(data)/2:]),
		open: make(chan struct{})}
	importErr := make(chan error, 1)
	go func() {
		_, err := db.ImportSupporters(cctx, gate, crm.ImportOptions{FileName: "half.csv", List: "lettre",
			Consent: "forms", Overwrite: true, BatchSize: 200})
		importErr <- err
	}()
	waitForImport(t, db, 1, importErr)
	// Someone the import created unsubscribes while it runs.
	first, err := db.GetSupporterByEmail(ctx, "awa.diallo.0@mail.example.net") // the generator's first row
	if err != nil {
		t.Fatalf("first created supporter: %v", err)
	}
	if _, err := db.Unsubscribe(ctx, first.ID, "lettre", crm.Consent{Source: crm.SourceWeb}); err != nil {
		t.Fatal(err)
	}
	cancel()
	close(gate.open)
	if err := <-importErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("import error = %v, want context.Canceled", err)
	}

	if after := stateOf(t, db, "amina@example.net"); !reflect.DeepEqual(after, before) {
		t.Errorf("after the undo:\n%+v\nwant\n%+v", after, before)
	}
	if n, err := db.CountSupporters(ctx, crm.SupporterFilter{}); err != nil || n != 2 {
		t.Errorf("%d supporters after the undo (%v), want amina and the one who unsubscribed meanwhile", n, err)
	}
	kept := stateOf(t, db, first.Email)
	if len(kept.Subs) != 1 || kept.Subs[0].Status != crm.StatusUnsubscribed || len(kept.Consent) != 2 ||
		kept.Consent[0].Action != crm.ActionSubscribe || kept.Consent[1].Action != crm.ActionUnsubscribe {
		t.Errorf("supporter unsubscribed during the import: %+v", kept)
	}
	if u, err := db.UnfinishedImports(ctx); err != nil || len(u) != 0 {
		t.Errorf("unfinished imports = %v, %v", u, err)
	}
	log, err := db.AuditLog(ctx, crm.AuditFilter{})
	if err != nil || log[len(log)-1].Action != "import undone" || !strings.Contains(log[len(log)-1].Details, "1 supporter(s)") {
		t.Errorf("audit log ends with %+v (%v)", log[len(log)-1], err)
	}
}

// TestImportCrashRecovered stops an import as a killed process would,
// after two committed batches: the commands see it unfinished, and
// running the import again undoes the half and imports the whole file,
// with one consent event per person.
func TestImportCrashRecovered(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)() // a commit per batch
	data := importWorld(t, db, 1000)
	opts := crm.ImportOptions{FileName: "crash.csv", List: "lettre", Consent: "forms", Overwrite: true, BatchSize: 200}

	crm.SetImportCrash(func(batch int) bool { return batch == 2 })
	_, err := db.ImportSupporters(ctx, bytes.NewReader(data), opts)
	crm.SetImportCrash(nil)
	if err == nil {
		t.Fatal("the crashed import returned no error")
	}
	u, err := db.UnfinishedImports(ctx)
	if err != nil || len(u) != 1 || u[0].Status != "running" || u[0].Alive || u[0].File != "crash.csv" {
		t.Fatalf("unfinished imports after the crash = %+v, %v", u, err)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n <= 1 || n >= 1001 {
		t.Fatalf("%d supporters after the crash: want a half import to recover", n)
	}

	rep, err := db.ImportSupporters(ctx, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1000 || rep.Updated != 1 || rep.Subscribed != 1000 || rep.NotResubscribed != 1 {
		t.Errorf("second run: %+v", rep)
	}
	if u, err := db.UnfinishedImports(ctx); err != nil || len(u) != 0 {
		t.Errorf("unfinished imports = %v, %v", u, err)
	}
	a := stateOf(t, db, "amina@example.net")
	if a.S.LastName != "Kaci" || a.S.City != "Lille" || len(a.Consent) != 2 || a.Subs[0].Status != crm.StatusUnsubscribed {
		t.Errorf("amina = %+v", a)
	}
	ids, _, err := db.ListSupporters(ctx, crm.SupporterFilter{Segment: "tag:presse"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ids[:min(len(ids), 50)] {
		if ce, _ := db.ConsentHistory(ctx, s.ID); s.Email != "amina@example.net" && len(ce) != 1 {
			t.Errorf("supporter %d has %d consent events, want 1", s.ID, len(ce))
		}
	}
}

// TestAuditLogShowsImports: the audit log of a supporter lists the
// imports that created or changed them, and not those that left them
// alone or were undone.
func TestAuditLogShowsImports(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	known := mustSupporter(t, db, &crm.Supporter{Email: "known@example.net", FirstName: "Jo"})
	other := mustSupporter(t, db, &crm.Supporter{Email: "other@example.net", FirstName: "Lea", City: "Lille"})
	imp := func(name, csv string) {
		t.Helper()
		if _, err := db.ImportSupporters(crm.WithChannel(ctx, crm.ImportSource(name)), strings.NewReader(csv),
			crm.ImportOptions{FileName: name}); err != nil {
			t.Fatal(err)
		}
	}
	imp("a.csv", "email,city\nknown@example.net,Calais\nnew@example.net,Arras\nother@example.net,\n")
	imp("b.csv", "email,city\nknown@example.net,Calais\n") // changes nothing
	newID, err := db.SupporterID(ctx, "new@example.net")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   int64
		want []string
	}{
		{known.ID, []string{"create supporter", "import supporters a.csv"}},
		{newID, []string{"import supporters a.csv"}},
		{other.ID, []string{"create supporter"}},
	} {
		log, err := db.AuditLog(ctx, crm.AuditFilter{SupporterID: c.id})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			if e.SupporterID != c.id {
				t.Errorf("entry %+v in the log of %d", e, c.id)
			}
			if strings.HasPrefix(e.Action, "import") {
				file, _, _ := strings.Cut(e.Details, ":")
				got = append(got, e.Action+" "+file)
			} else {
				got = append(got, e.Action)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("audit of supporter %d = %q, want %q", c.id, got, c.want)
		}
	}
}

// Erasing someone while an import that changed them is unfinished leaves
// nothing of them in its journal, and undoing the import does not bring
// their old row back.
func TestForgetDuringAnUnfinishedImport(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)()
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	odile := mustSupporter(t, db, &crm.Supporter{Email: "odile@example.org", FirstName: "Odile", LastName: "Varenne"})
	var b bytes.Buffer
	b.WriteString("email,first_name,city\nodile@example.org,Odile,Lambersart\n")
	for i := range 999 {
		fmt.Fprintf(&b, "p%d@example.org,P%d,Lille\n", i, i)
	}
	crm.SetImportCrash(func(batch int) bool { return batch == 1 })
	_, err := db.ImportSupporters(ctx, bytes.NewReader(b.Bytes()), crm.ImportOptions{FileName: "f.csv", List: "lettre",
		Consent: "Formulaire papier", BatchSize: 200})
	crm.SetImportCrash(nil)
	if err == nil {
		t.Fatal("the crashed import returned no error")
	}
	if err := db.Forget(ctx, "odile@example.org"); err != nil {
		t.Fatal(err)
	}
	if n, err := dbutil.DB(db).NewSelect().Table("import_undo").Where("supporter_id = ?", odile.ID).Count(ctx); err != nil || n != 0 {
		t.Errorf("%d undo rows of the erased person left, %v", n, err)
	}
	if n, err := dbutil.DB(db).NewSelect().Table("import_consent_events").Where("supporter_id = ?", odile.ID).
		Where("consent_text <> ''").Count(ctx); err != nil || n != 0 {
		t.Errorf("%d waiting consent texts of the erased person left, %v", n, err)
	}
	if _, err := db.RecoverImports(ctx, false); err != nil {
		t.Fatal(err)
	}
	s, err := db.GetSupporter(ctx, odile.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.ErasedAt.IsZero() || s.LastName != "" || s.FirstName != "" || s.Email != crm.ErasedAddress(odile.ID) {
		t.Errorf("after the undo the erased row is %+v", s)
	}
}

// Nobody an unfinished import wrote is mailable until it is finished: a
// campaign sent meanwhile would mail people whose rows and consent the
// import may still undo.
func TestUnfinishedImportIsNotMailable(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	defer crm.SetImportPacing(0, time.Millisecond)()
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	before := mustSupporter(t, db, &crm.Supporter{Email: "before@example.org"})
	if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: before.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("email\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "p%d@example.org\n", i)
	}
	opts := crm.ImportOptions{FileName: "f.csv", List: "lettre", Consent: "forms", BatchSize: 200}
	crm.SetImportCrash(func(batch int) bool { return batch == 2 })
	_, err := db.ImportSupporters(ctx, bytes.NewReader(b.Bytes()), opts)
	crm.SetImportCrash(nil)
	if err == nil {
		t.Fatal("the crashed import returned no error")
	}
	list := "lettre"
	all, _ := db.CountSupporters(ctx, crm.SupporterFilter{List: &list})
	mailable, err := db.CountSupporters(ctx, crm.SupporterFilter{List: &list, Mailable: true})
	if err != nil || all <= 1 || mailable != 1 {
		t.Errorf("after the crash: %d subscribed, %d mailable (%v), want only the one subscribed before", all, mailable, err)
	}
	if _, err := db.ImportSupporters(ctx, bytes.NewReader(b.Bytes()), opts); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{List: &list, Mailable: true}); n != 1001 {
		t.Errorf("after the import finished: %d mailable", n)
	}
}
