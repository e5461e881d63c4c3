package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/assocrm/assocrm/crm/sheet"
)

// outputFormats are the values of --format, as the help and errors say
// them.
const outputFormats = "table, csv, excel-csv, xlsx or json"

// outputFlags are the --format and --out flags of every command that
// prints records.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Value: "table", Usage: "table, csv, excel-csv (for Excel in French), " +
			"xlsx (a workbook, with --out) or json; with --out FILE.xlsx, .csv or .json, the extension is enough"},
		&cli.StringFlag{Name: "out", Usage: "write to `FILE` (whole or not at all, readable by you only) instead of the standard output"},
	}
}

// records is what a listing command prints: typed columns and rows for
// table, CSV, Excel CSV and xlsx output (a table shows each cell's
// Value.String), and the values themselves for JSON.
type records struct {
	columns []sheet.Column
	rows    [][]sheet.Value
	json    any
}

// textColumns are columns of text named names.
func textColumns(names ...string) []sheet.Column {
	cols := make([]sheet.Column, len(names))
	for i, n := range names {
		cols[i] = sheet.Column{Name: n, Kind: sheet.KindText}
	}
	return cols
}

// printRecords writes recs where --out says, in the format named by
// --format.
func printRecords(c *cli.Context, recs records) error {
	o, err := openOutput(c)
	if err != nil {
		return err
	}
	return o.close(c, o.writeRecords(recs))
}

func (o *output) writeRecords(recs records) error {
	switch o.format {
	case "table":
		t := newTable(o.w, columnNames(recs.columns))
		for _, r := range recs.rows {
			t.row(cellTexts(r))
		}
		return t.flush()
	case "json":
		return writeJSON(o.w, recs.json)
	}
	sw, err := o.sheetWriter(recs.columns)
	if err != nil {
		return err
	}
	for _, r := range recs.rows {
		if err := sw.Write(r); err != nil {
			sw.Close()
			return err
		}
	}
	return sw.Close()
}

func columnNames(cols []sheet.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// cellTexts is a row as a table shows it.
func cellTexts(row []sheet.Value) []string {
	out := make([]string, len(row))
	for i, v := range row {
		out[i] = v.String()
	}
	return out
}

// output is where a command prints records, and in which format: the
// standard output, or the file --out names, written under a temporary
// name beside it and renamed into place once whole, so that a failed or
// interrupted listing never leaves a truncated file that looks complete.
type output struct {
	w      *bufio.Writer
	format string
	tmp    *os.File // with --out
	path   string
}

// openOutput reads --format and --out. It refuses an unknown format, a
// format that contradicts --out's extension, and a workbook to a
// terminal (binary, and useless there).
func openOutput(c *cli.Context) (*output, error) {
	format, path := c.String("format"), c.String("out")
	ext := strings.ToLower(filepath.Ext(path))
	extFormat := map[string]string{".xlsx": "xlsx", ".csv": "csv", ".json": "json"}[ext]
	if !c.IsSet("format") && extFormat != "" {
		format = extFormat
	}
	switch format {
	case "table", "csv", "excel-csv", "xlsx", "json":
	default:
		return nil, usagef("--format %q: want %s", format, outputFormats)
	}
	if extFormat != "" && format != extFormat && !(ext == ".csv" && format == "excel-csv") {
		return nil, usagef("--out %q: a %s file name, but --format %s: give the file the extension of its format", path, ext, format)
	}
	if path == "" {
		if _, tty := terminal(stdoutOf(c.App.Writer)); tty && format == "xlsx" {
			return nil, usagef("--format xlsx: a workbook is not for a terminal: add --out FILE.xlsx (or redirect: > FILE.xlsx)")
		}
		return &output{w: bufio.NewWriter(c.App.Writer), format: format}, nil
	}
	// CreateTemp makes the file readable and writable by its owner only,
	// as the database is: a listing holds people's data.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err // the temporary name would puzzle
	}
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	return &output{w: bufio.NewWriter(tmp), format: format, tmp: tmp, path: path}, nil
}

// sheetWriter is a sheet.Writer of the output's format (csv, excel-csv
// or xlsx) with columns.
func (o *output) sheetWriter(columns []sheet.Column) (*sheet.Writer, error) {
	return sheet.NewWriter(o.w, sheet.Format(o.format), columns)
}

// close ends the output after writing, which returned err: what was
// written goes out, and with --out the file is put in place if err is
// nil and removed if not. It returns err, or the first error of its own.
func (o *output) close(c *cli.Context, err error) error {
	// What was written before an error still goes to the standard output.
	if ferr := o.w.Flush(); err == nil {
		err = ferr
	}
	if o.tmp == nil {
		return err
	}
	if err != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		return err
	}
	err = o.tmp.Sync()
	if cerr := o.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.tmp.Name())
		return fmt.Errorf("--out %s: %w", o.path, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "written to %s\n", o.path)
	return nil
}

// stdoutOf is the file under the standard output of a run (which wraps
// it in an outputWriter), to ask whether it is a terminal.
func stdoutOf(w io.Writer) io.Writer {
	if o, ok := w.(*outputWriter); ok {
		return o.w
	}
	return w
}

// table writes rows aligned in columns under an upper-case header.
type table struct {
	tw *tabwriter.Writer
}

// cellSpace turns what would break a table's line or column into spaces.
var cellSpace = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func newTable(w io.Writer, header []string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, strings.ToUpper(strings.Join(header, "\t")))
	return t
}

func (t *table) row(r []string) {
	for i, v := range r {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		cellSpace.WriteString(t.tw, v)
	}
	io.WriteString(t.tw, "\n")
}

// flush writes out the rows so far, aligned among themselves.
func (t *table) flush() error { return t.tw.Flush() }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// outputWriter is the standard output of a run. It keeps the first write
// error and refuses every write after it, so that run can report a
// failed output (a full disk, a closed file) whichever path printed it:
// fmt.Fprintf's ignored result, a deferred Flush, the help and version
// printers of urfave/cli. Without it "crm supporters list > /dev/full"
// printed nothing and exited 0.
type outputWriter struct {
	w   io.Writer
	err error
}

func (o *outputWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	o.err = err
	return n, err
}

// terminal reports whether f (standard input, output or error) is an
// interactive terminal, and returns it as a file if so: progress bars and
// questions are for people, not for scripts.
func terminal(f any) (*os.File, bool) {
	file, ok := f.(*os.File)
	return file, ok && term.IsTerminal(int(file.Fd()))
}
