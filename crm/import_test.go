package crm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/internal/dbutil"
)

func importFile(t *testing.T, db *crm.DB, name string, opts crm.ImportOptions) *crm.ImportReport {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts.FileName = name
	rep, err := db.ImportSupporters(context.Background(), f, opts)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return rep
}

type counts struct{ Rows, Created, Updated, Unchanged, Duplicates, Rejected int }

func countsOf(r *crm.ImportReport) counts {
	return counts{r.Rows, r.Created, r.Updated, r.Unchanged, r.Duplicates, r.Rejected}
}

func TestImportExcelWindows1252(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var rejected []crm.Rejection
	rep := importFile(t, db, "excel_fr_windows1252.csv", crm.ImportOptions{
		Tags: []string{"Import 2026"}, OnReject: func(r crm.Rejection) { rejected = append(rejected, r) }})
	if got, want := countsOf(rep), (counts{Rows: 5, Created: 3, Duplicates: 1, Rejected: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if rep.Encoding != "windows-1252" || rep.Delimiter != ";" || rep.Format != crm.FormatGeneric {
		t.Errorf("detected %s %q %s", rep.Encoding, rep.Delimiter, rep.Format)
	}
	wantRej := `line 6: Courriel "pas-une-adresse": invalid address`
	if len(rep.Rejections) != 1 || rep.Rejections[0].String() != wantRej {
		t.Errorf("rejections = %v\nwant %v", rep.Rejections, wantRej)
	}
	// An unknown interest is left out, and said; the person is imported.
	wantWarn := `line 8: Intérêts "astrologie": unknown interest: left out (create it with crm interests add, or import with --create-interests)`
	if rep.Warned != 1 || len(rep.Warnings) != 1 || rep.Warnings[0].String() != wantWarn {
		t.Errorf("warnings = %d %v\nwant %v", rep.Warned, rep.Warnings, wantWarn)
	}
	if h, err := db.GetSupporterByEmail(ctx, "hélène.dupont@example.org"); err != nil || len(h.Interests) != 0 || h.City != "Dunkerque" {
		t.Errorf("hélène = %+v, %v", h, err)
	}
	if len(rejected) != 1 || rejected[0].Record[1] != "Zoé" {
		t.Errorf("OnReject got %+v", rejected)
	}
	a, err := db.GetSupporterByEmail(ctx, "amina.kaci@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// The later duplicate row filled nothing that was set (Calais stays)
	// and added its interest.
	if a.FirstName != "Amina" || a.LastName != "Kaci" || a.City != "Calais" || a.Postcode != "62100" ||
		a.Phone != "06 12 34 56 78" || a.Attributes["Pointure"] != "38,5" || a.Source != "import:excel_fr_windows1252.csv" {
		t.Errorf("amina = %+v", a)
	}
	if want := []string{"bénévole", "import 2026"}; !reflect.DeepEqual(a.Tags, want) {
		t.Errorf("tags = %v, want %v", a.Tags, want)
	}
	var ins []string
	for _, in := range a.Interests {
		ins = append(ins, in.Interest)
	}
	if want := []string{"terrain", "traduction", "transport"}; !reflect.DeepEqual(ins, want) {
		t.Errorf("interests = %v, want %v", ins, want)
	}
	jo, _ := db.GetSupporterByEmail(ctx, "jo.peeters@example.org")
	if jo.City != "Liège" || !reflect.DeepEqual(jo.Tags, []string{"hébergeur", "import 2026", "presse"}) {
		t.Errorf("jo = %+v", jo)
	}

	// Importing the same file again changes nothing.
	rep = importFile(t, db, "excel_fr_windows1252.csv", crm.ImportOptions{Tags: []string{"Import 2026"}})
	if got, want := countsOf(rep), (counts{Rows: 5, Unchanged: 3, Duplicates: 1, Rejected: 1}); got != want {
		t.Errorf("re-import counts = %+v, want %+v", got, want)
	}
}

func TestImportMergeRules(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "amina.kaci@example.org", FirstName: "Aminata", City: "Lille",
		Tags: []string{"ancienne"}, Attributes: map[string]string{"Pointure": "39"}})
	in := "email;prénom;ville;téléphone;pointure;tags\namina.kaci@example.org;Amina;;0600;38;nouvelle\n"
	rep, err := db.ImportSupporters(ctx, strings.NewReader(in), crm.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Updated != 1 {
		t.Errorf("report %+v", countsOf(rep))
	}
	s, _ := db.GetSupporterByEmail(ctx, "amina.kaci@example.org")
	if s.FirstName != "Aminata" || s.City != "Lille" || s.Phone != "0600" || s.Attributes["Pointure"] != "39" ||
		!reflect.DeepEqual(s.Tags, []string{"ancienne", "nouvelle"}) {
		t.Errorf("without --overwrite: %+v", s)
	}
	if _, err := db.ImportSupporters(ctx, strings.NewReader(in), crm.ImportOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	s, _ = db.GetSupporterByEmail(ctx, "amina.kaci@example.org")
	if s.FirstName != "Amina" || s.City != "Lille" || s.Attributes["Pointure"] != "38" {
		t.Errorf("with --overwrite (empty city must not erase): %+v", s)
	}
}

func TestImportFormats(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		file   string
		format crm.ImportFormat
		counts counts
		check  func(t *testing.T, db *crm.DB)
	}{
		{"helloasso_export.csv", crm.FormatHelloAsso, counts{Rows: 4, Created: 3, Duplicates: 1}, func(t *testing.T, db *crm.DB) {
			s, _ := db.GetSupporterByEmail(ctx, "amina.kaci@example.org")
			if s.FirstName != "Amina" || s.LastName != "Kaci" || s.Phone != "0612345678" || s.Source != "helloasso" ||
				s.Attributes["Comment nous avez-vous connus ?"] != "Une distribution" || len(s.Attributes) != 1 {
				t.Errorf("helloasso payer = %+v", s)
			}
			p, _ := db.GetSupporterByEmail(ctx, "paul.durand@example.org")
			if p.Organisation != "Collectif Logement" {
				t.Errorf("organisation = %q", p.Organisation)
			}
		}},
		{"listmonk.csv", crm.FormatListmonk, counts{Rows: 2, Created: 2}, func(t *testing.T, db *crm.DB) {
			s, _ := db.GetSupporterByEmail(ctx, "user1@example.org")
			want := map[string]string{"age": "42", "planet": "Mars", "tags": `["a"]`}
			if s.FirstName != "User" || s.LastName != "One" || !reflect.DeepEqual(s.Attributes, want) {
				t.Errorf("listmonk = %+v", s)
			}
		}},
		{"utf16le_tabs.csv", crm.FormatGeneric, counts{Rows: 1, Created: 1}, func(t *testing.T, db *crm.DB) {
			s, _ := db.GetSupporterByEmail(ctx, "naima@example.org")
			if s.FirstName != "Naïma" || s.City != "Bruxelles" {
				t.Errorf("utf-16 = %+v", s)
			}
		}},
		{"cr_only.csv", crm.FormatGeneric, counts{Rows: 2, Created: 2}, func(t *testing.T, db *crm.DB) {
			s, _ := db.GetSupporterByEmail(ctx, "cr@example.org")
			if s.Notes != "first line\nsecond line" || s.City != "Lille" {
				t.Errorf("CR-only = %+v", s)
			}
		}},
		{"googleforms.csv", crm.FormatGoogleForms, counts{Rows: 2, Created: 2}, func(t *testing.T, db *crm.DB) {
			s, _ := db.GetSupporterByEmail(ctx, "gf1@example.org")
			if s.FirstName != "Bernadette" || s.LastName != "Melugin" || len(s.Interests) != 2 ||
				s.Attributes["Disponibilités"] != "le week-end" || s.Attributes["Timestamp"] != "" {
				t.Errorf("google forms = %+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			db := openTest(t)
			rep := importFile(t, db, tt.file, crm.ImportOptions{})
			if rep.Format != tt.format || countsOf(rep) != tt.counts {
				t.Errorf("format %s counts %+v; want %s %+v (rejections %v)", rep.Format, countsOf(rep), tt.format, tt.counts, rep.Rejections)
			}
			tt.check(t, db)
		})
	}
}

func TestImportMailchimpThreeFiles(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	opts := crm.ImportOptions{List: "lettre", Consent: "Inscrits à la lettre via Mailchimp"}
	rep := importFile(t, db, "mailchimp_subscribed.csv", opts)
	if rep.Format != crm.FormatMailchimp || rep.Created != 3 || rep.Subscribed != 3 {
		t.Errorf("subscribed file: %+v", rep)
	}
	s1, _ := db.GetSupporterByEmail(ctx, "s1@example.com")
	if s1.FirstName != "Dolor" || s1.Country != "FR" || !reflect.DeepEqual(s1.Tags, []string{"bénévoles", "lorem editors"}) {
		t.Errorf("s1 = %+v", s1)
	}
	rep = importFile(t, db, "mailchimp_unsubscribed.csv", opts)
	if rep.Unsubscribed != 1 || rep.Subscribed != 0 || rep.Unchanged != 1 {
		t.Errorf("unsubscribed file: %+v", rep)
	}
	rep = importFile(t, db, "mailchimp_cleaned.csv", opts)
	if rep.Bounced != 2 || rep.Subscribed != 0 || rep.Created != 1 {
		t.Errorf("cleaned file: %+v", rep)
	}
	// Importing the subscribed file again resubscribes nobody who left or bounced.
	rep = importFile(t, db, "mailchimp_subscribed.csv", opts)
	if rep.Subscribed != 0 || rep.AlreadySubscribed != 1 || rep.NotResubscribed != 2 {
		t.Errorf("second subscribed import: subscribed %d already %d not-resubscribed %d",
			rep.Subscribed, rep.AlreadySubscribed, rep.NotResubscribed)
	}
	for email, want := range map[string]string{"s1@example.com": "subscribed", "gone@example.com": "unsubscribed", "s2@example.com": "subscribed"} {
		p, _ := db.GetProfile(ctx, email)
		if len(p.Subscriptions) != 1 || string(p.Subscriptions[0].Status) != want {
			t.Errorf("%s subscriptions = %+v, want %s", email, p.Subscriptions, want)
		}
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 4 {
		t.Errorf("%d supporters, want 4", n)
	}
	s2, _ := db.GetSupporterByEmail(ctx, "s2@example.com")
	b, _ := db.GetSupporterByEmail(ctx, "bounce@example.com")
	if s2.EmailStatus != crm.EmailBounced || b.EmailStatus != crm.EmailBounced {
		t.Errorf("statuses %s %s", s2.EmailStatus, b.EmailStatus)
	}
	hist, _ := db.ConsentHistory(ctx, s1.ID)
	if len(hist) != 1 || hist[0].Source != "import:mailchimp_subscribed.csv" || hist[0].ConsentText != opts.Consent {
		t.Errorf("consent history = %+v", hist)
	}
}

func TestImportFatalErrorsLeaveDatabaseUnchanged(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "keep@example.org"})
	tests := []struct {
		name string
		in   string
		opts crm.ImportOptions
		want string
	}{
		{"no email column", "nom,ville\nA,B\n", crm.ImportOptions{}, "no email column"},
		{"empty file", "", crm.ImportOptions{}, "no header"},
		{"list without consent", "email\na@example.org\n", crm.ImportOptions{List: "x"}, "consent"},
		{"unknown list", "email\na@example.org\n", crm.ImportOptions{List: "x", Consent: "ok"}, "not found"},
		{"bad map", "email\na@example.org\n", crm.ImportOptions{Map: map[string]string{"Courriel": "email"}}, "no such column"},
		{"bad map field", "email,x\na@example.org,1\n", crm.ImportOptions{Map: map[string]string{"x": "shoe_size"}}, "unknown field"},
		{"bad format", "email\na@example.org\n", crm.ImportOptions{Format: "excel"}, "format"},
		{"bad tag", "email\na@example.org\n", crm.ImportOptions{Tags: []string{"a;b"}}, "tag"},
		{"cancelled", "email\na@example.org\n", crm.ImportOptions{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx
			if tt.name == "cancelled" {
				var cancel context.CancelFunc
				c, cancel = context.WithCancel(ctx)
				cancel()
			}
			rep, err := db.ImportSupporters(c, strings.NewReader(tt.in), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q (report %+v)", err, tt.want, rep)
			}
			if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 1 {
				t.Errorf("%d supporters after a failed import", n)
			}
		})
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	rep := importFile(t, db, "excel_fr_windows1252.csv", crm.ImportOptions{DryRun: true, List: "lettre", Consent: "oui"})
	if !rep.DryRun || rep.Created != 3 || rep.Subscribed != 3 {
		t.Errorf("dry-run report = %+v", countsOf(rep))
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 0 {
		t.Errorf("dry run left %d supporters", n)
	}
}

// Batches much smaller than the file: duplicates across batches merge and
// are counted once.
func TestImportAcrossBatches(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	mustSupporter(t, db, &crm.Supporter{Email: "old@example.org"})
	var b strings.Builder
	b.WriteString("email,tags\n")
	for i := 0; i < 50; i++ {
		b.WriteString("p" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.org,t1\n")
	}
	b.WriteString("old@example.org,t2\npaa@example.org,t3\nold@example.org,t4\n")
	rep, err := db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(rep), (counts{Rows: 53, Created: 50, Updated: 1, Duplicates: 2}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	s, _ := db.GetSupporterByEmail(ctx, "paa@example.org")
	o, _ := db.GetSupporterByEmail(ctx, "old@example.org")
	if !reflect.DeepEqual(s.Tags, []string{"t1", "t3"}) || !reflect.DeepEqual(o.Tags, []string{"t2", "t4"}) {
		t.Errorf("tags %v %v", s.Tags, o.Tags)
	}
}

// A status column is honoured row by row: nobody marked as gone is
// subscribed.
func TestImportStatusColumn(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	in := "email,status\nin@example.org,Subscribed\nout@example.org,Désabonné\nbad@example.org,cleaned\nodd@example.org,premium\n"
	rep, err := db.ImportSupporters(ctx, strings.NewReader(in), crm.ImportOptions{List: "lettre", Consent: "export beehiiv"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 4 || rep.Subscribed != 2 || rep.Unsubscribed != 1 || rep.Bounced != 1 {
		t.Errorf("report = %+v", rep)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{List: ptr("lettre")}); n != 2 {
		t.Errorf("%d subscribed, want 2", n)
	}
	odd, _ := db.GetSupporterByEmail(ctx, "odd@example.org")
	if odd.Attributes["status"] != "premium" {
		t.Errorf("unknown status not kept: %+v", odd.Attributes)
	}
}

// An import enlarges SQLite's page cache and turns off its foreign key
// checks for its own connection only: the connection goes back to the
// pool as it was, after a good import as after a failed one.
func TestImportRestoresItsConnection(t *testing.T) {
	db := openTest(t)
	if dbutil.DB(db).Dialect().Name().String() != "sqlite" {
		t.Skip("SQLite only")
	}
	ctx := context.Background()
	dbutil.DB(db).SetMaxOpenConns(1) // so the checks below see the import's connection
	pragma := func(name string) int {
		var n int
		if err := dbutil.DB(db).NewRaw("PRAGMA "+name).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	size := pragma("cache_size")
	check := func(after string) {
		t.Helper()
		if got := pragma("cache_size"); got != size {
			t.Errorf("cache size after %s: %d, want %d", after, got, size)
		}
		if got := pragma("foreign_keys"); got != 1 {
			t.Errorf("foreign_keys after %s: %d, want 1", after, got)
		}
	}
	importFile(t, db, "excel_fr_windows1252.csv", crm.ImportOptions{})
	check("an import")
	if _, err := db.ImportSupporters(ctx, strings.NewReader("email\na@example.org\n"), crm.ImportOptions{List: "nope", Consent: "x"}); err == nil {
		t.Fatal("import to a missing list: no error")
	}
	check("an import refused")
	var broken strings.Builder
	broken.WriteString("email,first_name\n")
	for i := range 3000 {
		fmt.Fprintf(&broken, "r%d@example.org,R\n", i)
	}
	broken.WriteString("\"late@example.org,Ann\n")
	if _, err := db.ImportSupporters(ctx, strings.NewReader(broken.String()), crm.ImportOptions{BatchSize: 500}); err == nil {
		t.Fatal("import of a file with an unterminated quote: no error")
	}
	check("an import that failed after writing batches")
}

// On SQLite an import numbers the supporters it creates itself: the ids
// follow those used before and the database goes on after them.
func TestImportNumbersNewSupporters(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	first := &crm.Supporter{Email: "first@example.org"}
	if err := db.CreateSupporter(ctx, first); err != nil {
		t.Fatal(err)
	}
	rep, err := db.ImportSupporters(ctx, strings.NewReader("email\na@example.org\nb@example.org\nfirst@example.org\nc@example.org\n"), crm.ImportOptions{})
	if err != nil || rep.Created != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	last := &crm.Supporter{Email: "last@example.org"}
	if err := db.CreateSupporter(ctx, last); err != nil {
		t.Fatal(err)
	}
	ids := []int64{first.ID}
	for _, e := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		s, err := db.GetSupporterByEmail(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	ids = append(ids, last.ID)
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids %v: want consecutive, in file order", ids)
		}
	}
}

// TestImportBrokenFile: a quote never closed fails the import, naming the
// line where it opened, after batches were written, and leaves nothing;
// with UntilError the rows before it go in. Two columns feeding one field
// fail naming both.
func TestImportBrokenFile(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := range 500 {
		if i == 450 {
			b.WriteString("broken@example.org,\"Ann\n")
		}
		fmt.Fprintf(&b, "p%d@example.org,P\n", i)
	}
	_, err := db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{BatchSize: 100})
	var uq *sheet.UnterminatedQuoteError
	if !errors.As(err, &uq) || uq.Line != 452 {
		t.Fatalf("error = %v, want an unterminated quote at line 452", err)
	}
	if n, _ := db.CountSupporters(ctx, crm.SupporterFilter{}); n != 0 {
		t.Errorf("%d supporters written by the failed import", n)
	}
	rep, err := db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{BatchSize: 100, UntilError: true})
	if err != nil || rep.Created != 450 || !strings.Contains(rep.StoppedAt, "line 452") {
		t.Errorf("UntilError: %+v, %v", rep, err)
	}
	_, err = db.ImportSupporters(ctx, strings.NewReader("E-mail,Prénom,email\na@example.org,A,b@example.org\n"), crm.ImportOptions{})
	if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), `columns 1 "E-mail" and 3 "email" both map to email`) {
		t.Errorf("two email columns: %v", err)
	}
}
