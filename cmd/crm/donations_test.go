package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// A mistyped gift is corrected and deleted from the command line, by the
// id that donations list shows; a gift on a live tax receipt is refused
// with the library's message, naming the receipt; delete asks for --yes
// when nobody is at a terminal.
func TestDonationsEditDelete(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org")
	mustRun(t, db, "supporters", "add", "--email", "jo@example.org")
	// --method is optional: "other".
	if out := mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "25,50", "--date", "2026-02-01"); !strings.Contains(out, "recorded donation 1") {
		t.Fatalf("add printed %q", out)
	}
	mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "5", "--date", "2026-02-02", "--method", "cash")
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.HasPrefix(got, "id,email,date,amount,currency,method,fund,recurring,ref\n"+
		"1,amina@example.org,2026-02-01,25.50,EUR,other,,false,\n2,") {
		t.Errorf("list:\n%s", got)
	}

	out := mustRun(t, db, "donations", "edit", "1", "--amount", "30", "--date", "03/02/2026", "--method", "cheque",
		"--fund", "hiver", "--email", "jo@example.org", "--note", "chèque n°123")
	if want := "updated donation 1: 30.00 EUR on 2026-02-03 by cheque from jo@example.org, fund hiver\n"; out != want {
		t.Errorf("edit printed %q, want %q", out, want)
	}
	// A new currency: the amount is read in it (no cents in yen).
	mustRun(t, db, "donations", "edit", "2", "--amount", "700", "--currency", "jpy")
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.Contains(got, "\n1,jo@example.org,2026-02-03,30.00,EUR,cheque,hiver,false,\n") ||
		!strings.Contains(got, "\n2,amina@example.org,2026-02-02,700,JPY,cash,,false,\n") {
		t.Errorf("list after the edits:\n%s", got)
	}
	if code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--date", "2099-01-01"); code != 1 || !strings.Contains(errOut, `--date "2099-01-01": in the future`) {
		t.Errorf("a date in the future: exit %d, %s", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--amount", "0"); code != 1 || !strings.Contains(errOut, `--amount "0"`) {
		t.Errorf("amount 0: exit %d, %s", code, errOut)
	}

	// On a live receipt: what the receipt states is frozen, with the
	// library's message as is (no trailing ": conflict"); the fund and
	// the note are not on the receipt, and may change.
	putOnReceipt(t, db, 1)
	code, _, errOut := crmRun(t, db, "donations", "edit", "1", "--amount", "31", "--fund", "")
	if want := "crm: donation 1 is on tax receipt 2026-0001, which states its amount: cancel the receipt first " +
		"(crm receipts cancel 2026-0001 --reason ...), or change only what a receipt does not state (fund, note)\n"; code != 1 || errOut != want {
		t.Errorf("edit of a receipted gift: exit %d, %q; want %q", code, errOut, want)
	}
	if out := mustRun(t, db, "donations", "edit", "1", "--fund", "", "--note", "remis en main propre"); !strings.Contains(out, "updated donation 1") {
		t.Errorf("fund and note of a receipted gift: %q", out)
	}
	// French method names; the audit says what changed, the note only as changed.
	mustRun(t, db, "donations", "edit", "2", "--method", "Chèque")
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.Contains(got, "\n2,amina@example.org,2026-02-02,700,JPY,cheque,") {
		t.Errorf("--method Chèque:\n%s", got)
	}
	mustRun(t, db, "donations", "edit", "2", "--method", "espèces")
	if log := mustRun(t, db, "audit", "--supporter", "jo@example.org"); !strings.Contains(log, `fund: "hiver" → ""; note changed`) ||
		strings.Contains(log, "remis en main propre") || !strings.Contains(log, "amount: 25.50 EUR → 30.00 EUR") {
		t.Errorf("jo's audit:\n%s", log)
	}
	if code, _, errOut := crmRun(t, db, "donations", "edit", "99", "--fund", "x"); code != 1 || errOut != "crm: no donation 99 (crm donations list shows the ids)\n" {
		t.Errorf("unknown donation: exit %d, %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "donations", "add", "--email", "nobody@example.org", "--amount", "5"); code != 1 ||
		strings.HasSuffix(strings.TrimSpace(errOut), "not found") || !strings.Contains(errOut, `no supporter with email "nobody@example.org"`) {
		t.Errorf("unknown donor: exit %d, %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "donations", "delete", "1", "--yes"); code != 1 || !strings.Contains(errOut, "on tax receipt 2026-0001") {
		t.Errorf("delete of a receipted gift: exit %d, %s", code, errOut)
	}

	// Nobody at a terminal to answer: --yes is needed, and nothing changes.
	code, _, errOut = crmRun(t, db, "donations", "delete", "2")
	if code != 2 || !strings.Contains(errOut, "add --yes to delete donation 2 (700 JPY on 2026-02-02 by cash from amina@example.org)") {
		t.Errorf("delete without --yes: exit %d, %s", code, errOut)
	}
	if out := mustRun(t, db, "donations", "delete", "2", "--yes"); !strings.HasPrefix(out, "deleted donation 2 (") {
		t.Errorf("delete printed %q", out)
	}
	if got := mustRun(t, db, "donations", "list", "--format", "csv"); strings.Count(got, "\n") != 2 {
		t.Errorf("after the deletion:\n%s", got)
	}
	for email, want := range map[string][]string{"amina@example.org": {"edit donation", "delete donation"},
		"jo@example.org": {"edit donation"}} {
		log := mustRun(t, db, "audit", "--supporter", email)
		for _, w := range want {
			if !strings.Contains(log, w) {
				t.Errorf("%s's audit lacks %q:\n%s", email, w, log)
			}
		}
	}
}

// putOnReceipt puts donation id on a live tax receipt, as crm receipts issue
// would.
func putOnReceipt(t *testing.T, dsn string, donation int64) {
	t.Helper()
	ctx := context.Background()
	db, err := crm.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bdb := dbutil.DB(db)
	var rid int64
	if err := bdb.NewRaw(`INSERT INTO receipts (number, year, seq, supporter_id, country, annual, amount, currency,
		donor_name, donor_address, donor_postcode, donor_city, issuer, status, issued_at)
		SELECT '2026-0001', 2026, 1, supporter_id, 'FR', TRUE, amount, currency, 'Jo', '1 rue', '59000', 'Lille', '{}', 'issued', ?
		FROM donations WHERE id = ? RETURNING id`, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), donation).Scan(ctx, &rid); err != nil {
		t.Fatal(err)
	}
	if _, err := bdb.NewRaw("INSERT INTO receipt_donations (receipt_id, donation_id) VALUES (?, ?)", rid, donation).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// donations report --by donor and --retention, in CSV, Excel CSV and
// xlsx with typed cells; --chart draws the general assembly's picture.
func TestDonationsReports(t *testing.T) {
	db := crmtest.Database(t)
	for _, email := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org"} {
		mustRun(t, db, "supporters", "add", "--email", email)
	}
	mustRun(t, db, "supporters", "edit", "a@example.org", "--first-name", "Amina", "--last-name", "Kaci")
	for _, g := range [][]string{
		{"a@example.org", "100", "2024-06-10"}, {"a@example.org", "50", "2025-02-01"},
		{"b@example.org", "30", "2025-05-01", "hiver"},
		{"c@example.org", "10", "2023-01-01"}, {"c@example.org", "10", "2025-07-01"},
		{"d@example.org", "40", "2024-12-31"},
	} {
		args := []string{"donations", "add", "--email", g[0], "--amount", g[1], "--date", g[2]}
		if len(g) > 3 {
			args = append(args, "--fund", g[3])
		}
		mustRun(t, db, args...)
	}

	got := mustRun(t, db, "donations", "report", "--by", "donor", "--year", "2025", "--format", "csv")
	want := "email,name,currency,count,total,first,last\n" +
		"a@example.org,Amina Kaci,EUR,1,50.00,2025-02-01,2025-02-01\n" +
		"b@example.org,,EUR,1,30.00,2025-05-01,2025-05-01\n" +
		"c@example.org,,EUR,1,10.00,2025-07-01,2025-07-01\n"
	if got != want {
		t.Errorf("--by donor --year 2025:\n%s\nwant\n%s", got, want)
	}
	got = mustRun(t, db, "donations", "report", "--retention", "2025", "--format", "csv")
	want = "category,currency,donors,2025,2024,before 2024,who\n" +
		"retained,EUR,1,50.00,100.00,0.00,gave in 2024 and 2025\n" +
		"new,EUR,1,30.00,0.00,0.00,first gift in 2025\n" +
		"recovered,EUR,1,10.00,0.00,10.00,\"gave in 2025, not 2024, but before\"\n" +
		"lybunt,EUR,1,0.00,40.00,0.00,\"gave in 2024, not 2025\"\n" +
		"sybunt,EUR,0,0.00,0.00,0.00,\"gave before 2024, not since\"\n"
	if got != want {
		t.Errorf("--retention 2025:\n%s\nwant\n%s", got, want)
	}
	if got := mustRun(t, db, "donations", "report", "--retention", "2025", "--fund", "hiver", "--format", "excel-csv"); !strings.Contains(got,
		"\r\nnew;EUR;1;30,00;0,00;0,00;first gift in 2025\r\n") || !strings.Contains(got, "\r\nretained;EUR;0;0,00;0,00;0,00;") {
		t.Errorf("--retention 2025 --fund hiver --format excel-csv:\n%q", got)
	}

	path := filepath.Join(t.TempDir(), "donateurs.xlsx")
	mustRun(t, db, "donations", "report", "--by", "donor", "--out", path)
	f, sh := openWorkbook(t, path)
	rows, _ := f.GetRows(sh)
	if len(rows) != 5 || rows[1][0] != "a@example.org" {
		t.Fatalf("rows %q", rows)
	}
	if total, _ := f.GetCellValue(sh, "E2", excelize.Options{RawCellValue: true}); total != "150" {
		t.Errorf("a's total E2 = %q, want the number 150", total)
	}
	for _, cell := range []string{"F2", "G2"} {
		if v, _ := f.GetCellValue(sh, cell, excelize.Options{RawCellValue: true}); v == "" || strings.ContainsAny(v, "-/.") {
			t.Errorf("date %s = %q, want a whole serial number", cell, v)
		}
	}
	if first, _ := f.GetCellValue(sh, "F2"); first != "10/06/2024" {
		t.Errorf("a's first gift shown as %q", first)
	}

	// An erased donor's gifts stay, as one anonymous line.
	mustRun(t, db, "supporters", "forget", "d@example.org", "--yes")
	if got := mustRun(t, db, "donations", "report", "--by", "donor", "--format", "csv"); !strings.Contains(got, "\n,(erased donors),EUR,1,40.00,2024-12-31,2024-12-31\n") {
		t.Errorf("after forget d:\n%s", got)
	}

	svg := filepath.Join(t.TempDir(), "ag.svg")
	code, out, errOut := crmRun(t, db, "donations", "report", "--by", "year", "--year", "2025", "--chart", svg, "--lang", "en")
	if code != 0 || !strings.Contains(out, "2025") || !strings.Contains(errOut, "chart written to "+svg+" (2024-01 to 2025-12, donors of 2025, in EUR)") {
		t.Fatalf("--chart: exit %d\n%s\n%s", code, out, errOut)
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), "Gifts received per month, January 2024 to December 2025 (EUR)") {
		t.Errorf("the chart: %v\n%s", err, b)
	}
	if fi, err := os.Stat(svg); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the chart's mode: %v, want 0600 like --out", fi.Mode())
	}
	if help := mustRun(t, db, "donations", "report", "--help"); !strings.Contains(help, "not with --by") || strings.Contains(help, "(default: 0)") {
		t.Errorf("report --help:\n%s", help)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--retention", "2025", "--by", "donor"}, 2, "--retention compares whole years and takes no --by"},
		{[]string{"--year", "2025", "--since", "2025-01-01"}, 2, "--year is the whole year"},
		{[]string{"--year", "25"}, 2, "--year 25: want a year such as 2026"},
		{[]string{"--lang", "en"}, 2, "--lang is the language of --chart FILE"},
		{[]string{"--chart", "ag.gif"}, 2, `--chart "ag.gif": want a .svg or .png file`},
		{[]string{"--chart", filepath.Join(t.TempDir(), "x.svg"), "--lang", "de"}, 1, `--lang "de": want fr or en`},
		{[]string{"--by", "week"}, 1, `--by "week": want month, year, fund, method or donor`},
	} {
		code, _, errOut := crmRun(t, db, append([]string{"donations", "report"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("report %v: exit %d, %s; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

// A donations file's column the import does not know is named in the
// report, not dropped silently; "Moyen" is read as the method.
func TestImportDonationsNamesUnreadColumns(t *testing.T) {
	db := crmtest.Database(t)
	path := filepath.Join(t.TempDir(), "dons.csv")
	if err := os.WriteFile(path, []byte("Email;Montant;Date;Moyen;Commentaire du caissier\na@example.org;10;2026-01-02;chèque;ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, db, "import", "donations", path)
	if !strings.Contains(out, `columns not read: "Commentaire du caissier"`) {
		t.Errorf("import printed:\n%s", out)
	}
	if out := mustRun(t, db, "donations", "list", "--format", "csv"); !strings.Contains(out, ",cheque,") {
		t.Errorf("the Moyen column was not read as the method:\n%s", out)
	}
}
