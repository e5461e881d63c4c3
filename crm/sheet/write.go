package sheet

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
)

// Format is a file format NewWriter writes.
type Format string

// The formats NewWriter writes.
const (
	// CSV is RFC 4180: comma-separated UTF-8 without a byte order mark,
	// lines ending in "\n", amounts with a decimal dot, dates and
	// date-times as Value.String writes them. What scripts and other
	// programs read.
	CSV Format = "csv"
	// ExcelCSV is what French Excel opens in columns with a double
	// click: UTF-8 with a byte order mark, ';' between cells, lines
	// ending in CRLF, decimal commas (1234,56), ISO dates (2026-12-05)
	// and date-times (2026-12-05 14:30:00), booleans as VRAI and FAUX.
	ExcelCSV Format = "excel-csv"
	// XLSX is an Excel workbook of one sheet: a bold header frozen above
	// the rows, numbers, amounts (with their currency's format) and dates
	// (shown dd/mm/yyyy) as typed cells, and columns as wide as their
	// content. A text that begins like a formula keeps its value and gets
	// Excel's quote prefix, the cell form of the apostrophe a person
	// types before "=": it is shown as it is and stays text when edited.
	XLSX Format = "xlsx"
)

// Formats returns the formats NewWriter writes, in a slice of the
// caller's.
func Formats() []Format { return []Format{CSV, ExcelCSV, XLSX} }

// Column is a column of a file a Writer writes: its header, and the kind
// of its values. The kind sizes the column in a workbook before its rows
// are seen; each Value still carries its own kind, so a column of mixed
// values (field and value listings) is declared KindText.
type Column struct {
	Name string
	Kind Kind
}

// Writer writes rows of typed cells as a CSV, Excel CSV or xlsx file.
// Every text cell that a spreadsheet could take for a formula is
// neutralised: a leading apostrophe in CSV and Excel CSV (see
// Neutralize), the quote prefix in xlsx. Numbers, amounts and dates are
// not text and are written as they are. Nothing is complete until Close
// returns nil, and Close must be called even after an error.
type Writer struct {
	csv     *csv.Writer
	excel   bool // ExcelCSV: French number and date forms
	xlsx    *xlsxWriter
	columns []Column
	rows    int
	cells   []string
}

// NewWriter returns a Writer of format to w, with a header of columns'
// names. A CSV writer writes the header at once; an xlsx writer keeps
// its first rows in memory to size the columns, then streams the others
// to a temporary file, and writes the workbook to w on Close, so memory
// does not grow with the rows. It returns an error for an unknown format
// or no columns.
func NewWriter(w io.Writer, format Format, columns []Column) (*Writer, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("sheet: a file needs at least one column")
	}
	wr := &Writer{columns: slices.Clone(columns)}
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = Neutralize(c.Name)
	}
	switch format {
	case CSV:
		wr.csv = csv.NewWriter(w)
	case ExcelCSV:
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return nil, err
		}
		wr.csv = csv.NewWriter(w)
		wr.csv.Comma = ';'
		wr.csv.UseCRLF = true
		wr.excel = true
	case XLSX:
		x, err := newXLSXWriter(w, wr.columns)
		if err != nil {
			return nil, err
		}
		wr.xlsx = x
		return wr, nil
	default:
		return nil, fmt.Errorf("sheet: format %q: want csv, excel-csv or xlsx", format)
	}
	wr.csv.Write(header)
	wr.cells = make([]string, len(columns))
	return wr, nil
}

// Write writes one row, a cell for each column. A row of another length
// is an error naming it; a failed write may be reported here or by
// Close.
func (w *Writer) Write(row []Value) error {
	w.rows++
	if len(row) != len(w.columns) {
		return fmt.Errorf("sheet: row %d has %d cells for %d columns", w.rows, len(row), len(w.columns))
	}
	if w.xlsx != nil {
		return w.xlsx.write(row)
	}
	for i, v := range row {
		switch {
		case v.kind == KindText:
			w.cells[i] = Neutralize(v.text)
		case w.excel:
			w.cells[i] = v.excelText()
		default:
			w.cells[i] = v.String()
		}
	}
	return w.csv.Write(w.cells)
}

// Close writes what is left: the buffered CSV lines, or the whole
// workbook, whose temporary files it removes. It returns the first error
// met in writing.
func (w *Writer) Close() error {
	if w.xlsx != nil {
		return w.xlsx.close()
	}
	w.csv.Flush()
	return w.csv.Error()
}
