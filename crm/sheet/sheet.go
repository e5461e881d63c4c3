// Package sheet reads the CSV files that associations really have:
// Excel exports from French Windows (semicolons, Windows-1252), UTF-8 with
// or without a byte order mark, UTF-16, old Mac line endings, blank lines
// before the header and rows of uneven length. It streams: memory use does
// not grow with the file.
package sheet

import (
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
}

var delimiters = []rune{',', ';', '\t', '|'}

// Delimiters returns the separators Options.Delimiter may take and
// sniffing chooses from, in a slice of the caller's.
func Delimiters() []rune { return slices.Clone(delimiters) }

// ErrNoHeader means the input holds no header line: it is empty or blank.
var ErrNoHeader = errors.New("no header line (the file is empty)")

// Reader reads a header and then records, one at a time.
type Reader struct {
	csv      *csv.Reader
	header   []string
	enc      string
	delim    rune
	fallback *utf8OrWindows1252
	quotes   *quoteTracker
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

// NewReader detects the encoding and the delimiter, skips blank lines and
// reads the header. It returns ErrNoHeader for an empty input and an
// error naming the option for a bad Options value.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	enc, dec, err := chooseEncoding(br, opts.Encoding)
	if err != nil {
		return nil, err
	}
	sr := &Reader{enc: enc}
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

// Header returns the header cells, with white space folded.
func (r *Reader) Header() []string { return r.header }

// Delimiter returns the field separator in use.
func (r *Reader) Delimiter() rune { return r.delim }

// Encoding returns the name of the encoding the file was read with. For a
// file without a byte order mark it says "windows-1252" as soon as a byte
// that is not UTF-8 has been seen.
func (r *Reader) Encoding() string {
	if r.fallback != nil && r.fallback.replaced {
		return "windows-1252"
	}
	return r.enc
}

// Read returns the next record that has at least one non-blank field, and
// the line it starts on. The slice is reused by the next call. Records may
// be shorter or longer than the header. A malformed record returns a
// *csv.ParseError and reading can go on; the end is io.EOF.
func (r *Reader) Read() (record []string, line int, err error) {
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

// InputOffset returns how many bytes of decoded text have been consumed.
func (r *Reader) InputOffset() int64 { return r.csv.InputOffset() }

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimFunc(f, isBlankRune) != "" {
			return false
		}
	}
	return true
}

func isBlankRune(r rune) bool { return unicode.IsSpace(r) }
