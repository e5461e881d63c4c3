package sheet

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
)

// Rejects collects the rows an import rejected and writes them as a file
// a person can fix and import again: the input's header and a "reason"
// column ("line 12: email: not an email address"), each row padded to the
// header's width, with the input's delimiter, in UTF-8 with a byte order
// mark so that Excel reads it as UTF-8. Every cell is text as it was
// read, so each one a spreadsheet could take for a formula is
// neutralised (see Neutralize): "=HYPERLINK(...)" is written
// "'=HYPERLINK(...)". Rows are kept in a temporary file, readable by its
// owner only, until the header is known to be final: memory does not
// grow with them.
type Rejects struct {
	tmp  *os.File
	rows *csv.Writer
}

// NewRejects starts collecting in a temporary file in dir (the system's
// temporary folder if dir is ""). Close removes the file.
func NewRejects(dir string) (*Rejects, error) {
	tmp, err := os.CreateTemp(dir, ".rejects-*.csv")
	if err != nil {
		return nil, err
	}
	return &Rejects{tmp: tmp, rows: csv.NewWriter(tmp)}, nil
}

// Add collects a rejected record, its cells as read, found at line; column
// is the header of the cell at fault ("" for the whole row). A failure to
// write is reported by WriteCSV.
func (r *Rejects) Add(line int, column, reason string, record []string) {
	if column != "" {
		reason = column + ": " + reason
	}
	r.rows.Write(append(append([]string(nil), record...), fmt.Sprintf("line %d: %s", line, reason)))
}

// WriteCSV writes the rows collected so far to w, under header and a
// "reason" column, separated by delimiter (one of Delimiters).
func (r *Rejects) WriteCSV(w io.Writer, header []string, delimiter rune) error {
	if !validDelimiter(delimiter) {
		return fmt.Errorf("delimiter %q: want one of , ; | or TAB", delimiter)
	}
	r.rows.Flush()
	if err := r.rows.Error(); err != nil {
		return err
	}
	if _, err := r.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	out := csv.NewWriter(w)
	out.Comma = delimiter
	out.Write(neutralizeAll(append(append([]string(nil), header...), "reason")))
	rd := csv.NewReader(r.tmp)
	rd.FieldsPerRecord = -1
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		reason := rec[len(rec)-1]
		cells := rec[:len(rec)-1]
		for len(cells) < len(header) {
			cells = append(cells, "")
		}
		out.Write(neutralizeAll(append(cells, reason)))
	}
	out.Flush()
	if _, err := r.tmp.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	return out.Error()
}

// Close removes the temporary file.
func (r *Rejects) Close() error {
	r.tmp.Close()
	return os.Remove(r.tmp.Name())
}

// neutralizeAll neutralises every cell of record in place and returns it.
func neutralizeAll(record []string) []string {
	for i, v := range record {
		record[i] = Neutralize(v)
	}
	return record
}
