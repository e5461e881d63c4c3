// Package sheet reads the files that associations really have, behind one
// row reader: CSV as Excel exports it from French Windows (semicolons,
// Windows-1252), UTF-8 with or without a byte order mark, UTF-16, old Mac
// line endings, blank lines before the header and rows of uneven length;
// and Excel (.xlsx) and LibreOffice (.ods, .fods) workbooks, with a title
// above the header, dates, numbers shown with leading zeros and formulas.
// The format is recognised from the content, not the file's name. It
// streams: memory use does not grow with the file.
package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Options says what not to guess. Zero values mean "detect".
type Options struct {
	// Delimiter is the field separator; 0 sniffs it among ',', ';', TAB
	// and '|' from the header line.
	Delimiter rune
	// Encoding is "utf-8", "windows-1252", "iso-8859-1" (or "latin1"),
	// "utf-16le" or "utf-16be"; "" detects it: a byte order mark decides,
	// else UTF-8 with any invalid byte read as Windows-1252.
	Encoding string
	// Sheet chooses the sheet of a workbook: its name (exact, else
	// without regard to case and accents) or its 1-based number. "" takes
	// the first sheet that has a non-empty cell. A CSV file has no sheets:
	// naming one is an error. Delimiter and Encoding do not apply to
	// workbooks.
	Sheet string
}

var delimiters = []rune{',', ';', '\t', '|'}

// Delimiters returns the separators Options.Delimiter may take and
// sniffing chooses from, in a slice of the caller's.
func Delimiters() []rune { return slices.Clone(delimiters) }

// ErrNoHeader means the input holds no header line: it is empty or blank.
var ErrNoHeader = errors.New("no header line (the file is empty)")

// Reader reads a header and then records, one at a time. Close it when
// done: a workbook may hold temporary files.
type Reader struct {
	csv      *csv.Reader
	header   []string
	enc      string
	delim    rune
	fallback *utf8OrWindows1252
	quotes   *quoteTracker

	format string          // FormatCSV, FormatXLSX or FormatODS
	sheet  string          // the workbook's sheet being read
	wb     *workbookReader // nil for CSV
	ra     *randomAccess   // the workbook's file
}

// UnterminatedQuoteError means a quoted field was still open at the end
// of the file: encoding/csv, reading leniently, would have made the rest
// of the file one field. Line is where the quote opened.
type UnterminatedQuoteError struct{ Line int }

// Error gives the line where the quote opened.
func (e *UnterminatedQuoteError) Error() string {
	return fmt.Sprintf("line %d: a quote (\") opens a field that is never closed: it would swallow the rest of the file", e.Line)
}

// quoteTracker follows, as the text goes to encoding/csv, whether it is
// inside a quoted field, with the same lenient rules (LazyQuotes): a
// field is quoted when it starts with a quote; inside, "" is a quote and
// a quote ends the field only before a delimiter or a line end. At the end
// of the input inside such a field it returns *UnterminatedQuoteError
// instead of io.EOF. The delimiter is ASCII, so bytes are enough.
type quoteTracker struct {
	r          io.Reader
	delim      byte
	line       int
	fieldStart bool
	inQuotes   bool
	quoteSeen  bool // a quote inside a quoted field, decided by the next byte
	openLine   int
}

func (q *quoteTracker) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	for _, c := range p[:n] {
		if q.inQuotes {
			if q.quoteSeen {
				switch c {
				case '"':
					q.quoteSeen = false
					continue
				case '\r':
					continue
				case q.delim, '\n':
					q.inQuotes, q.quoteSeen = false, false
				default:
					q.quoteSeen = false // a bare quote, kept
					continue
				}
			} else {
				switch c {
				case '"':
					q.quoteSeen = true
				case '\n':
					q.line++
				}
				continue
			}
		}
		switch c {
		case '"':
			if q.fieldStart {
				q.inQuotes, q.openLine = true, q.line
			}
			q.fieldStart = false
		case q.delim:
			q.fieldStart = true
		case '\n':
			q.line++
			q.fieldStart = true
		default:
			q.fieldStart = false
		}
	}
	if errors.Is(err, io.EOF) && q.inQuotes && !q.quoteSeen {
		return n, &UnterminatedQuoteError{Line: q.openLine}
	}
	return n, err
}

// sniffBytes is how much of the decoded input is looked at to guess the
// delimiter and the encoding.
const sniffBytes = 64 << 10

// NewReader recognises the format from the first bytes: an .xlsx or .ods
// workbook (a zip archive), a flat .fods (XML), or else CSV text. For CSV
// it detects the encoding and the delimiter; for a workbook it chooses the
// sheet (see Options.Sheet). It skips blank lines and reads the header,
// which in a workbook is the first row with two non-blank cells or more
// (a title above it is skipped). A workbook is read from r directly when
// r is an io.ReaderAt of known size (*os.File, *bytes.Reader,
// *strings.Reader, or one with a Size() int64 method), else from a copy
// in a temporary file.
//
// It returns ErrNoHeader for an empty input, an error naming the option
// for a bad Options value, *SheetNotFoundError when Options.Sheet names
// no sheet, ErrEncrypted for a workbook protected by a password,
// ErrLegacyExcel for an .xls, and a *CorruptError (errors.Is ErrCorrupt)
// for a workbook that cannot be read.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	if kind := sniffFormat(br); kind != "" {
		return newWorkbookReader(r, br, kind, opts.Sheet)
	}
	if opts.Sheet != "" {
		return nil, fmt.Errorf("sheet %q: the file is CSV text, which has no sheets", opts.Sheet)
	}
	enc, dec, err := chooseEncoding(br, opts.Encoding)
	if err != nil {
		return nil, err
	}
	sr := &Reader{enc: enc, format: FormatCSV}
	var t transform.Transformer
	if dec != nil {
		t = transform.Chain(dec.NewDecoder(), dropNUL{}, crToLF{})
	} else {
		sr.fallback = &utf8OrWindows1252{}
		t = transform.Chain(sr.fallback, crToLF{})
	}
	text := bufio.NewReaderSize(transform.NewReader(br, t), sniffBytes)
	head, err := text.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read: %w", err)
	}
	if sr.fallback != nil && sr.fallback.replaced {
		sr.enc = "windows-1252"
	}
	switch {
	case opts.Delimiter == 0:
		sr.delim = sniffDelimiter(head)
	case !validDelimiter(opts.Delimiter):
		return nil, fmt.Errorf("delimiter %q: want one of , ; | or TAB", opts.Delimiter)
	default:
		sr.delim = opts.Delimiter
	}
	sr.quotes = &quoteTracker{r: text, delim: byte(sr.delim), line: 1, fieldStart: true}
	sr.csv = csv.NewReader(sr.quotes)
	sr.csv.Comma = sr.delim
	sr.csv.FieldsPerRecord = -1
	sr.csv.LazyQuotes = true
	sr.csv.ReuseRecord = true
	rec, _, err := sr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrNoHeader
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	sr.header = make([]string, len(rec))
	for i, h := range rec {
		sr.header[i] = strings.Join(strings.Fields(strings.TrimPrefix(h, "\ufeff")), " ")
	}
	return sr, nil
}

func validDelimiter(d rune) bool {
	for _, c := range delimiters {
		if c == d {
			return true
		}
	}
	return false
}

// chooseEncoding reads a byte order mark if there is one, and returns the
// encoding's name and decoder; a nil decoder means the UTF-8 with
// Windows-1252 fallback.
func chooseEncoding(br *bufio.Reader, name string) (string, encoding.Encoding, error) {
	bom, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(bom, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		return "utf-8", nil, nil
	case bytes.HasPrefix(bom, []byte{0xFF, 0xFE}):
		return "utf-16le", xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM), nil
	case bytes.HasPrefix(bom, []byte{0xFE, 0xFF}):
		return "utf-16be", xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM), nil
	}
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "":
		return "utf-8", nil, nil
	case "utf-8", "utf8":
		return "utf-8", xunicode.UTF8, nil
	case "windows-1252", "cp1252":
		return "windows-1252", charmap.Windows1252, nil
	case "iso-8859-1", "latin1", "latin-1":
		return "iso-8859-1", charmap.ISO8859_1, nil
	case "iso-8859-15", "latin9":
		return "iso-8859-15", charmap.ISO8859_15, nil
	case "utf-16le":
		return "utf-16le", xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM), nil
	case "utf-16be":
		return "utf-16be", xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM), nil
	}
	return "", nil, fmt.Errorf("encoding %q: want utf-8, windows-1252, iso-8859-1, iso-8859-15, utf-16le or utf-16be", name)
}

// sniffDelimiter picks the candidate that splits the first non-blank
// record (outside quotes, which may hold newlines) into the most fields.
// Ties go to the earlier candidate; a record with none of them is one
// column, read with ','.
func sniffDelimiter(head []byte) rune {
	counts := make([]int, len(delimiters))
	inQuotes, content := false, false
	for _, c := range string(head) {
		switch {
		case c == '"':
			inQuotes = !inQuotes
			content = true
		case inQuotes:
		case c == '\n':
			if content {
				return bestDelimiter(counts)
			}
			clear(counts)
		default:
			for i, d := range delimiters {
				if c == d {
					counts[i]++
				}
			}
			if !unicode.IsSpace(c) && !validDelimiter(c) {
				content = true
			}
		}
	}
	return bestDelimiter(counts)
}

func bestDelimiter(counts []int) rune {
	best, bestCount := ',', 0
	for i, n := range counts {
		if n > bestCount {
			best, bestCount = delimiters[i], n
		}
	}
	return best
}

// newWorkbookReader opens a workbook of the kind sniffFormat saw.
func newWorkbookReader(r io.Reader, br *bufio.Reader, kind, sheet string) (*Reader, error) {
	ra, err := openRandomAccess(r, br)
	if err != nil {
		return nil, err
	}
	var b book
	format := FormatODS
	switch kind {
	case "ole":
		err = oleError(ra)
	case "fods":
		b, err = newODS(ra, nil)
	default:
		var zr *zip.Reader
		if zr, format, err = zipKind(ra); err != nil {
			break
		}
		if format == FormatXLSX {
			b, err = newXLSX(ra, zr)
		} else {
			b, err = newODS(ra, zr)
		}
	}
	if err != nil {
		ra.close()
		return nil, err
	}
	wr, header, name, err := openWorkbook(b, sheet)
	if err != nil {
		b.close()
		ra.close()
		return nil, err
	}
	return &Reader{header: header, format: format, sheet: name, wb: wr, ra: ra}, nil
}

// Header returns the header cells, with white space folded.
func (r *Reader) Header() []string { return r.header }

// Format returns what the file is: FormatCSV, FormatXLSX or FormatODS
// (for .ods and .fods).
func (r *Reader) Format() string { return r.format }

// Sheet returns the name of the workbook's sheet being read; "" for CSV.
func (r *Reader) Sheet() string { return r.sheet }

// Close releases what the reader holds: a workbook's temporary files. It
// does not close the io.Reader given to NewReader.
func (r *Reader) Close() error {
	if r.wb == nil {
		return nil
	}
	err := r.wb.close()
	if rerr := r.ra.close(); err == nil {
		err = rerr
	}
	return err
}

// Delimiter returns the field separator in use; 0 for a workbook.
func (r *Reader) Delimiter() rune { return r.delim }

// Encoding returns the name of the encoding the file was read with ("" for
// a workbook). For a file without a byte order mark it says
// "windows-1252" as soon as a byte that is not UTF-8 has been seen.
func (r *Reader) Encoding() string {
	if r.fallback != nil && r.fallback.replaced {
		return "windows-1252"
	}
	return r.enc
}

// Read returns the next record that has at least one non-blank field, and
// the line it starts on: in a workbook, the sheet's row number, as Excel
// and LibreOffice show it. The slice is reused by the next call. Records
// may be shorter or longer than the header. A malformed record returns an
// error with its line (a *csv.ParseError for CSV) and reading can go on;
// an error with line 0 ends the file. The end is io.EOF.
func (r *Reader) Read() (record []string, line int, err error) {
	if r.wb != nil {
		return r.wb.read()
	}
	for {
		rec, err := r.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
				return nil, pe.StartLine, err
			}
			if !errors.Is(err, csv.ErrFieldCount) {
				return nil, 0, err
			}
		}
		line, _ = r.csv.FieldPos(0)
		if blank(rec) {
			continue
		}
		return rec, line, nil
	}
}

// InputOffset tells how far reading has got, growing as records are read:
// for CSV, the bytes of decoded text consumed; for an .ods, the bytes of
// the file read (estimated from the unpacked XML read); for an .xlsx,
// which is unpacked when opened, 0 until the last record, then the file's
// size.
func (r *Reader) InputOffset() int64 {
	if r.wb != nil {
		return r.wb.rows.offset()
	}
	return r.csv.InputOffset()
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimFunc(f, isBlankRune) != "" {
			return false
		}
	}
	return true
}

func isBlankRune(r rune) bool { return unicode.IsSpace(r) }
