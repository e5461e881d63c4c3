package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// formatFlag is the --format flag of every command that prints records.
func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "table", Usage: "output format: table, csv or json"}
}

// records is what a listing command prints: a header and rows for table
// and CSV output, and the values themselves for JSON.
type records struct {
	header []string
	rows   [][]string
	json   any
}

// printRecords writes recs to w in the format named by the --format flag.
func printRecords(c *cli.Context, recs records) error {
	w := c.App.Writer
	switch f := c.String("format"); f {
	case "table":
		return writeTable(w, recs.header, recs.rows)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(recs.header); err != nil {
			return err
		}
		if err := cw.WriteAll(recs.rows); err != nil {
			return err
		}
		return cw.Error()
	case "json":
		return writeJSON(w, recs.json)
	default:
		return usagef("--format %q: want table, csv or json", f)
	}
}

func writeTable(w io.Writer, header []string, rows [][]string) error {
	t := newTable(w, header)
	for _, r := range rows {
		t.row(r)
	}
	return t.flush()
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
