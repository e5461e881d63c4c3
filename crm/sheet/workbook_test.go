package sheet_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/sheet"
)

// fixture reads a workbook of testdata (see testdata/README.md).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readWorkbook reads every row of r, failing the test on an error.
func readWorkbook(t *testing.T, r io.Reader, opts sheet.Options) (*sheet.Reader, []row) {
	t.Helper()
	sr, err := sheet.NewReader(r, opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	t.Cleanup(func() {
		if err := sr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	var rows []row
	for {
		rec, line, err := sr.Read()
		if errors.Is(err, io.EOF) {
			return sr, rows
		}
		if err != nil {
			t.Fatalf("Read: line %d: %v", line, err)
		}
		rows = append(rows, row{line, append([]string(nil), rec...)})
	}
}

var (
	adherentsHeader = []string{"Nom", "Prénom", "Courriel", "Téléphone", "Code postal", "Ville", "Date d'adhésion",
		"Intérêts", "Cotisation (€)", "Nom complet"}
	// The rows of sheet Adhérents, by their row number in the sheet: the
	// title (1), the blank row (2), the header (3) and the empty row
	// (10) are not data.
	adherentsRows = []row{
		{4, []string{"Lefèvre", "Zoé", "zoe.lefevre@example.org", "0612345678", "62100", "Calais", "2025-01-14", "terrain; hébergement", "15.5", "Zoé Lefèvre"}},
		{5, []string{"Martins", "Ana", "Ana.Martins@Example.org", "033698765432", "4000", "Liège", "2025-02-03", "traduction", "20", "Ana Martins"}},
		{6, []string{"Benali", "Karim", "karim.benali@example.org", "", "62200", "Boulogne-sur-Mer", "2025-02-28", "terrain", "10", "Karim Benali"}},
		{7, []string{"Dupré", "Noël", "noel.dupre@example.org", "0320412345", "59140", "Dunkerque", "2025-03-09", "", "0", "Noël Dupré"}},
		{8, []string{"N'Diaye", "Fatou", "fatou.ndiaye@example.org", "0767676767", "1000", "Bruxelles", "2025-03-21", "juridique; transport", "30", "Fatou N'Diaye"}},
		{9, []string{"Østergaard", "Søren", "soren.o@example.org", "", "75011", "Paris", "2025-04-02", "réseaux sociaux", "5", "Søren Østergaard"}},
		{11, []string{"Nguyễn", "Thị Lan", "lan.nguyen@example.org", "0611223344", "62100", "Calais", "2025-05-17", "cuisine", "12.25", "Thị Lan Nguyễn"}},
		{12, []string{"Martins", "Ana", "ana.martins@example.org", "", "4000", "Liège", "2025-06-01", "terrain", "", "Ana Martins"}},
		{13, []string{"Sans Courriel", "Paul", "", "0612000000", "59000", "Lille", "2025-06-12", "", "", "Paul Sans Courriel"}},
		{14, []string{"Érdős", "Pál", "pas-une-adresse", "", "59000", "Lille", "2025-07-04", "", "8", "Pál Érdős"}},
	}
	donsHeader = []string{"Date", "Courriel", "Montant", "Moyen de paiement"}
	donsRows   = []row{
		{2, []string{"2025-01-10", "zoe.lefevre@example.org", "50", "Virement"}},
		{3, []string{"2025-03-02", "fatou.ndiaye@example.org", "120.5", "Chèque"}},
		{4, []string{"2025-12-24", "Ana.Martins@example.org", "35", "Espèces"}},
		{5, []string{"2026-01-05", "karim.benali@example.org", "1000", "Carte bancaire"}},
	}
)

// withoutFormulaValues is the Adhérents rows as the hand-written .fods
// holds them: its formulas have no stored value, so Nom complet is
// empty (and, being last, not there).
func withoutFormulaValues(rows []row) []row {
	out := make([]row, len(rows))
	for i, r := range rows {
		out[i] = row{r.line, r.rec[:len(r.rec)-1]}
		if last := out[i].rec; last[len(last)-1] == "" {
			j := len(last)
			for j > 0 && last[j-1] == "" {
				j--
			}
			out[i].rec = last[:j]
		}
	}
	return out
}

// TestWorkbookFixtures reads the LibreOffice-made workbooks: the header
// under the title, the sheet's row numbers, phone numbers with their
// leading 0, dates in ISO form, amounts as plain numbers and formulas as
// their stored value, whichever way the sheet is chosen.
func TestWorkbookFixtures(t *testing.T) {
	for _, c := range []struct {
		file   string
		format string
	}{
		{"adherents-libreoffice.xlsx", sheet.FormatXLSX},
		{"adherents-libreoffice.ods", sheet.FormatODS},
		{"adherents-libreoffice.fods", sheet.FormatODS},
	} {
		data := fixture(t, c.file)
		wantAdherents := adherentsRows
		if strings.HasSuffix(c.file, ".fods") {
			wantAdherents = withoutFormulaValues(adherentsRows)
		}
		for _, s := range []struct {
			sheet, name string
			header      []string
			rows        []row
		}{
			{"", "Adhérents", adherentsHeader, wantAdherents},
			{"Adhérents", "Adhérents", adherentsHeader, wantAdherents},
			{"ADHERENTS", "Adhérents", adherentsHeader, wantAdherents},
			{"1", "Adhérents", adherentsHeader, wantAdherents},
			{"Dons", "Dons", donsHeader, donsRows},
			{"dons", "Dons", donsHeader, donsRows},
			{"2", "Dons", donsHeader, donsRows},
		} {
			t.Run(c.file+"/"+s.sheet, func(t *testing.T) {
				r, rows := readWorkbook(t, bytes.NewReader(data), sheet.Options{Sheet: s.sheet})
				if r.Format() != c.format || r.Sheet() != s.name {
					t.Errorf("format %q sheet %q, want %q %q", r.Format(), r.Sheet(), c.format, s.name)
				}
				if r.Encoding() != "" || r.Delimiter() != 0 {
					t.Errorf("encoding %q delimiter %q for a workbook", r.Encoding(), r.Delimiter())
				}
				if !reflect.DeepEqual(r.Header(), s.header) {
					t.Errorf("header = %q\nwant     %q", r.Header(), s.header)
				}
				if len(rows) != len(s.rows) {
					t.Fatalf("%d rows, want %d: %v", len(rows), len(s.rows), rows)
				}
				for i := range rows {
					if !reflect.DeepEqual(rows[i], s.rows[i]) {
						t.Errorf("row %d = %d %q\nwant       %d %q", i, rows[i].line, rows[i].rec, s.rows[i].line, s.rows[i].rec)
					}
				}
				if off := r.InputOffset(); off != int64(len(data)) && c.format == sheet.FormatXLSX {
					t.Errorf("InputOffset at the end = %d, want the size %d", off, len(data))
				} else if off <= 0 || off > int64(len(data)) {
					t.Errorf("InputOffset at the end = %d, want in (0, %d]", off, len(data))
				}
			})
		}
	}
}

// TestSheetNotFound: a name that matches no sheet, or a number past the
// last, gets an error that lists the sheets.
func TestSheetNotFound(t *testing.T) {
	for _, file := range []string{"adherents-libreoffice.xlsx", "adherents-libreoffice.ods", "adherents-libreoffice.fods"} {
		for _, want := range []string{"Donz", "3", "0"} {
			_, err := sheet.NewReader(bytes.NewReader(fixture(t, file)), sheet.Options{Sheet: want})
			var nf *sheet.SheetNotFoundError
			if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Sheets, []string{"Adhérents", "Dons"}) {
				t.Fatalf("%s sheet %q: %v", file, want, err)
			}
			if msg := `sheet "` + want + `": the workbook has "Adhérents", "Dons"`; err.Error() != msg {
				t.Errorf("error %q, want %q", err, msg)
			}
		}
	}
	_, err := sheet.NewReader(strings.NewReader("email\na@example.org\n"), sheet.Options{Sheet: "Dons"})
	if err == nil || !strings.Contains(err.Error(), "CSV") {
		t.Errorf("a sheet of a CSV file: %v", err)
	}
}

// TestFormatByContent: what decides is the content, not the name.
func TestFormatByContent(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name   string
		data   []byte
		format string
	}{
		{"people.xlsx", []byte("email;name\na@example.org;Ann\n"), sheet.FormatCSV},
		{"people.ods", []byte("<b>email</b>,name\na@example.org,Ann\n"), sheet.FormatCSV},
		{"people.csv", fixture(t, "adherents-libreoffice.xlsx"), sheet.FormatXLSX},
		{"people.xlsx", fixture(t, "adherents-libreoffice.ods"), sheet.FormatODS},
		{"people.txt", fixture(t, "adherents-libreoffice.fods"), sheet.FormatODS},
	} {
		f, err := os.Open(write(c.name, c.data))
		if err != nil {
			t.Fatal(err)
		}
		r, rows := readWorkbook(t, f, sheet.Options{})
		if r.Format() != c.format || len(rows) == 0 {
			t.Errorf("%s: format %s, %d rows; want %s", c.name, r.Format(), len(rows), c.format)
		}
		f.Close()
	}
}

// onlyReader hides every method but Read, as a pipe would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestWorkbookFromStream: a workbook that is not an io.ReaderAt is copied
// to a temporary file, readable by its owner only and removed by Close; one
// read from the middle of an *os.File starts where the file was.
func TestWorkbookFromStream(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, file := range []string{"adherents-libreoffice.xlsx", "adherents-libreoffice.ods", "adherents-libreoffice.fods"} {
		r, err := sheet.NewReader(onlyReader{bytes.NewReader(fixture(t, file))}, sheet.Options{Sheet: "Dons"})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		entries, _ := os.ReadDir(tmp)
		if len(entries) != 1 {
			t.Errorf("%s: temporary files %v, want the one copy", file, entries)
		}
		for _, e := range entries {
			if info, err := e.Info(); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: temporary file %s mode %v", file, e.Name(), info.Mode())
			}
		}
		if rec, line, err := r.Read(); err != nil || line != 2 || rec[1] != "zoe.lefevre@example.org" {
			t.Errorf("%s: first row %d %q %v", file, line, rec, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("%s: left after Close: %v", file, entries)
		}
	}

	// A file read from an offset: the workbook starts there.
	p := filepath.Join(tmp, "offset.bin")
	if err := os.WriteFile(p, append([]byte("JUNK"), fixture(t, "adherents-libreoffice.ods")...), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(4, io.SeekStart)
	r, rows := readWorkbook(t, f, sheet.Options{})
	if r.Format() != sheet.FormatODS || len(rows) != len(adherentsRows) {
		t.Errorf("from an offset: %s, %d rows", r.Format(), len(rows))
	}
}

// zipOf makes a zip archive of name, content pairs, in order.
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// oleFile is the start of an OLE2 compound file whose directory names
// the streams given, as Excel writes them (UTF-16).
func oleFile(streams ...string) []byte {
	b := make([]byte, 2048)
	copy(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	at := 1024
	for _, s := range append([]string{"Root Entry"}, streams...) {
		for _, c := range []byte(s) {
			b[at], b[at+1] = c, 0
			at += 2
		}
		at += 128 - 2*len(s)
		if at >= len(b) {
			b = append(b, make([]byte, 1024)...)
		}
	}
	return b
}

// TestUnreadableWorkbooks: password-protected, old and damaged workbooks
// get an error that says so and what to do.
func TestUnreadableWorkbooks(t *testing.T) {
	xlsx := fixture(t, "adherents-libreoffice.xlsx")
	for _, c := range []struct {
		name string
		data []byte
		is   error
		msg  string
	}{
		{"encrypted xlsx", oleFile("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"), sheet.ErrEncrypted, "without a password"},
		{"xls", oleFile("Workbook", "\x05SummaryInformation"), sheet.ErrLegacyExcel, ".xls"},
		{"unknown OLE2", oleFile("Contents"), nil, "save it as .xlsx"},
		{"encrypted ods", zipOf(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet",
			"META-INF/manifest.xml", `<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">`+
				`<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data manifest:checksum="x"/></manifest:file-entry></manifest:manifest>`,
			"content.xml", "\x8a\x01binary"), sheet.ErrEncrypted, "password"},
		{"truncated xlsx", xlsx[:len(xlsx)/2], sheet.ErrCorrupt, "not a readable .xlsx or .ods workbook: zip"},
		{"xlsx with a damaged entry", damage(t, xlsx, "xl/worksheets/sheet1.xml"), sheet.ErrCorrupt, "not a readable .xlsx workbook"},
		{"ods without content", zipOf(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet"), sheet.ErrCorrupt, "not a readable .ods workbook: no content.xml"},
		{"ods with broken XML", zipOf(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet", "content.xml",
			`<office:document-content xmlns:office="`+odfOffice+`" xmlns:table="`+odfTable+`"><office:body><office:spreadsheet>`+
				`<table:table table:name="A"><table:table-row><table:table-cell`), sheet.ErrCorrupt, "not a readable .ods workbook"},
		{"text document", zipOf(t, "mimetype", "application/vnd.oasis.opendocument.text"), sheet.ErrCorrupt, "not a spreadsheet"},
		{"other zip", zipOf(t, "photo.jpg", "\xff\xd8"), sheet.ErrCorrupt, "neither an .xlsx nor an .ods"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sheet.NewReader(bytes.NewReader(c.data), sheet.Options{})
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v, want %v with %q", err, c.is, c.msg)
			}
		})
	}
}

// damage rewrites a zip with one entry's compressed bytes flipped.
func damage(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		out := bytes.Clone(data)
		for i := off + 2; i < off+int64(f.CompressedSize64)-2; i++ {
			out[i] ^= 0x55
		}
		return out
	}
	t.Fatalf("no %s", name)
	return nil
}
