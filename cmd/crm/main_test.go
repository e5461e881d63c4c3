package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// crmRun runs one command line against the given database and returns the
// exit code and what was printed.
func crmRun(t *testing.T, db string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"crm", "--db", db}, args...)
	code = run(context.Background(), full, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustRun(t *testing.T, db string, args ...string) string {
	t.Helper()
	code, out, errOut := crmRun(t, db, args...)
	if code != 0 {
		t.Fatalf("crm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestCommandsEndToEnd(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "init")
	mustRun(t, db, "supporters", "add", "--email", " Amina@Example.ORG", "--first-name", "Amina",
		"--city", "Calais", "--tag", "presse", "--interest", "terrain=weekends", "--attr", "pointure=42")
	// Flags after the positional argument, and --db after the command.
	out := mustRun(t, db, "supporters", "edit", "amina@example.org", "--city", "Boulogne-sur-Mer", "--tag", "urgent")
	if !strings.Contains(out, "updated supporter 1") {
		t.Errorf("edit printed %q", out)
	}
	mustRun(t, db, "supporters", "add", "--email", "jo@example.org", "--lang", "en", "--country", "Belgique")
	mustRun(t, db, "supporters", "tag", "jo@example.org", "Presse", "hebergeur")
	mustRun(t, db, "supporters", "untag", "jo@example.org", "hebergeur")
	mustRun(t, db, "interests", "add", "cuisine", "--label-fr", "Cuisine", "--label-en", "Cooking")
	mustRun(t, db, "lists", "create", "alertes", "--kind", "alerts", "--double-opt-in", "--title", "Alertes expulsions")
	mustRun(t, db, "lists", "create", "lettre")
	if out := mustRun(t, db, "subscribe", "amina@example.org", "--list", "alertes", "--consent", "Oui aux alertes"); !strings.HasPrefix(out, "pending") {
		t.Errorf("subscribe to double opt-in list printed %q", out)
	}
	mustRun(t, db, "subscribe", "jo@example.org", "--list", "lettre")
	mustRun(t, db, "subscribe", "amina@example.org", "--list", "lettre")
	if out := mustRun(t, db, "unsubscribe", "amina@example.org", "--all"); !strings.Contains(out, "from 2 list(s)") {
		t.Errorf("unsubscribe --all printed %q", out)
	}
	mustRun(t, db, "donations", "add", "--email", "amina@example.org", "--amount", "25,50", "--currency", "EUR",
		"--date", "2026-01-31", "--method", "transfer", "--fund", "hiver", "--ref", "VIR-1")
	mustRun(t, db, "donations", "add", "--email", "jo@example.org", "--amount", "10", "--date", "15/02/2026",
		"--method", "cash", "--recurring")

	if got := mustRun(t, db, "supporters", "count"); got != "2\n" {
		t.Errorf("count = %q, want bare number", got)
	}
	if got := mustRun(t, db, "supporters", "count", "--tag", "presse"); got != "2\n" {
		t.Errorf("count --tag presse = %q", got)
	}
	if got := mustRun(t, db, "supporters", "count", "--list", "lettre"); got != "1\n" {
		t.Errorf("count --list lettre = %q", got)
	}
	if got := mustRun(t, db, "supporters", "count", "--segment", "interest:terrain AND (city:boulogne* OR postcode:62*) AND NOT tag:hebergeur"); got != "1\n" {
		t.Errorf("count --segment = %q", got)
	}
	mustRun(t, db, "segments", "save", "belges", "country:BE")
	if got := mustRun(t, db, "supporters", "list", "--segment", "segment:belges", "--format", "csv"); !strings.Contains(got, "\njo@example.org,") || strings.Contains(got, "amina") {
		t.Errorf("list --segment segment:belges = %q", got)
	}
	if out := mustRun(t, db, "segments", "list", "--format", "csv"); out != "name,expression\nbelges,country:BE\n" {
		t.Errorf("segments list = %q", out)
	}

	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "supporters", "list", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0][0] != "email" || recs[1][0] != "amina@example.org" || recs[2][8] != "BE" {
		t.Errorf("csv = %q", recs)
	}
	if recs[1][6] != "Boulogne-sur-Mer" || recs[1][10] != "presse;urgent" || recs[1][11] != "terrain" {
		t.Errorf("amina's row = %q", recs[1])
	}

	var profile struct {
		Supporter struct {
			Email      string
			City       string
			Attributes map[string]string
		}
		Subscriptions  []struct{ List, Status string }
		DonationTotals []struct {
			Currency string
			Sum      int64
		} `json:"donation_totals"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "show", "AMINA@example.org", "--format", "json")), &profile); err != nil {
		t.Fatal(err)
	}
	if profile.Supporter.City != "Boulogne-sur-Mer" || profile.Supporter.Attributes["pointure"] != "42" ||
		len(profile.Subscriptions) != 2 || profile.Subscriptions[0].Status != "unsubscribed" ||
		len(profile.DonationTotals) != 1 || profile.DonationTotals[0].Sum != 2550 {
		t.Errorf("profile = %+v", profile)
	}
	if out := mustRun(t, db, "supporters", "show", "amina@example.org"); !strings.Contains(out, "interest.terrain  weekends") {
		t.Errorf("show table:\n%s", out)
	}

	out = mustRun(t, db, "donations", "list", "--since", "2026-02-01", "--format", "csv")
	if want := "id,email,date,amount,currency,method,fund,recurring,ref\n2,jo@example.org,2026-02-15,10.00,EUR,cash,,true,\n"; out != want {
		t.Errorf("donations list --since:\n%s\nwant\n%s", out, want)
	}
	out = mustRun(t, db, "donations", "report", "--by", "month", "--format", "csv")
	if want := "month,currency,count,donors,total\n2026-01,EUR,1,1,25.50\n2026-02,EUR,1,1,10.00\n"; out != want {
		t.Errorf("donations report:\n%s\nwant\n%s", out, want)
	}
	if out := mustRun(t, db, "lists", "list", "--format", "csv"); !strings.Contains(out, "alertes,Alertes expulsions,alerts,public,double,0") ||
		!strings.Contains(out, "lettre,lettre,newsletter,public,single,1") {
		t.Errorf("lists list:\n%s", out)
	}
	if out := mustRun(t, db, "interests", "list", "--format", "csv"); !strings.Contains(out, "cuisine,Cuisine,Cooking") {
		t.Errorf("interests list:\n%s", out)
	}
}

// Bad input of any kind gives a clear error naming the flag or value, a
// non-zero exit, and leaves the database file byte for byte as it was.
func TestBadInputLeavesDatabaseUnchanged(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org")
	mustRun(t, db, "lists", "create", "lettre")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"supporters", "add", "--email", "nope"}, 1, `--email "nope": invalid address`},
		{[]string{"supporters", "add", "--email", "AMINA@example.org"}, 1, "already exists"},
		{[]string{"supporters", "add"}, 2, "missing required flag --email"},
		{[]string{"supporters", "add", "--email", "b@example.org", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"supporters", "add", "--email", "b@example.org", "--lang", "xx-invalid-lang"}, 1, "--lang"},
		{[]string{"supporters", "add", "--email", "b@example.org", "--interest", "astrologie"}, 1, `--interest "astrologie": unknown interest`},
		{[]string{"supporters", "add", "--email", "b@example.org", "--attr", "novalue"}, 2, `--attr "novalue"`},
		{[]string{"supporters", "add", "--email", "b@example.org", "--bogus"}, 2, "unknown flag --bogus"},
		{[]string{"supporters", "edit", "nobody@example.org", "--city", "x"}, 1, `no supporter with email "nobody@example.org"`},
		{[]string{"supporters", "edit", "amina@example.org", "--email", "bad"}, 1, `--email "bad"`},
		{[]string{"supporters", "show", "amina@example.org", "other"}, 2, `unexpected argument "other"`},
		{[]string{"supporters", "list", "--format", "xml"}, 2, `--format "xml"`},
		{[]string{"supporters", "tag", "amina@example.org"}, 2, "missing argument"},
		{[]string{"supporters", "tag", "amina@example.org", "a;b"}, 1, "may not contain"},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "abc", "--method", "cash"}, 1, `--amount "abc": not a number`},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "-1", "--method", "cash"}, 1, `--amount "-1": must be positive`},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "1", "--method", "bitcoin"}, 1, `--method "bitcoin"`},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "1", "--method", "cash", "--currency", "EURO"}, 1, `--currency "EURO"`},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "1", "--method", "cash", "--date", "31/02/2026"}, 1, `--date "31/02/2026"`},
		{[]string{"donations", "add", "--email", "x@example.org", "--amount", "1", "--method", "cash"}, 1, "--email"},
		{[]string{"donations", "report", "--by", "week"}, 1, `--by "week"`},
		{[]string{"donations", "add", "--email", "amina@example.org", "--amount", "1", "--date", "2099-01-01"}, 1, `--date "2099-01-01": in the future`},
		{[]string{"donations", "edit", "abc", "--amount", "1"}, 2, `donations edit: "abc" is not a donation id`},
		{[]string{"donations", "edit", "99", "--amount", "1"}, 1, "no donation 99"},
		{[]string{"donations", "edit", "99"}, 2, "nothing to change"},
		{[]string{"donations", "edit", "99", "--currency", "JPY"}, 2, "--currency needs --amount"},
		{[]string{"donations", "delete", "99", "--yes"}, 1, "no donation 99"},
		{[]string{"donations", "delete"}, 2, "missing argument"},
		{[]string{"lists", "create", "lettre"}, 1, "already exists"},
		{[]string{"lists", "create", "x", "--kind", "spam"}, 1, `--kind "spam"`},
		{[]string{"subscribe", "amina@example.org", "--list", "nope"}, 1, "not found"},
		{[]string{"subscribe", "amina@example.org"}, 2, "--list"},
		{[]string{"unsubscribe", "amina@example.org"}, 2, "--list or --all"},
		{[]string{"unsubscribe", "amina@example.org", "--list", "lettre", "--all"}, 2, "--list or --all"},
		{[]string{"interests", "add", "x", "--label-fr", "X"}, 2, "--label-en"},
		{[]string{"supporters", "count", "--segment", "tag:presse AND"}, 1, "at position 15: expected a term"},
		{[]string{"segments", "save", "x", "shoe:42"}, 1, `unknown field "shoe"`},
		{[]string{"segments", "save", "x"}, 2, "missing argument"},
		{[]string{"nosuchcommand"}, 2, `unknown command "nosuchcommand"`},
		{[]string{"supporters", "lst"}, 2, `supporters: unknown command "lst"; did you mean "list"?`},
	}
	before := snapshot(t, db)
	for _, tt := range tests {
		code, out, errOut := crmRun(t, db, tt.args...)
		if tt.code == 3 { // any failure will do
			if code == 0 {
				t.Errorf("crm %s succeeded", strings.Join(tt.args, " "))
			}
			continue
		}
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("crm %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
		if code != 0 && out != "" && !strings.Contains(tt.args[0], "nosuch") {
			t.Errorf("crm %s printed to stdout on failure: %q", strings.Join(tt.args, " "), out)
		}
	}
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Errorf("failed commands changed the database:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot dumps every table, so two snapshots compare the data rather
// than the file's bytes, which SQLite may rewrite on open.
func snapshot(t *testing.T, db string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"supporters", "list", "--format", "json"}, {"lists", "list", "--format", "json"},
		{"interests", "list", "--format", "json"}, {"donations", "list", "--format", "json"},
		{"supporters", "show", "amina@example.org", "--format", "json"},
	} {
		b.WriteString(mustRun(t, db, args...))
	}
	return b.String()
}

func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	other := filepath.Join(dir, "b.db")
	mustRun(t, db, "supporters", "add", "--email", "a@example.org")
	// --db after the command name wins over the earlier one.
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"crm", "supporters", "add", "--db", other, "--email", "b@example.org"},
		nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	out.Reset()
	run(context.Background(), []string{"crm", "supporters", "count", "--db", other}, nil, &out, &errOut)
	if out.String() != "1\n" {
		t.Errorf("count in other db = %q", out.String())
	}
	// CRM_DB is read when --db is absent.
	t.Setenv("CRM_DB", other)
	out.Reset()
	run(context.Background(), []string{"crm", "supporters", "count"}, nil, &out, &errOut)
	if out.String() != "1\n" {
		t.Errorf("count with CRM_DB = %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "crm.db")); err == nil {
		t.Error("a crm.db was created in the working directory")
	}
}

func TestReorderArgs(t *testing.T) {
	app := newApp(nil, nil, nil)
	tests := []struct{ in, want []string }{
		{[]string{"crm", "supporters", "show", "a@example.org", "--format", "json"},
			[]string{"crm", "supporters", "show", "--format", "json", "a@example.org"}},
		{[]string{"crm", "supporters", "--db", "x.db", "list"},
			[]string{"crm", "--db", "x.db", "supporters", "list"}},
		{[]string{"crm", "supporters", "tag", "a@example.org", "t1", "--db=x.db", "t2"},
			[]string{"crm", "--db=x.db", "supporters", "tag", "a@example.org", "t1", "t2"}},
		{[]string{"crm", "lists", "create", "x", "--double-opt-in", "--kind", "alerts"},
			[]string{"crm", "lists", "create", "--double-opt-in", "--kind", "alerts", "x"}},
		{[]string{"crm", "supporters", "tag", "a@example.org", "--", "--odd"},
			[]string{"crm", "supporters", "tag", "--", "a@example.org", "--odd"}},
		{[]string{"crm", "donations", "add", "--amount", "-5", "--email", "a@example.org"},
			[]string{"crm", "donations", "add", "--amount", "-5", "--email", "a@example.org"}},
		// An unknown command stays in front of the flags meant for it.
		{[]string{"crm", "supporters", "lst", "--format", "json"},
			[]string{"crm", "supporters", "lst", "--format", "json"}},
		{[]string{"crm", "nosuch", "--db", "x.db", "a"},
			[]string{"crm", "--db", "x.db", "nosuch", "a"}},
	}
	for _, tt := range tests {
		if got := reorderArgs(app, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reorderArgs(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// The default table listing streams the whole base: every row once, in
// order, aligned by blocks, the same with --limit as without.
func TestListTableStreams(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "init")
	dir := t.TempDir()
	path := filepath.Join(dir, "people.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := crmtest.WriteSupportersCSV(f, 2500, 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustRun(t, db, "import", "supporters", path)
	lines := strings.Split(strings.TrimSuffix(mustRun(t, db, "supporters", "list"), "\n"), "\n")
	if len(lines) != 2501 || !strings.HasPrefix(lines[0], "EMAIL ") {
		t.Fatalf("%d lines, first %q", len(lines), lines[0])
	}
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "supporters", "list", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines[1:] {
		if email := strings.Fields(l)[0]; email != recs[i+1][0] {
			t.Fatalf("table line %d is %s, CSV row says %s", i+1, email, recs[i+1][0])
		}
	}
	limited := strings.Split(mustRun(t, db, "supporters", "list", "--limit", "3"), "\n")
	if strings.Join(strings.Fields(limited[3]), " ") != strings.Join(strings.Fields(lines[3]), " ") {
		t.Errorf("with --limit: %q, streamed: %q", limited[3], lines[3])
	}
}

// The table listing's columns hold what their header names: tags,
// interests (without availability) and email status come from the
// supporter's own fields, the same values as the CSV's.
func TestListTableColumns(t *testing.T) {
	db := crmtest.Database(t)
	mustRun(t, db, "interests", "add", "cuisine", "--label-fr", "Cuisine", "--label-en", "Cooking")
	mustRun(t, db, "supporters", "add", "--email", "amina@example.org", "--first-name", "Amina", "--city", "Calais",
		"--lang", "en", "--tag", "presse", "--tag", "urgent", "--interest", "terrain=weekends", "--interest", "cuisine")
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "supporters", "list", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	status := recs[1][slices.Index(recs[0], "email_status")]
	lines := strings.Split(strings.TrimSuffix(mustRun(t, db, "supporters", "list"), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("table:\n%s", strings.Join(lines, "\n"))
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	want := map[string]string{"EMAIL": "amina@example.org", "NAME": "Amina", "CITY": "Calais", "LANG": "en",
		"TAGS": "presse;urgent", "INTERESTS": "cuisine;terrain", "STATUS": status}
	if len(header) != len(want) || len(row) != len(header) {
		t.Fatalf("table:\n%s", strings.Join(lines, "\n"))
	}
	for i, h := range header {
		if row[i] != want[h] {
			t.Errorf("column %s = %q, want %q", h, row[i], want[h])
		}
	}
}
