package sheet

import (
	"archive/zip"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// widthSample is how many first rows an xlsx writer keeps in memory to
// size its columns: a stream writer must set the widths before the first
// row, and the first rows of a listing are a fair sample of the others.
const widthSample = 500

// Column widths, in Excel's units (about one digit of the default font).
const (
	minWidth = 6
	maxWidth = 60
)

// The display formats of typed cells. Dates are shown the French way,
// the way the associations this is for read them; they are real dates,
// so a reader elsewhere changes their display in one click, and a
// program reading the shown text gets a date crm.ParseDate reads.
const (
	dateFormat     = "dd/mm/yyyy"
	dateTimeFormat = "dd/mm/yyyy hh:mm"
)

// currencySymbols are the symbols shown after amounts of the currencies
// associations use most; any other amount is followed by its code.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF"}

// xlsxWriter writes a workbook of one sheet through excelize's stream
// writer, which keeps rows in a temporary file past 16 MB.
type xlsxWriter struct {
	out     io.Writer
	file    *excelize.File
	stream  *excelize.StreamWriter
	columns []Column
	sample  [][]Value // the first rows, until the widths are set
	started bool
	row     int // the number of the last row written (1 is the header)
	cells   []any

	header, date, dateTime, quoted int
	money                          map[string]int
}

func newXLSXWriter(out io.Writer, columns []Column) (*xlsxWriter, error) {
	f := excelize.NewFile()
	x := &xlsxWriter{out: out, file: f, columns: columns, cells: make([]any, len(columns)), money: map[string]int{}}
	err := x.setUp()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return x, nil
}

func (x *xlsxWriter) setUp() error {
	var err error
	if x.stream, err = x.file.NewStreamWriter(x.file.GetSheetName(0)); err != nil {
		return err
	}
	if x.header, err = x.file.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	if x.date, err = x.file.NewStyle(&excelize.Style{CustomNumFmt: ptr(dateFormat)}); err != nil {
		return err
	}
	if x.dateTime, err = x.file.NewStyle(&excelize.Style{CustomNumFmt: ptr(dateTimeFormat)}); err != nil {
		return err
	}
	// A neutralised text cell is a text cell (format "@") with Excel's
	// quote prefix: the apostrophe a person types before "=" to mean
	// text. Excel shows the text as it is, shows the apostrophe in the
	// formula bar, and keeps the cell text when it is edited; the value
	// read back is the stored one. excelize's Style has no field for it,
	// so it is set on the cell format NewStyle made, which no other style
	// of this workbook shares (none other uses format 49).
	if x.quoted, err = x.file.NewStyle(&excelize.Style{NumFmt: 49}); err != nil {
		return err
	}
	xfs := x.file.Styles.CellXfs
	if xfs == nil || x.quoted <= 0 || x.quoted >= len(xfs.Xf) {
		return fmt.Errorf("no cell format for quoted text")
	}
	quote := true
	xfs.Xf[x.quoted].QuotePrefix = &quote
	return nil
}

func ptr[T any](v T) *T { return &v }

func (x *xlsxWriter) write(row []Value) error {
	if !x.started {
		if len(x.sample) < widthSample {
			x.sample = append(x.sample, append([]Value(nil), row...))
			return nil
		}
		if err := x.start(); err != nil {
			return err
		}
	}
	return x.writeRow(row)
}

// start sets the column widths from the header and the sample, freezes
// the header row, and writes it and the sample.
func (x *xlsxWriter) start() error {
	x.started = true
	// Backwards: excelize puts each width set in front of the others,
	// and Excel wants them in column order.
	for i := len(x.columns) - 1; i >= 0; i-- {
		c := x.columns[i]
		w := float64(utf8.RuneCountInString(c.Name)) * 1.2 // bold
		w = max(w, kindWidth(c.Kind))
		for _, row := range x.sample {
			w = max(w, cellWidth(row[i]))
		}
		w = math.Round(min(max(w+2, minWidth), maxWidth))
		if err := x.stream.SetColWidth(i+1, i+1, w); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	err := x.stream.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	for i, c := range x.columns {
		x.cells[i] = excelize.Cell{StyleID: x.header, Value: c.Name}
	}
	if err := x.setRow(); err != nil {
		return err
	}
	for _, row := range x.sample {
		if err := x.writeRow(row); err != nil {
			return err
		}
	}
	x.sample = nil
	return nil
}

func (x *xlsxWriter) writeRow(row []Value) error {
	for i, v := range row {
		c, err := x.cell(v)
		if err != nil {
			return fmt.Errorf("xlsx: row %d, column %s: %w", x.row+1, x.columns[i].Name, err)
		}
		x.cells[i] = c
	}
	return x.setRow()
}

func (x *xlsxWriter) setRow() error {
	x.row++
	if x.row > excelize.TotalRows {
		return fmt.Errorf("xlsx: more than %d rows, the most a worksheet holds: write csv", excelize.TotalRows-1)
	}
	ref, _ := excelize.CoordinatesToCellName(1, x.row)
	if err := x.stream.SetRow(ref, x.cells); err != nil {
		return fmt.Errorf("xlsx: row %d: %w", x.row, err)
	}
	return nil
}

// cell is v as excelize writes it: nil for an empty cell.
func (x *xlsxWriter) cell(v Value) (any, error) {
	switch v.kind {
	case KindInteger:
		return v.n, nil
	case KindDecimal:
		return v.f, nil
	case KindMoney:
		style, err := x.moneyStyle(v.text)
		if err != nil {
			return nil, err
		}
		// Through the decimal text, so that the number is the nearest
		// to the amount and shows as it.
		f, _ := strconv.ParseFloat(v.String(), 64)
		return excelize.Cell{StyleID: style, Value: f}, nil
	case KindDate:
		y, m, d := v.t.Date()
		return excelize.Cell{StyleID: x.date, Value: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}, nil
	case KindDateTime:
		return excelize.Cell{StyleID: x.dateTime, Value: wallClock(v.t)}, nil
	case KindBoolean:
		return v.n == 1, nil
	}
	switch {
	case v.text == "":
		return nil, nil
	case NeedsNeutralizing(v.text):
		return excelize.Cell{StyleID: x.quoted, Value: v.text}, nil
	}
	return v.text, nil
}

// wallClock is the time t shows in its location, as a UTC time: a
// workbook knows no time zones, and excelize would otherwise shift it.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// moneyStyle is the cell style of amounts of currency: thousands grouped,
// the currency's decimals, its symbol after the number (#,##0.00 "€").
// Excel shows the separators of the reader's settings.
func (x *xlsxWriter) moneyStyle(currency string) (int, error) {
	if id, ok := x.money[currency]; ok {
		return id, nil
	}
	format := moneyFormat(currency)
	id, err := x.file.NewStyle(&excelize.Style{CustomNumFmt: &format})
	if err != nil {
		return 0, err
	}
	x.money[currency] = id
	return id, nil
}

func moneyFormat(currency string) string {
	format := "#,##0"
	if scale := currencyScale(currency); scale > 0 {
		format += "." + strings.Repeat("0", scale)
	}
	symbol := currencySymbols[currency]
	if symbol == "" {
		symbol = currency
	}
	return format + ` "` + strings.ReplaceAll(symbol, `"`, "") + `"`
}

// kindWidth is the width a column of kind needs before any row is seen.
func kindWidth(k Kind) float64 {
	switch k {
	case KindDate:
		return float64(len(dateFormat))
	case KindDateTime:
		return float64(len(dateTimeFormat))
	case KindMoney:
		return 10
	case KindBoolean:
		return 5
	}
	return 0
}

// cellWidth is the width v needs as Excel shows it.
func cellWidth(v Value) float64 {
	switch v.kind {
	case KindText:
		w := 0
		for line := range strings.Lines(v.text) {
			w = max(w, utf8.RuneCountInString(strings.TrimRight(line, "\r\n")))
		}
		return float64(w)
	case KindMoney:
		s := v.String()
		digits := len(strings.TrimPrefix(s, "-"))
		if i := strings.IndexByte(s, '.'); i >= 0 {
			digits = len(strings.TrimPrefix(s[:i], "-"))
		}
		symbol := currencySymbols[v.text]
		if symbol == "" {
			symbol = v.text
		}
		return float64(len(s) + (digits-1)/3 + 1 + utf8.RuneCountInString(symbol))
	case KindDate, KindDateTime, KindBoolean:
		return kindWidth(v.kind)
	}
	return float64(len(v.String()))
}

// close writes the rows left and the workbook. The zip archive goes
// straight to out rather than through the memory buffer excelize's Write
// fills.
func (x *xlsxWriter) close() error {
	err := x.finish()
	// Close removes the stream's temporary file, whatever happened.
	if cerr := x.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("xlsx: %w", cerr)
	}
	return err
}

func (x *xlsxWriter) finish() error {
	if !x.started {
		if err := x.start(); err != nil {
			return err
		}
	}
	if err := x.stream.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	x.file.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.out) })
	if err := x.file.Write(io.Discard); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}
