package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
)

func TestImportCommands(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	testdata := filepath.Join("..", "..", "crm", "testdata")
	rejects := filepath.Join(dir, "rejects.csv")

	mustRun(t, db, "lists", "create", "lettre")
	// Flags after the file name, a dry run first: nothing is written.
	out := mustRun(t, db, "import", "supporters", filepath.Join(testdata, "excel_fr_windows1252.csv"), "--dry-run",
		"--list", "lettre", "--consent", "Formulaire papier, distribution du 12/01")
	if !hasCount(out, "created", 3) || !strings.Contains(out, "dry run: nothing was written") {
		t.Errorf("dry run printed:\n%s", out)
	}
	if got := mustRun(t, db, "supporters", "count"); got != "0\n" {
		t.Fatalf("dry run wrote %s supporters", got)
	}
	out = mustRun(t, db, "import", "supporters", filepath.Join(testdata, "excel_fr_windows1252.csv"),
		"--list", "lettre", "--consent", "Formulaire papier", "--rejects", rejects, "--tag", "papier")
	if !strings.Contains(out, "encoding windows-1252") || !strings.Contains(out, `rejected line 6: Courriel "pas-une-adresse": invalid address`) ||
		!strings.Contains(out, "subscribed to lettre") ||
		!strings.Contains(out, `warning line 8: Intérêts "astrologie": unknown interest: left out (create it with crm interests add, or import with --create-interests)`) {
		t.Errorf("import printed:\n%s", out)
	}
	if got := mustRun(t, db, "supporters", "count", "--list", "lettre"); got != "3\n" {
		t.Errorf("subscribed after import = %s", got)
	}
	b, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "\ufeffCourriel;Prénom;") || !strings.HasSuffix(lines[0], ";reason") ||
		!strings.Contains(lines[1], "pas-une-adresse;Zoé") {
		t.Errorf("rejects file:\n%s", b)
	}

	// The rejects file can be fixed and imported again.
	fixed := strings.Replace(string(b), "pas-une-adresse", "zoe.martin@example.org", 1)
	os.WriteFile(rejects, []byte(fixed), 0o600)
	out = mustRun(t, db, "import", "supporters", rejects)
	if !hasCount(out, "created", 1) || !hasCount(out, "rejected", 0) {
		t.Errorf("re-import of fixed rejects:\n%s", out)
	}
	// --create-interests makes the unknown interest, and the person has it.
	out = mustRun(t, db, "import", "supporters", filepath.Join(testdata, "excel_fr_windows1252.csv"), "--create-interests")
	if !strings.Contains(out, "interests created  astrologie") || strings.Contains(out, "warning") {
		t.Errorf("import --create-interests printed:\n%s", out)
	}
	if out := mustRun(t, db, "supporters", "show", "hélène.dupont@example.org"); !strings.Contains(out, "astrologie") {
		t.Errorf("hélène after --create-interests:\n%s", out)
	}

	out = mustRun(t, db, "import", "donations", filepath.Join(testdata, "helloasso_export.csv"))
	if !hasCount(out, "donations recorded", 2) || !hasCount(out, "skipped (payment not validated)", 1) {
		t.Errorf("donations import printed:\n%s", out)
	}
	if out := mustRun(t, db, "import", "donations", filepath.Join(testdata, "helloasso_export.csv"), "--output", "json"); !strings.Contains(out, `"duplicates": 2`) {
		t.Errorf("donations re-import printed:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "supporters", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"import", "supporters", filepath.Join(testdata, "donations_generic.csv"), "--list", "lettre"}, "--consent"},
		{[]string{"import", "supporters", filepath.Join(testdata, "cr_only.csv"), "--delimiter", ":"}, "--delimiter"},
		{[]string{"import", "supporters", filepath.Join(testdata, "cr_only.csv"), "--map", "nope"}, "--map"},
		{[]string{"import", "supporters", filepath.Join(testdata, "cr_only.csv"), "--map", "Courriel=email"}, "no such column"},
		{[]string{"import", "supporters", filepath.Join(testdata, "cr_only.csv"), "--format", "excel"}, "--format"},
		{[]string{"import", "supporters", filepath.Join(testdata, "cr_only.csv"), "--encoding", "ebcdic"}, "encoding"},
		{[]string{"import", "supporters"}, "missing argument"},
	} {
		before := mustRun(t, db, "supporters", "count")
		code, _, errOut := crmRun(t, db, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("crm %s: exit %d, stderr %q, want %q", strings.Join(tt.args, " "), code, errOut, tt.want)
		}
		if after := mustRun(t, db, "supporters", "count"); after != before {
			t.Errorf("crm %s changed the count from %s to %s", strings.Join(tt.args, " "), before, after)
		}
	}
}

// hasCount reports whether the import report out has the line "label N".
func hasCount(out, label string, n int) bool {
	return regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + `\s+` + strconv.Itoa(n) + `$`).MatchString(out)
}

// TestImportBrokenFiles: an unterminated quote and two columns feeding
// one field fail with a message naming the line or both columns, exit
// non-zero and write nothing; --until-error imports the rows before the
// quote.
func TestImportBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var rows strings.Builder
	rows.WriteString("email,first_name\n")
	for i := range 1000 {
		if i == 600 {
			rows.WriteString("broken@example.org,\"Ann\n")
		}
		rows.WriteString("p" + strconv.Itoa(i) + "@example.org,P\n")
	}
	quote := write("quote.csv", rows.String())
	code, _, stderr := crmRun(t, db, "import", "supporters", quote)
	if code == 0 || !strings.Contains(stderr, "line 602: a quote") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got := mustRun(t, db, "supporters", "count"); got != "0\n" {
		t.Errorf("the failed import left %s supporters", got)
	}
	out := mustRun(t, db, "import", "supporters", quote, "--until-error")
	if !hasCount(out, "created", 600) || !strings.Contains(out, "stopped at line 602") {
		t.Errorf("--until-error printed:\n%s", out)
	}

	for _, c := range []struct {
		text string
		args []string
		want string
	}{
		{"email,Courriel\na@example.org,b@example.org\n", nil, `columns 1 "email" and 2 "Courriel" both map to email: only one may: map one of them to another field or to ignore with --map "HEADER=ignore"`},
		{"email,ville,town\na@example.org,Calais,Lille\n", nil, `columns 2 "ville" and 3 "town" both map to city`},
		{"email,Adresse,ville\na@example.org,rue,Calais\n", []string{"--map", "Adresse=city"}, `columns 2 "Adresse" and 3 "ville" both map to city: only one may: map one of them to another field or to ignore with --map "HEADER=ignore" (check the --map values)`},
		{"nom,ville\nAnn,Calais\n", nil, `no email column among "nom", "ville" (name one with --map "HEADER=email")`},
	} {
		path := write("dup.csv", c.text)
		code, _, stderr := crmRun(t, db, append([]string{"import", "supporters", path}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q %v: exit %d, stderr %q, want %q", c.text, c.args, code, stderr, c.want)
		}
	}
	if got := mustRun(t, db, "supporters", "count"); got != "600\n" {
		t.Errorf("%s supporters after the refused files, want 600", got)
	}
}

// TestImportKilledMidway kills an import process (kill -9) after it has
// committed rows: the next commands warn about the half import, crm
// import recover undoes it, and the file imports whole afterwards.
func TestImportKilledMidway(t *testing.T) {
	if os.Getenv("CRM_TEST_IMPORT_CHILD") != "" {
		args := strings.Split(os.Getenv("CRM_TEST_IMPORT_CHILD"), "\n")
		os.Exit(run(context.Background(), args, strings.NewReader(""), io.Discard, os.Stderr))
	}
	dir := t.TempDir()
	db := crmtest.Database(t)
	path := filepath.Join(dir, "big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := crmtest.WriteSupportersCSV(f, 300000, 5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustRun(t, db, "lists", "create", "lettre")

	child := exec.Command(os.Args[0], "-test.run=^TestImportKilledMidway$")
	child.Env = append(os.Environ(), "CRM_TEST_IMPORT_CHILD="+strings.Join([]string{"crm", "--db", db, "import",
		"supporters", path, "--list", "lettre", "--consent", "forms"}, "\n"))
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		out := mustRun(t, db, "supporters", "count")
		if out != "0\n" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	child.Process.Kill()
	child.Wait()

	code, out, stderr := crmRun(t, db, "supporters", "count")
	if code != 0 || out == "0\n" || !strings.Contains(stderr, "warning: import 1 of big.csv") ||
		!strings.Contains(stderr, "the process that wrote it is gone") {
		t.Fatalf("count after the kill: exit %d, %q, stderr %q", code, out, stderr)
	}
	out = mustRun(t, db, "import", "recover")
	if !strings.Contains(out, "import 1 of big.csv") || !strings.HasSuffix(out, ": undone\n") {
		t.Errorf("recover printed %q", out)
	}
	code, out, stderr = crmRun(t, db, "supporters", "count")
	if code != 0 || out != "0\n" || stderr != "" {
		t.Errorf("count after recover: exit %d, %q, stderr %q", code, out, stderr)
	}
	if out := mustRun(t, db, "import", "recover"); out != "no unfinished import\n" {
		t.Errorf("second recover printed %q", out)
	}
}

// A report format the command does not know is a wrong command line:
// exit 2 before anything is imported. Rejected rows are written readable
// by their owner only.
func TestImportOutputFlagAndRejectsFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	path := filepath.Join(t.TempDir(), "in.csv")
	long := strings.Repeat("n", crm.MaxNotesLength+1)
	if err := os.WriteFile(path, []byte("email,notes\nok@example.org,\nlong@example.org,"+long+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := crmRun(t, db, "import", "supporters", path, "--output", "yaml"); code != 2 ||
		!strings.Contains(stderr, `--output "yaml"`) {
		t.Errorf("--output yaml: exit %d, %q", code, stderr)
	}
	if out := mustRun(t, db, "supporters", "count"); out != "0\n" {
		t.Errorf("imported anyway: %q supporters", out)
	}
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	out := mustRun(t, db, "import", "supporters", path, "--rejects", rejects)
	if !strings.Contains(out, "line 3: notes: 10001 characters") {
		t.Errorf("report: %q", out)
	}
	if st, err := os.Stat(rejects); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("rejects file: %v, %v", st.Mode(), err)
	}
}

// TestImportWorkbookCommand: crm import reads the LibreOffice workbooks
// of crm/sheet/testdata, a sheet chosen by --sheet, and says which; the
// rows it rejects go to a CSV file with the sheet's header.
func TestImportWorkbookCommand(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	books := filepath.Join("..", "..", "crm", "sheet", "testdata")
	rejects := filepath.Join(dir, "rejects.csv")
	mustRun(t, db, "interests", "add", "cuisine", "--label-fr", "Cuisine", "--label-en", "Cooking")
	out := mustRun(t, db, "import", "supporters", filepath.Join(books, "adherents-libreoffice.xlsx"), "--rejects", rejects)
	if !strings.Contains(out, `adherents-libreoffice.xlsx: xlsx workbook, sheet "Adhérents", format generic`) ||
		!hasCount(out, "created", 7) || !hasCount(out, "rejected", 2) || !strings.Contains(out, "rejected line 13: Courriel: missing email") {
		t.Errorf("import printed:\n%s", out)
	}
	b, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "\ufeffNom;Prénom;Courriel;") || !strings.Contains(lines[2], ";pas-une-adresse;") {
		t.Errorf("rejects file:\n%s", b)
	}
	out = mustRun(t, db, "import", "donations", filepath.Join(books, "adherents-libreoffice.ods"), "--sheet", "2")
	if !strings.Contains(out, `ods workbook, sheet "Dons"`) || !hasCount(out, "donations recorded", 4) {
		t.Errorf("donations import printed:\n%s", out)
	}
	code, _, errOut := crmRun(t, db, "import", "donations", filepath.Join(books, "adherents-libreoffice.fods"), "--sheet", "Donz")
	if code == 0 || !strings.Contains(errOut, `sheet "Donz": the workbook has "Adhérents", "Dons"`) {
		t.Errorf("unknown sheet: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = crmRun(t, db, "import", "supporters", filepath.Join("..", "..", "crm", "testdata", "cr_only.csv"), "--sheet", "1")
	if code == 0 || !strings.Contains(errOut, "CSV") {
		t.Errorf("--sheet of a CSV file: exit %d, stderr %q", code, errOut)
	}
}
