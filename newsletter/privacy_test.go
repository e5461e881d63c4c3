package newsletter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"database/sql"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

// Export, forget, export again, then read the raw database files: the
// address must be nowhere, not in the WAL nor in free pages.
func TestExportForgetRawFiles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const email = "zenaida.quintero-forget@example.org"
	e.addAudience(t, 30, crm.List{Name: "lettre"})
	s := &crm.Supporter{Email: email, FirstName: "Zenaida", LastName: "Quintero", Phone: "0612345678",
		City: "Calais", Tags: []string{"hebergeuse"}, Attributes: map[string]string{"adresse": "12 rue des Lilas"},
		Interests: []crm.SupporterInterest{{Interest: "hebergement", Availability: "weekends"}}}
	if err := e.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: "web", Text: "oui", IP: "192.0.2.7", UserAgent: "Firefox"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddDonation(ctx, &crm.Donation{SupporterID: s.ID, Amount: 5000, Currency: "EUR",
		ReceivedAt: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Method: "card", Note: "de la part de Zenaida"}); err != nil {
		t.Fatal(err)
	}
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// Her address in a saved segment and in a draft campaign's segment.
	if _, err := e.db.SaveSegment(ctx, "zen", "email:Zenaida.Quintero-Forget@example.org OR (tag:presse AND email:p00001@example.org)"); err != nil {
		t.Fatal(err)
	}
	e.campaign(t, n, "avril", "lettre", `NOT email:"`+email+`" AND city:Calais`)

	x, err := n.Export(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(x)
	for _, want := range []string{email, "Zenaida", "12 rue des Lilas", "hebergement", "192.0.2.7", `"campaign":"mars"`, `"amount":5000`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export lacks %s:\n%s", want, b)
		}
	}

	if _, err := n.Forget(ctx, email); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Export(ctx, email); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("export after forget: %v", err)
	}
	if erased, _ := e.db.IsErased(ctx, email); !erased {
		t.Error("the address is not on the erased list")
	}
	ds, _ := e.db.ListDonations(ctx, crm.DonationFilter{})
	if len(ds) != 1 || ds[0].SupporterID != 0 || ds[0].Amount != 5000 || ds[0].Note != "" {
		t.Errorf("donations after forget: %+v", ds)
	}
	segs, _ := e.db.Segments(ctx)
	erased := crm.ErasedAddress(s.ID)
	if len(segs) != 1 || segs[0].Expression != "email:"+erased+" OR (tag:presse AND email:p00001@example.org)" {
		t.Errorf("saved segment after forget: %+v", segs)
	}
	avril, _ := n.Campaign(ctx, "avril")
	if avril.Segment != `NOT email:"`+erased+`" AND city:Calais` {
		t.Errorf("campaign segment after forget: %q", avril.Segment)
	}
	if k, err := e.db.CountSupporters(ctx, crm.SupporterFilter{Segment: "segment:zen"}); err != nil || k != 0 {
		t.Errorf("the saved segment after forget: %d, %v", k, err)
	}
	// The other supporters are untouched.
	if n, _ := e.db.CountSupporters(ctx, crm.SupporterFilter{List: ptr("lettre")}); n != 30 {
		t.Errorf("%d still subscribed, want 30", n)
	}
	e.db.Close()
	if crm.IsPostgresDSN(e.path) {
		return // PostgreSQL's files are the server's; the scan is for the SQLite file
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		raw, err := os.ReadFile(e.path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{email, "zenaida.quintero-forget", "Quintero", "12 rue des Lilas", "0612345678", "192.0.2.7"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%q is still in %s", secret, filepath.Base(e.path+suffix))
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestErasedAddressComesBackOnlyWithConsent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if err := e.db.CreateList(ctx, &crm.List{Name: "lettre", Public: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateSupporter(ctx, &crm.Supporter{Email: "gone@example.org"}); err != nil {
		t.Fatal(err)
	}
	n := e.newsletter(t)
	if _, err := n.Forget(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	rep, err := e.db.ImportSupporters(ctx, strings.NewReader("email\nGONE@example.org\nother@example.org\n"),
		crm.ImportOptions{List: "lettre", Consent: "old list"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 || rep.Rejected != 1 || !strings.Contains(rep.Rejections[0].Reason, "erased address") {
		t.Errorf("import of an erased address: %+v", rep)
	}
	// A web signup is fresh consent, but only once confirmed.
	res, err := n.Signup(ctx, newsletter.SignupRequest{Email: "gone@example.org", Lists: []string{"lettre"}, ConsentText: "oui"},
		e.sender(t), "Asso <news@asso.example.org>")
	if err != nil || len(res.Confirmation) != 1 || len(res.Subscribed) != 0 {
		t.Fatalf("signup of an erased address: %+v, %v", res, err)
	}
	link := linkRE.FindString(e.srv.Emails()[0].Text)
	token := link[strings.Index(link, "token=")+6:]
	if _, _, err := n.ConfirmToken(ctx, token, crm.Consent{}); err != nil {
		t.Fatal(err)
	}
	if erased, _ := e.db.IsErased(ctx, "gone@example.org"); erased {
		t.Error("confirming did not lift the erasure")
	}
}

// A backup taken while an import writes opens and passes the integrity
// check.
func TestBackupDuringImport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if crm.IsPostgresDSN(e.path) {
		t.Skip("crm backup is SQLite's VACUUM INTO; PostgreSQL is backed up with pg_dump")
	}
	var b strings.Builder
	b.WriteString("email,city\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "b%05d@example.org,Lille\n", i)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := e.db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{BatchSize: 500}); err != nil {
			t.Error(err)
		}
	}()
	backup := filepath.Join(t.TempDir(), "backup.db")
	time.Sleep(20 * time.Millisecond)
	if err := e.db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sqldb, err := sql.Open("sqlite", "file:"+backup)
	if err != nil {
		t.Fatal(err)
	}
	bdb := bun.NewDB(sqldb, sqlitedialect.New())
	defer bdb.Close()
	copyDB, err := crm.New(ctx, bdb)
	if err != nil {
		t.Fatal(err)
	}
	r, err := copyDB.Check(ctx)
	if err != nil || r.Integrity != "ok" {
		t.Fatalf("check of the backup: %+v, %v", r, err)
	}
	n, _ := copyDB.CountSupporters(ctx, crm.SupporterFilter{})
	if n != 0 && n != 20000 {
		t.Errorf("the backup holds %d supporters: a half import", n)
	}
	if err := e.db.Backup(ctx, backup); err == nil {
		t.Error("backup over an existing file succeeded")
	}
}

func TestPruneFindsExactlyTheInactive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db
	db.CreateList(ctx, &crm.List{Name: "lettre"})
	mk := func(email string) int64 {
		s := &crm.Supporter{Email: email}
		if err := db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	// Three years ago.
	old := mk("old@example.org")
	subscribed := mk("still-subscribed@example.org")
	db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: subscribed, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	leftLongAgo := mk("left-long-ago@example.org")
	db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: leftLongAgo, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	db.Unsubscribe(ctx, leftLongAgo, "", crm.Consent{Source: "cli"})
	donor := mk("donor@example.org")
	helper := mk("helper@example.org")
	e.clock.Advance(4 * 365 * 24 * time.Hour)
	// Recently.
	db.AddDonation(ctx, &crm.Donation{SupporterID: donor, Amount: 100, Currency: "EUR", ReceivedAt: e.clock.Now(), Method: "cash"})
	db.UpdateSupporter(ctx, helper, crm.SupporterUpdate{SetInterests: []crm.SupporterInterest{{Interest: "terrain"}}})
	mk("new@example.org")
	ss, err := db.InactiveSupporters(ctx, e.clock.Now().AddDate(-3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.Email)
	}
	if strings.Join(got, " ") != "old@example.org left-long-ago@example.org" {
		t.Errorf("inactive = %v", got)
	}
	_ = old
}

func TestAuditLogHasNoPersonalData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	c := crm.WithChannel(ctx, "cli:supporters add")
	s := &crm.Supporter{Email: "audit-me@example.org", FirstName: "Auditée"}
	if err := e.db.CreateSupporter(c, s); err != nil {
		t.Fatal(err)
	}
	e.db.UpdateSupporter(crm.WithChannel(ctx, "web:/preferences"), s.ID, crm.SupporterUpdate{City: ptr("Lille")})
	n := e.newsletter(t)
	n.Forget(crm.WithChannel(ctx, "cli:supporters forget"), "audit-me@example.org")
	entries, err := e.db.AuditLog(ctx, crm.AuditFilter{SupporterID: s.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		got = append(got, a.Channel+" "+a.Action)
		if strings.Contains(a.Details, "audit-me") || strings.Contains(a.Details, "Auditée") {
			t.Errorf("personal data in the audit log: %+v", a)
		}
	}
	want := "cli:supporters add create supporter|web:/preferences update supporter|cli:supporters forget forget"
	if strings.Join(got, "|") != want {
		t.Errorf("audit = %v", got)
	}
	if _, err := dbutil.DB(e.db).NewDelete().Table("audit_log").Where("1 = 1").Exec(ctx); err == nil {
		t.Error("the audit log accepted a DELETE")
	}
}
