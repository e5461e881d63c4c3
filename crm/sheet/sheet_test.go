package sheet_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/assocrm/assocrm/crm/sheet"
)

func utf16(s string, order unicode.Endianness) string {
	b, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func win1252(s string) string {
	b, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

type row struct {
	line int
	rec  []string
}

func readAll(t *testing.T, in string, opts sheet.Options) (*sheet.Reader, []row) {
	t.Helper()
	r, err := sheet.NewReader(strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []row
	for {
		rec, line, err := r.Read()
		if errors.Is(err, io.EOF) {
			return r, rows
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		rows = append(rows, row{line, append([]string(nil), rec...)})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opts   sheet.Options
		header []string
		rows   []row
		enc    string
		delim  rune
	}{
		{"plain comma", "email,prénom\na@example.org,Zoé\n", sheet.Options{},
			[]string{"email", "prénom"}, []row{{2, []string{"a@example.org", "Zoé"}}}, "utf-8", ','},
		{"utf-8 BOM, semicolon, CRLF", "\ufeffEmail;Prénom\r\na@example.org;Zoé\r\n", sheet.Options{},
			[]string{"Email", "Prénom"}, []row{{2, []string{"a@example.org", "Zoé"}}}, "utf-8", ';'},
		{"windows-1252 semicolon", win1252("Courriel;Prénom;Ville\r\nb@example.org;Hélène;Liège\r\n"), sheet.Options{},
			[]string{"Courriel", "Prénom", "Ville"}, []row{{2, []string{"b@example.org", "Hélène", "Liège"}}}, "windows-1252", ';'},
		{"utf-16 LE", utf16("email\tnom\nc@example.org\tNaïma\n", unicode.LittleEndian), sheet.Options{},
			[]string{"email", "nom"}, []row{{2, []string{"c@example.org", "Naïma"}}}, "utf-16le", '\t'},
		{"utf-16 BE", utf16("email|nom\nc@example.org|Naïma\n", unicode.BigEndian), sheet.Options{},
			[]string{"email", "nom"}, []row{{2, []string{"c@example.org", "Naïma"}}}, "utf-16be", '|'},
		{"CR only with quoted newline", "email,note\rd@example.org,\"deux\rlignes\"\re@example.org,x\r", sheet.Options{},
			[]string{"email", "note"}, []row{{2, []string{"d@example.org", "deux\nlignes"}}, {4, []string{"e@example.org", "x"}}}, "utf-8", ','},
		{"blank lines and empty rows before header", "\n\n;;\n  \nemail;nom\n\na@example.org;A\n;;\n", sheet.Options{},
			[]string{"email", "nom"}, []row{{7, []string{"a@example.org", "A"}}}, "utf-8", ';'},
		{"uneven rows", "a,b,c\n1\n1,2,3,4\n", sheet.Options{},
			[]string{"a", "b", "c"}, []row{{2, []string{"1"}}, {3, []string{"1", "2", "3", "4"}}}, "utf-8", ','},
		{"delimiter inside quotes does not count", "\"a;b\",c\n1,2\n", sheet.Options{},
			[]string{"a;b", "c"}, []row{{2, []string{"1", "2"}}}, "utf-8", ','},
		{"forced delimiter and encoding", win1252("a,b;c\n1,2;é\n"), sheet.Options{Delimiter: ';', Encoding: "latin1"},
			[]string{"a,b", "c"}, []row{{2, []string{"1,2", "é"}}}, "iso-8859-1", ';'},
		{"NUL bytes dropped", "a,b\n\x00x,2\n", sheet.Options{},
			[]string{"a", "b"}, []row{{2, []string{"x", "2"}}}, "utf-8", ','},
		{"header with newline inside quotes", "\"Champ additionnel:\nTéléphone\";email\n1;a@example.org\n", sheet.Options{},
			[]string{"Champ additionnel: Téléphone", "email"}, []row{{3, []string{"1", "a@example.org"}}}, "utf-8", ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rows := readAll(t, tt.in, tt.opts)
			if !reflect.DeepEqual(r.Header(), tt.header) {
				t.Errorf("header = %q, want %q", r.Header(), tt.header)
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows = %v, want %v", rows, tt.rows)
			}
			if r.Encoding() != tt.enc || r.Delimiter() != tt.delim {
				t.Errorf("encoding %s delimiter %q, want %s %q", r.Encoding(), r.Delimiter(), tt.enc, tt.delim)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	for _, in := range []string{"", "\n\n", "\r\n \r\n", ";;;\n"} {
		if _, err := sheet.NewReader(strings.NewReader(in), sheet.Options{Delimiter: ';'}); !errors.Is(err, sheet.ErrNoHeader) {
			t.Errorf("NewReader(%q) = %v, want ErrNoHeader", in, err)
		}
	}
	if _, err := sheet.NewReader(strings.NewReader("a\n"), sheet.Options{Delimiter: ':'}); err == nil || !strings.Contains(err.Error(), "delimiter") {
		t.Errorf("bad delimiter: %v", err)
	}
	if _, err := sheet.NewReader(strings.NewReader("a\n"), sheet.Options{Encoding: "ebcdic"}); err == nil || !strings.Contains(err.Error(), "encoding") {
		t.Errorf("bad encoding: %v", err)
	}
}

// A Windows-1252 byte far past the sniffing window is still decoded.
func TestLateWindows1252(t *testing.T) {
	in := "email,nom\n" + strings.Repeat("a@example.org,x\n", 10000) + win1252("b@example.org,Désiré\n")
	_, rows := readAll(t, in, sheet.Options{})
	if last := rows[len(rows)-1].rec[1]; last != "Désiré" {
		t.Errorf("last name = %q", last)
	}
}

// The csvkit corpus: every file reads without error, with the documented
// trait handled.
func TestRealWorldCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "realworld", "csv", "csvkit-examples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real-world corpus not present (%v): it ships beside the repository in CI only", err)
	}
	want := map[string]struct {
		header string
		enc    string
	}{
		"test_utf8_bom.csv":     {"foo,bar,baz", "utf-8"},
		"test_utf16_big.csv":    {"a,b,c", "utf-16be"},
		"test_utf16_little.csv": {"a,b,c", "utf-16le"},
		"test_latin1.csv":       {"a,b,c", "windows-1252"},
		"mac_newlines.csv":      {"a,b,c", "utf-8"},
		"test_skip_lines.csv":   {"a,b,c", "utf-8"},
		"sniff_limit.csv":       {"a,b,c", "utf-8"},
		"dummy.tsv":             {"a,b,c", "utf-8"},
	}
	for name, w := range want {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := sheet.NewReader(f, sheet.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for {
			_, _, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n++
		}
		f.Close()
		if got := strings.Join(r.Header(), ","); got != w.header || r.Encoding() != w.enc || n == 0 {
			t.Errorf("%s: header %q encoding %s rows %d; want %q %s", name, got, r.Encoding(), n, w.header, w.enc)
		}
	}
}

// TestUnterminatedQuote: a quote that is never closed is an error naming
// the line where it opened, not a last field holding the rest of the
// file; quoted fields that close, with newlines, "" and bare quotes
// inside, read as before.
func TestUnterminatedQuote(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int // 0: no error
		rows     int
	}{
		{"open quote", "email,name\na@x.org,\"Ann\nb@x.org,Bob\nc@x.org,Cy\n", 2, 0},
		{"later line", "email;name\r\na@x.org;Ann\r\nb@x.org;\"Bob\r\nc@x.org;Cy\r\n", 3, 1},
		{"closed with newline", "email,note\na@x.org,\"two\nlines\"\nb@x.org,\"say \"\"hi\"\"\"\n", 0, 2},
		{"bare quote inside", "email,name\na@x.org,\"Ann \"the\" one\"\nb@x.org,5\" tall\n", 0, 2},
		{"closed at the end", "email,name\na@x.org,\"Ann\"", 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			sr, err := sheet.NewReader(strings.NewReader(c.in), sheet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for {
				_, _, err := sr.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				var uq *sheet.UnterminatedQuoteError
				if errors.As(err, &uq) {
					if uq.Line != c.line {
						t.Errorf("error at line %d, want %d", uq.Line, c.line)
					}
					if !strings.Contains(err.Error(), "never closed") {
						t.Errorf("error = %v", err)
					}
					c.line = 0
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows++
			}
			if c.line != 0 {
				t.Errorf("no error, want one at line %d", c.line)
			}
			if rows != c.rows {
				t.Errorf("%d rows before the end, want %d", rows, c.rows)
			}
		})
	}
}
