package sheet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Limits on what a workbook may expand to, as Excel's own: a sheet has at
// most maxRows rows and maxColumns columns. Repeated rows and cells (an
// .ods writes one element for many identical ones) are expanded only when
// they hold something, and at most maxExpanded cells in all, so a small
// file cannot make the reader produce millions of copies.
const (
	maxRows     = 1 << 20 // 1,048,576
	maxColumns  = 1 << 14 // 16,384
	maxExpanded = 1 << 24
)

// headerLookahead is how many non-blank rows are looked at to find the
// header, the first with two cells or more: workbooks often start with a
// title and a blank row.
const headerLookahead = 10

// book is a workbook format's side of the Reader: its sheets by name, each
// read as rows.
type book interface {
	// sheetNames lists the sheets in the workbook's order.
	sheetNames() ([]string, error)
	// openSheet starts reading the i-th sheet; errNoSheet when there is no
	// such sheet.
	openSheet(i int) (rows, string, error)
	close() error
}

// rows reads one sheet.
type rows interface {
	// next returns the next row that has a non-blank cell, without its
	// trailing empty cells, and its row number in the sheet. An error with
	// a row number concerns that row only; the end is io.EOF. The slice
	// may be reused by the next call.
	next() ([]string, int, error)
	// offset is how far in the file reading has got, for progress.
	offset() int64
}

var errNoSheet = errors.New("no such sheet")

// SheetNotFoundError means Options.Sheet names no sheet of the workbook.
type SheetNotFoundError struct {
	Sheet  string   // as asked
	Sheets []string // the workbook's sheets, in order
}

// Error lists the sheets the workbook has.
func (e *SheetNotFoundError) Error() string {
	quoted := make([]string, len(e.Sheets))
	for i, s := range e.Sheets {
		quoted[i] = strconv.Quote(s)
	}
	if len(quoted) == 0 {
		return fmt.Sprintf("sheet %q: the workbook has no sheet", e.Sheet)
	}
	return fmt.Sprintf("sheet %q: the workbook has %s", e.Sheet, strings.Join(quoted, ", "))
}

// matchSheet finds the sheet that want names: the exact name, else the
// name compared without case and accents, else a 1-based number.
func matchSheet(names []string, want string) (int, error) {
	for i, n := range names {
		if n == want {
			return i, nil
		}
	}
	k := foldName(want)
	for i, n := range names {
		if foldName(n) == k {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(want)); err == nil && n >= 1 && n <= len(names) {
		return n - 1, nil
	}
	return 0, &SheetNotFoundError{Sheet: want, Sheets: names}
}

// foldName is a sheet name without case, accents and extra spaces.
func foldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// bufRow is a row read ahead, kept until Read returns it.
type bufRow struct {
	rec  []string
	line int
}

// workbookReader is the Reader's state for a workbook: the sheet's rows
// and the rows read ahead while looking for the header.
type workbookReader struct {
	book    book
	rows    rows
	pending []bufRow
}

// openWorkbook chooses the sheet (the first with a non-blank cell when
// want is ""), finds its header and returns the reader, the header and the
// sheet's name.
func openWorkbook(b book, want string) (*workbookReader, []string, string, error) {
	wr := &workbookReader{book: b}
	var name string
	if want == "" {
		for i := 0; ; i++ {
			r, n, err := b.openSheet(i)
			if errors.Is(err, errNoSheet) {
				return nil, nil, "", ErrNoHeader
			}
			if err != nil {
				return nil, nil, "", err
			}
			rec, line, err := r.next()
			if errors.Is(err, io.EOF) {
				continue
			}
			if err != nil && line == 0 {
				return nil, nil, "", fmt.Errorf("sheet %q: %w", n, err)
			}
			wr.rows, name = r, n
			if err == nil {
				wr.pending = append(wr.pending, bufRow{append([]string(nil), rec...), line})
			}
			break
		}
	} else {
		names, err := b.sheetNames()
		if err != nil {
			return nil, nil, "", err
		}
		i, err := matchSheet(names, want)
		if err != nil {
			return nil, nil, "", err
		}
		if wr.rows, name, err = b.openSheet(i); err != nil {
			return nil, nil, "", err
		}
	}
	header, err := wr.findHeader()
	if err != nil {
		return nil, nil, "", fmt.Errorf("sheet %q: %w", name, err)
	}
	return wr, header, name, nil
}

// findHeader takes the first row with at least two non-blank cells among
// the first few, dropping the rows above it (a title); when there is none
// it takes the first row, and the others stay data.
func (wr *workbookReader) findHeader() ([]string, error) {
	seen := wr.pending
	wr.pending = nil
	for i := 0; ; i++ {
		if i == len(seen) {
			if len(seen) == headerLookahead {
				break
			}
			rec, line, err := wr.rows.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", line, err)
			}
			seen = append(seen, bufRow{append([]string(nil), rec...), line})
		}
		if filled(seen[i].rec) >= 2 {
			wr.pending = seen[i+1:]
			return foldHeader(seen[i].rec), nil
		}
	}
	if len(seen) == 0 {
		return nil, ErrNoHeader
	}
	wr.pending = seen[1:]
	return foldHeader(seen[0].rec), nil
}

func foldHeader(rec []string) []string {
	h := make([]string, len(rec))
	for i, c := range rec {
		h[i] = strings.Join(strings.Fields(c), " ")
	}
	return h
}

// filled counts the non-blank cells of a row.
func filled(rec []string) int {
	n := 0
	for _, c := range rec {
		if strings.TrimFunc(c, isBlankRune) != "" {
			n++
		}
	}
	return n
}

func (wr *workbookReader) read() ([]string, int, error) {
	if len(wr.pending) > 0 {
		r := wr.pending[0]
		wr.pending = wr.pending[1:]
		return r.rec, r.line, nil
	}
	return wr.rows.next()
}

func (wr *workbookReader) close() error { return wr.book.close() }
