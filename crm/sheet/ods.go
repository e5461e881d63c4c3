package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// OpenDocument namespaces, as encoding/xml reports them.
const (
	nsOffice = odfOfficeNS
	nsTable  = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	nsText   = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
)

// maxCellText bounds the text of one cell (Excel's own limit is 32,767
// characters).
const maxCellText = 1 << 20

// odsBook reads an OpenDocument spreadsheet as a stream of XML tokens:
// content.xml of an .ods, or the whole of a flat .fods. No Go library
// that is maintained reads .ods as a stream; this reads what sheets of
// people need (cell values, not styles or formulas).
type odsBook struct {
	content *zip.File     // content.xml; nil for a .fods
	ra      *randomAccess // the .fods
	names   []string      // read on first use
	cur     *odsRows      // the stream open, closed by the next open
}

func newODS(ra *randomAccess, zr *zip.Reader) (*odsBook, error) {
	if zr == nil {
		return &odsBook{ra: ra}, nil
	}
	b := &odsBook{}
	for _, f := range zr.File {
		switch f.Name {
		case "content.xml":
			b.content = f
		case "META-INF/manifest.xml":
			m, err := readSmall(f, 4<<20)
			if err != nil {
				return nil, &CorruptError{Format: FormatODS, Err: err}
			}
			if bytes.Contains(m, []byte("encryption-data")) {
				return nil, ErrEncrypted
			}
		}
	}
	if b.content == nil {
		return nil, &CorruptError{Format: FormatODS, Err: errors.New("no content.xml")}
	}
	return b, nil
}

// open starts a token stream at the beginning of the document.
func (b *odsBook) open() (*odsRows, error) {
	if b.cur != nil {
		b.cur.close()
		b.cur = nil
	}
	o := &odsRows{}
	if b.content == nil {
		o.in = &countingReader{r: io.NewSectionReader(b.ra, 0, b.ra.size)}
		o.scale = func(n int64) int64 { return n }
	} else {
		rc, err := b.content.Open()
		if err != nil {
			return nil, &CorruptError{Format: FormatODS, Err: err}
		}
		o.closer = rc
		o.in = &countingReader{r: rc}
		base, _ := b.content.DataOffset()
		comp, full := int64(b.content.CompressedSize64), int64(b.content.UncompressedSize64)
		o.scale = func(n int64) int64 {
			if full <= 0 {
				return base + comp
			}
			return base + int64(float64(n)/float64(full)*float64(comp))
		}
	}
	o.d = xml.NewDecoder(bufio.NewReaderSize(o.in, 64<<10))
	b.cur = o
	return o, nil
}

func (b *odsBook) sheetNames() ([]string, error) {
	if b.names != nil {
		return b.names, nil
	}
	o, err := b.open()
	if err != nil {
		return nil, err
	}
	names := []string{}
	for {
		name, ok, err := o.nextTable()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		names = append(names, name)
		if err := o.d.Skip(); err != nil {
			return nil, o.fail(err)
		}
	}
	b.names = names
	return names, nil
}

func (b *odsBook) openSheet(i int) (rows, string, error) {
	o, err := b.open()
	if err != nil {
		return nil, "", err
	}
	for k := 0; ; k++ {
		name, ok, err := o.nextTable()
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", errNoSheet
		}
		if k == i {
			return o, name, nil
		}
		if err := o.d.Skip(); err != nil {
			return nil, "", o.fail(err)
		}
	}
}

func (b *odsBook) close() error {
	if b.cur != nil {
		return b.cur.close()
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// odsRows reads the rows of one table:table from the token stream.
type odsRows struct {
	d        *xml.Decoder
	in       *countingReader
	closer   io.Closer
	scale    func(int64) int64 // bytes of XML read → bytes of the file
	line     int               // row number of the last row read
	cells    []string
	repeat   int // copies of cells still to return
	expanded int // cells made by repetition so far
	done     bool
	text     strings.Builder
}

func (o *odsRows) offset() int64 { return o.scale(o.in.n) }

func (o *odsRows) close() error {
	if o.closer != nil {
		err := o.closer.Close()
		o.closer = nil
		return err
	}
	return nil
}

// fail makes an XML error a CorruptError.
func (o *odsRows) fail(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	return &CorruptError{Format: FormatODS, Err: err}
}

// nextTable moves to the start of the next sheet (a table:table of the
// spreadsheet body) and returns its name; false at the end of the
// document.
func (o *odsRows) nextTable() (string, bool, error) {
	for {
		tok, err := o.d.Token()
		if errors.Is(err, io.EOF) {
			return "", false, nil
		}
		if err != nil {
			return "", false, o.fail(err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case start.Name.Space == nsTable && start.Name.Local == "table":
			o.line, o.repeat, o.done = 0, 0, false
			return attr(start, nsTable, "name"), true, nil
		case start.Name.Space == nsOffice && (start.Name.Local == "document-content" || start.Name.Local == "document" ||
			start.Name.Local == "body" || start.Name.Local == "spreadsheet"):
			// The path to the tables.
		default:
			if err := o.d.Skip(); err != nil {
				return "", false, o.fail(err)
			}
		}
	}
}

func (o *odsRows) next() ([]string, int, error) {
	for {
		if o.repeat > 0 {
			o.repeat--
			o.line++
			return o.cells, o.line, nil
		}
		if o.done {
			return nil, 0, io.EOF
		}
		tok, err := o.d.Token()
		if err != nil {
			return nil, 0, o.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == nsTable {
				switch t.Name.Local {
				case "table-row":
					n := repeated(t, "number-rows-repeated")
					if err := o.readRow(); err != nil {
						return nil, 0, fmt.Errorf("row %d: %w", o.line+1, err)
					}
					if filled(o.cells) == 0 {
						// LibreOffice ends a sheet with a million empty
						// rows in one element: never expanded.
						o.line = min(o.line+n, maxRows+1)
						continue
					}
					if o.line+n > maxRows {
						return nil, 0, &CorruptError{Format: FormatODS, Err: fmt.Errorf("row %d: more than %d rows", o.line+1, maxRows)}
					}
					if o.expanded += (n - 1) * len(o.cells); o.expanded > maxExpanded {
						return nil, 0, &CorruptError{Format: FormatODS, Err: fmt.Errorf("row %d: repeated cells make more than %d cells", o.line+1, maxExpanded)}
					}
					o.line++
					o.repeat = n - 1
					return o.cells, o.line, nil
				case "table-header-rows", "table-row-group", "table-rows":
					continue // rows inside are the table's
				}
			}
			if err := o.d.Skip(); err != nil {
				return nil, 0, o.fail(err)
			}
		case xml.EndElement:
			if t.Name.Space == nsTable && t.Name.Local == "table" {
				o.done = true
			}
		}
	}
}

// readRow reads the cells of the table:table-row just started into
// o.cells, without its trailing empty cells; empty cells between values
// become "".
func (o *odsRows) readRow() error {
	cells := o.cells[:0]
	empty := 0 // empty cells not yet added
	for {
		tok, err := o.d.Token()
		if err != nil {
			return o.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != nsTable || t.Name.Local != "table-cell" && t.Name.Local != "covered-table-cell" {
				if err := o.d.Skip(); err != nil {
					return o.fail(err)
				}
				continue
			}
			n := repeated(t, "number-columns-repeated")
			v, err := o.readCell(t)
			if err != nil {
				return err
			}
			if strings.TrimFunc(v, isBlankRune) == "" {
				empty = min(empty+n, maxColumns+1)
				continue
			}
			if len(cells)+empty+n > maxColumns {
				return &CorruptError{Format: FormatODS, Err: fmt.Errorf("more than %d columns", maxColumns)}
			}
			if o.expanded += empty + n - 1; o.expanded > maxExpanded {
				return &CorruptError{Format: FormatODS, Err: fmt.Errorf("repeated cells make more than %d cells", maxExpanded)}
			}
			for ; empty > 0; empty-- {
				cells = append(cells, "")
			}
			for range n {
				cells = append(cells, v)
			}
		case xml.EndElement:
			o.cells = cells
			return nil // the row's end: cells hold no elements of their own
		}
	}
}

// readCell reads a table:table-cell just started and returns its value as
// text.
func (o *odsRows) readCell(start xml.StartElement) (string, error) {
	o.text.Reset()
	paras, depth := 0, 0
	for {
		tok, err := o.d.Token()
		if err != nil {
			return "", o.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == nsText && (t.Name.Local == "p" || t.Name.Local == "h"):
				if paras > 0 {
					o.text.WriteByte('\n')
				}
				paras++
				if err := o.readParagraph(); err != nil {
					return "", err
				}
			case t.Name.Space == nsText && (t.Name.Local == "list" || t.Name.Local == "list-item"):
				depth++
			default: // annotations, drawings, a sub-table
				if err := o.d.Skip(); err != nil {
					return "", o.fail(err)
				}
			}
		case xml.EndElement:
			if depth == 0 {
				return cellValue(start, o.text.String()), nil
			}
			depth--
		}
	}
}

// readParagraph appends the text of a text:p just started, with
// OpenDocument's white space rules: runs of spaces, tabs and newlines in
// the XML are one space, and none at the start; text:s, text:tab and
// text:line-break are the spaces, tabs and line breaks that show.
func (o *odsRows) readParagraph() error {
	depth := 1
	space := true // white space here is dropped
	for depth > 0 {
		tok, err := o.d.Token()
		if err != nil {
			return o.fail(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			for _, c := range string(t) {
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					if !space {
						o.text.WriteByte(' ')
						space = true
					}
					continue
				}
				o.text.WriteRune(c)
				space = false
			}
		case xml.StartElement:
			skip := true
			switch {
			case t.Name.Space == nsText && t.Name.Local == "s":
				n := 1
				if c, err := strconv.Atoi(attr(t, nsText, "c")); err == nil && c > 1 {
					n = min(c, 1024)
				}
				o.text.WriteString(strings.Repeat(" ", n))
				space = false
			case t.Name.Space == nsText && t.Name.Local == "tab":
				o.text.WriteByte('\t')
				space = false
			case t.Name.Space == nsText && t.Name.Local == "line-break":
				o.text.WriteByte('\n')
				space = true
			case t.Name.Space == nsOffice && t.Name.Local == "annotation",
				t.Name.Space == nsText && (t.Name.Local == "note" || t.Name.Local == "ruby-text"):
			default: // text:span, text:a, fields: their text is the cell's
				skip = false
				depth++
			}
			if skip {
				if err := o.d.Skip(); err != nil {
					return o.fail(err)
				}
			}
		case xml.EndElement:
			depth--
		}
		if o.text.Len() > maxCellText {
			return &CorruptError{Format: FormatODS, Err: fmt.Errorf("a cell holds more than %d bytes of text", maxCellText)}
		}
	}
	return nil
}

// cellValue is a cell's value as crm reads it, from its attributes and
// its displayed text: numbers as plain decimals unless the text shows
// leading zeros, dates and times in ISO form, booleans TRUE or FALSE,
// anything else as displayed.
func cellValue(start xml.StartElement, text string) string {
	switch attr(start, nsOffice, "value-type") {
	case "float", "percentage", "currency":
		if v := attr(start, nsOffice, "value"); v != "" && !leadingZeros(text) {
			return plainNumber(v)
		}
	case "date":
		if v := attr(start, nsOffice, "date-value"); v != "" {
			return odfDate(v)
		}
	case "time":
		if v, ok := odfTime(attr(start, nsOffice, "time-value")); ok {
			return v
		}
	case "boolean":
		switch attr(start, nsOffice, "boolean-value") {
		case "true":
			return "TRUE"
		case "false":
			return "FALSE"
		}
	case "string":
		if v, ok := attrOK(start, nsOffice, "string-value"); ok {
			return v
		}
	}
	return text
}

// leadingZeros reports whether a number's displayed text is digits that
// start with a 0 (a phone number, a postcode), maybe grouped with spaces,
// dots or dashes.
func leadingZeros(s string) bool {
	if len(s) < 2 || s[0] != '0' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != ' ' && c != '.' && c != '-' && c != '\u00a0' && c != '\u202f' {
			return false
		}
	}
	last := s[len(s)-1]
	return last >= '0' && last <= '9'
}

// plainNumber writes a number as a plain decimal with a point, to 15
// significant digits as spreadsheets keep them.
func plainNumber(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// odfDate turns an office:date-value (2026-12-05 or
// 2026-12-05T07:30:00.000) into 2026-12-05 or 2026-12-05 07:30:00.
func odfDate(v string) string {
	d, t, ok := strings.Cut(v, "T")
	if !ok {
		return d
	}
	t, _, _ = strings.Cut(t, ".")
	t = strings.TrimSuffix(t, "Z")
	return d + " " + t
}

// odfTime turns an office:time-value (PT07H30M00S) into 07:30:00.
func odfTime(v string) (string, bool) {
	rest, ok := strings.CutPrefix(v, "PT")
	if !ok {
		return "", false
	}
	var parts [3]int
	for i, unit := range []string{"H", "M", "S"} {
		num, after, ok := strings.Cut(rest, unit)
		if !ok {
			return "", false
		}
		num, _, _ = strings.Cut(num, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return "", false
		}
		parts[i], rest = n, after
	}
	return fmt.Sprintf("%02d:%02d:%02d", parts[0], parts[1], parts[2]), true
}

// repeated reads a number-*-repeated attribute: 1 when absent or invalid.
func repeated(start xml.StartElement, name string) int {
	n, err := strconv.Atoi(attr(start, nsTable, name))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxRows+1)
}

func attr(start xml.StartElement, space, local string) string {
	v, _ := attrOK(start, space, local)
	return v
}

func attrOK(start xml.StartElement, space, local string) (string, bool) {
	for _, a := range start.Attr {
		if a.Name.Local == local && a.Name.Space == space {
			return a.Value, true
		}
	}
	return "", false
}
