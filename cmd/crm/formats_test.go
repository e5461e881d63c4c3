package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/xuri/excelize/v2"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// formatsDB is a database whose supporter has text cells a spreadsheet
// would take for formulas, and gifts in two currencies.
func formatsDB(t *testing.T) string {
	t.Helper()
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org", "--first-name", `=HYPERLINK("http://evil.example","Clic")`,
		"--last-name", "@SUM(1)", "--phone", "+33 6 12 34 56 78", "--org", `+cmd|' /C calc'!A0`, "--postcode", "01000",
		"--attr", "pointure=-12")
	mustRun(t, db, "supporters", "add", "--email", "jo@example.org", "--first-name", "Jo", "--city", "Lille")
	mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "12.50", "--method", "cash", "--date", "2026-01-05")
	mustRun(t, db, "donations", "add", "--email", "jo@example.org", "--amount", "1234,56", "--method", "card", "--date", "2026-01-20", "--recurring")
	mustRun(t, db, "donations", "add", "--email", "jo@example.org", "--amount", "300", "--currency", "JPY", "--method", "card", "--date", "2026-02-01")
	return db
}

func openWorkbook(t *testing.T, path string) (*excelize.File, string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, f.GetSheetName(0)
}

// supporters list --format xlsx --out: a workbook readable by its owner
// only, nothing on the standard output, the header bold and frozen, the
// formula-like texts unchanged and quote-prefixed, the creation date a
// date; with --out FILE.xlsx alone the extension chooses xlsx.
func TestSupportersListXLSX(t *testing.T) {
	db := formatsDB(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"--format", "xlsx", "--out"}, {"--out"}} {
		path := filepath.Join(dir, "adherents.xlsx")
		code, out, errOut := crmRun(t, db, append(append([]string{"supporters", "list"}, args...), path)...)
		if code != 0 || out != "" || !strings.Contains(errOut, "written to "+path) {
			t.Fatalf("supporters list %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", path, err, fi.Mode())
		}
		f, sh := openWorkbook(t, path)
		rows, err := f.GetRows(sh)
		if err != nil || len(rows) != 3 || rows[0][0] != "email" || rows[1][0] != "amina@example.org" {
			t.Fatalf("rows %q, %v", rows, err)
		}
		if panes, _ := f.GetPanes(sh); !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("panes %+v", panes)
		}
		id, _ := f.GetCellStyle(sh, "A1")
		if s, _ := f.GetStyle(id); s == nil || s.Font == nil || !s.Font.Bold {
			t.Error("header not bold")
		}
		for cell, want := range map[string]string{"B2": `=HYPERLINK("http://evil.example","Clic")`, "C2": "@SUM(1)",
			"D2": "+33 6 12 34 56 78", "E2": `+cmd|' /C calc'!A0`, "G2": "01000"} {
			got, _ := f.GetCellValue(sh, cell)
			ct, _ := f.GetCellType(sh, cell)
			id, _ := f.GetCellStyle(sh, cell)
			q := f.Styles.CellXfs.Xf[id].QuotePrefix
			if got != want || ct != excelize.CellTypeInlineString || (q != nil && *q) != (cell != "G2") {
				t.Errorf("%s = %q (type %v, quote prefix %v), want the text %q", cell, got, ct, q != nil && *q, want)
			}
		}
		raw, _ := f.GetCellValue(sh, "N2", excelize.Options{RawCellValue: true})
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			t.Errorf("created_at N2 = %q, want a date-time serial number", raw)
		}
		os.Remove(path)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the folder: %v", left)
	}
}

// Amounts and dates of donations list are numbers and dates in the
// workbook; the report's totals too.
func TestDonationsXLSX(t *testing.T) {
	db := formatsDB(t)
	path := filepath.Join(t.TempDir(), "dons.xlsx")
	mustRun(t, db, "donations", "list", "--out", path)
	f, sh := openWorkbook(t, path)
	rows, _ := f.GetRows(sh)
	if len(rows) != 4 || !slices.Equal(rows[0], []string{"email", "date", "amount", "currency", "method", "fund", "recurring", "ref"}) {
		t.Fatalf("rows %q", rows)
	}
	for r := 2; r <= 4; r++ {
		row := strconv.Itoa(r)
		amount, _ := f.GetCellValue(sh, "C"+row, excelize.Options{RawCellValue: true})
		date, _ := f.GetCellValue(sh, "B"+row, excelize.Options{RawCellValue: true})
		if _, err := strconv.ParseFloat(amount, 64); err != nil {
			t.Errorf("amount C%s = %q, want a number", row, amount)
		}
		if _, err := strconv.Atoi(date); err != nil {
			t.Errorf("date B%s = %q, want a whole serial number", row, date)
		}
	}
	if got, _ := f.GetCellValue(sh, "B2"); got != "05/01/2026" {
		t.Errorf("first date shown as %q", got)
	}
	if got, _ := f.GetCellValue(sh, "C3"); got != "1,234.56 €" {
		t.Errorf("1234.56 EUR shown as %q", got)
	}
	if got, _ := f.GetCellValue(sh, "C4"); got != `300 ¥` {
		t.Errorf("300 JPY shown as %q", got)
	}
	if ct, _ := f.GetCellType(sh, "G3"); ct != excelize.CellTypeBool {
		t.Errorf("recurring G3: type %v, want a boolean", ct)
	}

	mustRun(t, db, "donations", "report", "--by", "month", "--format", "xlsx", "--out", path)
	f, sh = openWorkbook(t, path)
	if total, _ := f.GetCellValue(sh, "E2", excelize.Options{RawCellValue: true}); total != "1247.06" {
		t.Errorf("January's total = %q, want the number 1247.06", total)
	}
}

// donations report --format excel-csv, as French Excel opens it: byte
// order mark, ';', CRLF, decimal commas.
func TestDonationsReportExcelCSV(t *testing.T) {
	db := formatsDB(t)
	got := mustRun(t, db, "donations", "report", "--by", "month", "--format", "excel-csv")
	want := "\ufeffmonth;currency;count;donors;total\r\n" +
		"2026-01;EUR;2;2;1247,06\r\n" +
		"2026-02;JPY;1;1;300\r\n"
	if got != want {
		t.Errorf("excel-csv:\n%q\nwant\n%q", got, want)
	}
	got = mustRun(t, db, "donations", "list", "--format", "excel-csv")
	if !strings.Contains(got, "\r\njo@example.org;2026-01-20;1234,56;EUR;card;;VRAI;\r\n") {
		t.Errorf("donations list excel-csv:\n%q", got)
	}
	// --out dons.csv keeps the format asked for.
	path := filepath.Join(t.TempDir(), "dons.csv")
	mustRun(t, db, "donations", "report", "--by", "month", "--format", "excel-csv", "--out", path)
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Errorf("--out %s: %q, %v", path, b, err)
	}
}

// CSV and Excel CSV neutralise the texts that start like formulas, in
// listings and in field/value output, and leave the stored values alone:
// JSON and the table show them as they are.
func TestCSVNeutralized(t *testing.T) {
	db := formatsDB(t)
	list := mustRun(t, db, "supporters", "list", "--format", "csv", "--segment", "email:amina@example.org")
	want := `amina@example.org,"'=HYPERLINK(""http://evil.example"",""Clic"")",'@SUM(1),'+33 6 12 34 56 78,'+cmd|' /C calc'!A0,,01000,`
	if !strings.Contains(list, "\n"+want) {
		t.Errorf("supporters list --format csv:\n%s\nwant a row starting %s", list, want)
	}
	excel := mustRun(t, db, "supporters", "list", "--format", "excel-csv", "--segment", "email:amina@example.org")
	if !strings.Contains(excel, `;'@SUM(1);'+33 6 12 34 56 78;'+cmd|' /C calc'!A0;`) {
		t.Errorf("supporters list --format excel-csv:\n%q", excel)
	}
	show := mustRun(t, db, "supporters", "show", "amina@example.org", "--format", "csv")
	if !strings.Contains(show, "\nattr.pointure,'-12\n") || !strings.Contains(show, "\nid,1\n") {
		t.Errorf("supporters show --format csv:\n%s", show)
	}
	var p struct {
		Supporter struct {
			FirstName string `json:"first_name"`
			Phone     string `json:"phone"`
		} `json:"supporter"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "show", "amina@example.org", "--format", "json")), &p); err != nil {
		t.Fatal(err)
	}
	if p.Supporter.FirstName != `=HYPERLINK("http://evil.example","Clic")` || p.Supporter.Phone != "+33 6 12 34 56 78" {
		t.Errorf("stored values changed: %+v", p.Supporter)
	}
	if table := mustRun(t, db, "supporters", "show", "amina@example.org"); !strings.Contains(table, "pointure  -12\n") {
		t.Errorf("table:\n%s", table)
	}
}

// Bad combinations are usage errors that write nothing; a listing that
// fails leaves the file --out names as it was, and no temporary file.
func TestOutErrors(t *testing.T) {
	db := formatsDB(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.xlsx")
	if err := os.WriteFile(old, []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"supporters", "list", "--format", "pdf"}, exitUsage, `--format "pdf": want table, csv, excel-csv, xlsx or json`},
		{[]string{"donations", "list", "--format", "csv", "--out", filepath.Join(dir, "x.xlsx")}, exitUsage, "a .xlsx file name, but --format csv"},
		{[]string{"donations", "list", "--format", "xlsx", "--out", filepath.Join(dir, "x.csv")}, exitUsage, "a .csv file name, but --format xlsx"},
		{[]string{"prune", "--inactive", "1d", "--out", filepath.Join(dir, "p.csv")}, exitUsage, "add --dry-run"},
		{[]string{"supporters", "list", "--out", filepath.Join(dir, "no", "such", "folder.xlsx")}, exitError, "folder.xlsx: no such file or directory"},
		{[]string{"supporters", "list", "--segment", "tag:", "--out", old}, exitError, ""},
	}
	for _, tt := range tests {
		code, out, errOut := crmRun(t, db, tt.args...)
		if code != tt.code || out != "" || !strings.Contains(errOut, tt.msg) {
			t.Errorf("crm %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.msg)
		}
	}
	if b, _ := os.ReadFile(old); string(b) != "before" {
		t.Errorf("a failed listing changed %s: %q", old, b)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("left in the folder: %v", left)
	}
}

// Every command that prints records takes --format and --out, and its
// help names every format. (import's --format is its preset.)
func TestEveryListingTakesOut(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	n := 0
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			walk(name, c.Subcommands)
			if findFlag(c.Flags, "format") == nil || c.Name == "import" || strings.HasPrefix(name, "import ") {
				continue
			}
			n++
			if findFlag(c.Flags, "out") == nil {
				t.Errorf("crm %s has --format but no --out", name)
			}
			_, out, _ := crmRun(t, filepath.Join(t.TempDir(), "db"), append(strings.Fields(name), "--help")...)
			for _, f := range []string{"table", "csv", "excel-csv", "xlsx", "json"} {
				if !strings.Contains(out, f) {
					t.Errorf("crm %s --help does not name %s:\n%s", name, f, out)
				}
			}
		}
	}
	walk("", newApp(nil, nil, nil).Commands)
	if n < 12 {
		t.Errorf("only %d commands print records", n)
	}
}

// The round trip: the supporters written as a workbook import back into
// a fresh database as the same people. It needs crm import to read xlsx
// (the reader half of issue 16).
func TestXLSXRoundTrip(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "interests", "add", "cuisine", "--label-fr", "Cuisine", "--label-en", "Cooking")
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org", "--first-name", "Amina", "--last-name", "Ben Ali",
		"--phone", "+33 6 12 34 56 78", "--city", "Calais", "--postcode", "01000", "--tag", "presse", "--tag", "urgent",
		"--interest", "terrain", "--interest", "cuisine")
	mustRun(t, db, "supporters", "add", "--email", "jo@example.org", "--first-name", "Hélène", "--org", "-Asso",
		"--country", "BE", "--lang", "en")
	path := filepath.Join(t.TempDir(), "adherents.xlsx")
	mustRun(t, db, "supporters", "list", "--format", "xlsx", "--out", path)

	fresh := crmtest.Database(t)
	mustRun(t, fresh, "interests", "add", "cuisine", "--label-fr", "Cuisine", "--label-en", "Cooking")
	if code, _, errOut := crmRun(t, fresh, "import", "supporters", path); code != 0 {
		t.Skipf("needs the xlsx reader: crm import said %s", errOut)
	}
	// The same people: every column but how and when they were added.
	same := func(db string) [][]string {
		recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "supporters", "list", "--format", "csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			recs[i] = r[:slices.Index(recs[0], "interests")+1]
		}
		return recs
	}
	if a, b := same(db), same(fresh); !slices.EqualFunc(a, b, slices.Equal) {
		t.Errorf("after the round trip:\n%q\nwant\n%q", b, a)
	}
}
