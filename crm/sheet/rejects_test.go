package sheet_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/sheet"
)

// The rejects file: the input's header and a reason column, rows padded
// to the header's width (and longer ones kept whole), the input's
// delimiter, a byte order mark; it reads back as the rows it was given,
// so it can be fixed and imported again. The temporary file goes with
// Close.
func TestRejects(t *testing.T) {
	dir := t.TempDir()
	r, err := sheet.NewRejects(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Add(2, "email", "not an email address", []string{"amina@", "Amina", "Calais"})
	r.Add(5, "", "empty row", []string{"x"})
	r.Add(7, "notes", "too long", []string{"jo@example.org", "Jo; \"Jo\"", "Lille\nNord", "extra"})
	var out bytes.Buffer
	if err := r.WriteCSV(&out, []string{"Courriel", "Prénom", "Ville"}, ';'); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffCourriel;Prénom;Ville;reason\n" +
		"amina@;Amina;Calais;line 2: email: not an email address\n" +
		"x;;;line 5: empty row\n" +
		"jo@example.org;\"Jo; \"\"Jo\"\"\";\"Lille\nNord\";extra;line 7: notes: too long\n"
	if out.String() != want {
		t.Errorf("rejects file:\n%q\nwant\n%q", out.String(), want)
	}

	rd, err := sheet.NewReader(bytes.NewReader(out.Bytes()), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h := rd.Header(); !slices.Equal(h, []string{"Courriel", "Prénom", "Ville", "reason"}) || rd.Delimiter() != ';' {
		t.Errorf("read back: header %q, delimiter %q", h, rd.Delimiter())
	}
	rec, _, err := rd.Read()
	if err != nil || !slices.Equal(rec, []string{"amina@", "Amina", "Calais", "line 2: email: not an email address"}) {
		t.Errorf("first row read back: %q, %v", rec, err)
	}

	if err := r.WriteCSV(&out, []string{"a"}, 'x'); err == nil {
		t.Error("WriteCSV accepted the delimiter x")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("left behind: %v, %v", left, err)
	}
}

// The rejects file neutralises every cell a spreadsheet could take for a
// formula, header included: they are all text as they were read, even
// "-12". Unneutralize gives back the cells as they were read.
func TestRejectsNeutralized(t *testing.T) {
	r, err := sheet.NewRejects(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	record := []string{`=HYPERLINK("http://evil.example","Clic")`, `+cmd|' /C calc'!A0`, "@SUM(1)", "-12", "\tTAB", "\rCR", "Amina"}
	r.Add(3, "amount", "must be positive", record)
	var out bytes.Buffer
	if err := r.WriteCSV(&out, []string{"=Nom", "b", "c", "Montant", "e", "f", "g"}, ';'); err != nil {
		t.Fatal(err)
	}
	want := "\ufeff'=Nom;b;c;Montant;e;f;g;reason\n" +
		"\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Clic\"\")\";'+cmd|' /C calc'!A0;'@SUM(1);'-12;'\tTAB;\"'\rCR\";Amina;" +
		"line 3: amount: must be positive\n"
	if out.String() != want {
		t.Errorf("rejects file:\n%q\nwant\n%q", out.String(), want)
	}
	rd, err := sheet.NewReader(bytes.NewReader(out.Bytes()), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range record {
		if strings.HasPrefix(v, "\r") {
			continue // the reader takes a lone CR for an old Mac line end
		}
		if got := sheet.Unneutralize(rec[i]); got != v {
			t.Errorf("cell %d read back and unneutralised: %q, want %q", i, got, v)
		}
	}
}
