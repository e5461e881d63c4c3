package sheet

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// xlsxPartLimit is the most a part excelize keeps in memory may take
// unpacked; bigger sheets and shared strings go to temporary files, which
// it reads as a stream.
const xlsxPartLimit = 1 << 20

// xlsxMemoryLimit bounds the unpacked size of everything excelize holds in
// memory (workbook, styles, relationships, small sheets and shared
// strings): a workbook whose styles alone are larger is not a list of
// people.
const xlsxMemoryLimit = 64 << 20

// xlsxBook reads an .xlsx through excelize, from a copy of the package
// that holds only the parts reading cells needs: pictures, charts, pivot
// caches and the calculation chain, which excelize would otherwise load
// in memory, are left out.
type xlsxBook struct {
	f        *excelize.File
	names    []string
	size     int64
	date1904 bool
	cur      *xlsxRows
}

func newXLSX(ra *randomAccess, zr *zip.Reader) (*xlsxBook, error) {
	tmp, err := os.CreateTemp("", "crm-xlsx-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	var inMemory, unpacked uint64
	for _, f := range zr.File {
		kind := xlsxPart(f.Name)
		if kind == partSkip {
			continue
		}
		if kind == partSmall || f.UncompressedSize64 <= xlsxPartLimit {
			inMemory += f.UncompressedSize64
		}
		unpacked += f.UncompressedSize64
		if err := zw.Copy(f); err != nil {
			tmp.Close()
			return nil, &CorruptError{Format: FormatXLSX, Err: err}
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	if inMemory > xlsxMemoryLimit {
		return nil, &CorruptError{Format: FormatXLSX, Err: fmt.Errorf("its styles and settings unpack to %d MB, more than the %d MB allowed",
			inMemory>>20, xlsxMemoryLimit>>20)}
	}
	// Sheets compress 10 to 20 times; a part that claims to unpack to
	// much more is a zip bomb, which would fill the disk.
	limit := min(max(100*ra.size, 256<<20), 4<<30)
	if unpacked > uint64(limit) {
		return nil, &CorruptError{Format: FormatXLSX, Err: fmt.Errorf("it claims to unpack to %d MB, more than %d MB for a %d kB file",
			unpacked>>20, limit>>20, ra.size>>10)}
	}
	f, err := excelize.OpenFile(tmp.Name(), excelize.Options{UnzipSizeLimit: limit, UnzipXMLSizeLimit: xlsxPartLimit})
	if err != nil {
		return nil, &CorruptError{Format: FormatXLSX, Err: err}
	}
	b := &xlsxBook{f: f, names: f.GetSheetList(), size: ra.size}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		b.date1904 = *props.Date1904
	}
	if err := normalizeNumberFormats(f); err != nil {
		f.Close()
		return nil, &CorruptError{Format: FormatXLSX, Err: err}
	}
	return b, nil
}

type partKind int

const (
	partSkip   partKind = iota
	partSmall           // read into memory by excelize
	partStream          // a sheet or the shared strings: a temporary file when large
)

// xlsxPart says whether the copy of the package keeps a part.
func xlsxPart(name string) partKind {
	n := strings.ToLower(strings.ReplaceAll(name, `\`, "/"))
	dir, file := path.Split(n)
	switch {
	case n == "[content_types].xml" || n == "_rels/.rels" || dir == "xl/_rels/":
		return partSmall
	case n == "xl/sharedstrings.xml" || dir == "xl/worksheets/" && strings.HasSuffix(file, ".xml"):
		return partStream
	case dir == "xl/" && strings.HasSuffix(file, ".xml") && file != "calcchain.xml":
		return partSmall
	}
	return partSkip
}

func (b *xlsxBook) sheetNames() ([]string, error) { return b.names, nil }

func (b *xlsxBook) openSheet(i int) (rows, string, error) {
	if i >= len(b.names) {
		return nil, "", errNoSheet
	}
	if b.cur != nil {
		b.cur.close()
	}
	r, err := b.f.Rows(b.names[i])
	if err != nil {
		return nil, "", &CorruptError{Format: FormatXLSX, Err: fmt.Errorf("sheet %q: %w", b.names[i], err)}
	}
	b.cur = &xlsxRows{r: r, size: b.size, date1904: b.date1904}
	return b.cur, b.names[i], nil
}

func (b *xlsxBook) close() error {
	if b.cur != nil {
		b.cur.close()
	}
	return b.f.Close()
}

// xlsxRows reads a sheet with excelize's streaming iterator, which
// applies the number formats normalizeNumberFormats left.
type xlsxRows struct {
	r        *excelize.Rows
	line     int
	size     int64
	date1904 bool
	done     bool
}

func (x *xlsxRows) next() ([]string, int, error) {
	for x.r.Next() {
		x.line++
		cells, err := x.r.Columns()
		if err != nil {
			return nil, x.line, err
		}
		if filled(cells) == 0 {
			continue
		}
		for i, c := range cells {
			if strings.HasPrefix(c, dateMarker) {
				cells[i] = serialText(c, x.date1904)
			}
		}
		return cells, x.line, nil
	}
	x.done = true
	if err := x.r.Error(); err != nil {
		return nil, 0, &CorruptError{Format: FormatXLSX, Err: err}
	}
	return nil, 0, io.EOF
}

// offset is 0 until the sheet is read, then the file's size: excelize
// unpacks the sheet when it opens the file, and does not say how far its
// iterator is in it.
func (x *xlsxRows) offset() int64 {
	if x.done {
		return x.size
	}
	return 0
}

func (x *xlsxRows) close() error { return x.r.Close() }

// Number formats as Excel and LibreOffice apply them, to what a cell
// reads as: a date or time as ISO text, a format that shows leading
// zeros (a phone number 0612345678 kept as 612345678 with format
// 0000000000 or \0General, a postcode 01000 with 00000) as it shows, and
// every other number as the plain decimal it holds, not as displayed
// (15.5, not "15,50 €").
//
// excelize's own date formatting costs tens of microseconds a cell, and
// any format some; so a plain number gets a number format that excelize
// does not know, for which it returns the value as stored, and a date
// one that writes the serial number after a marker, which xlsxRows turns
// into ISO text itself.
const (
	isoDate     = "date"
	isoDateTime = "datetime"
	isoTime     = "time"
	plainFormat = "plain"

	dateMarker = "\ue000" // a private-use character: no text has it
)

var markerFormats = map[string]string{
	isoDate:     `"` + dateMarker + `D"0.000000`,
	isoDateTime: `"` + dateMarker + `T"0.000000`,
	isoTime:     `"` + dateMarker + `H"0.000000`,
}

// normalizeNumberFormats rewrites the number format of every cell style
// as above, in the opened workbook's styles (nothing is saved).
func normalizeNumberFormats(f *excelize.File) error {
	ss := f.Styles
	if ss == nil || ss.CellXfs == nil {
		return nil
	}
	custom := map[int]string{}
	if ss.NumFmts != nil {
		for _, nf := range ss.NumFmts.NumFmt {
			if nf == nil {
				continue
			}
			code := nf.FormatCode
			if nf.FormatCode16 != "" {
				code = nf.FormatCode16
			}
			custom[nf.NumFmtID] = code
		}
	}
	// An id that is neither built in (0 to 81) nor defined by the file.
	unknown := 163
	for ; unknown > 100; unknown-- {
		if _, used := custom[unknown]; !used {
			break
		}
	}
	targets := make([]string, len(ss.CellXfs.Xf))
	for i, xf := range ss.CellXfs.Xf {
		id := 0
		if xf.NumFmtID != nil {
			id = *xf.NumFmtID
		}
		code, ok := custom[id]
		if !ok {
			code = builtinFormat(id)
		}
		targets[i] = cellFormat(code)
	}
	ids := map[string]int{plainFormat: unknown}
	for i, target := range targets {
		id, ok := ids[target]
		if !ok {
			code := target
			if m, isDate := markerFormats[target]; isDate {
				code = m
			}
			style, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
			if err != nil {
				return fmt.Errorf("styles: %w", err)
			}
			nf := ss.CellXfs.Xf[style].NumFmtID
			if nf == nil {
				return errors.New("styles: number format not created")
			}
			id = *nf
			ids[target] = id
		}
		ss.CellXfs.Xf[i].NumFmtID = &id
	}
	return nil
}

// serialText turns what a marker format wrote (the marker, D, T or H, and
// a serial number) into ISO text: days since 1899-12-30, or 1904-01-01
// in a workbook of Mac Excel 2008 and before, the fraction being the time
// of day.
func serialText(cell string, date1904 bool) string {
	rest := strings.TrimPrefix(cell, dateMarker)
	if rest == "" {
		return cell
	}
	kind, num := rest[0], rest[1:]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v > 2958465 { // past 9999-12-31: Excel shows ####
		return num
	}
	days := math.Floor(v)
	secs := int(math.Round((v - days) * 86400))
	if secs == 86400 {
		days, secs = days+1, 0
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	switch {
	case date1904:
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case days < 61:
		// Excel counts a 29 February 1900 that was not: serials 1 to 59
		// start a day later (60 is that day; read as 1 March).
		base = base.AddDate(0, 0, 1)
	}
	t := base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
	switch kind {
	case 'D':
		return t.Format(time.DateOnly)
	case 'H':
		return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	}
	return t.Format(time.DateTime)
}

// builtinFormat returns the format code of a built-in number format, or
// its kind for the date and time ones (which vary with the locale).
func builtinFormat(id int) string {
	switch {
	case id == 14 || id == 15 || id == 16 || id == 17 || 27 <= id && id <= 31 || 34 <= id && id <= 36 || 50 <= id && id <= 58:
		return isoDate
	case id == 22:
		return isoDateTime
	case 18 <= id && id <= 21 || id == 32 || id == 33 || 45 <= id && id <= 47:
		return isoTime
	}
	return "General"
}

// cellFormat returns the format a cell with number format code is read
// with: an ISO date, date-time or time; the code itself, made one that
// excelize applies, when it shows leading zeros; else the plain number.
func cellFormat(code string) string {
	section := firstSection(code)
	var pattern strings.Builder // the code without literals
	var leadingLiteral0 bool
	for i, tok := range section {
		if tok.literal {
			if i == 0 && strings.HasPrefix(tok.text, "0") {
				leadingLiteral0 = true
			}
			continue
		}
		pattern.WriteString(strings.ToLower(tok.text))
	}
	p := strings.ReplaceAll(pattern.String(), "general", "#")
	hasTime := strings.ContainsAny(p, "hs")
	hasDate := strings.ContainsAny(p, "yd") || strings.Contains(p, "m") && !hasTime
	switch {
	case hasDate && hasTime:
		return isoDateTime
	case hasDate:
		return isoDate
	case hasTime:
		return isoTime
	}
	if strings.ContainsAny(p, ".%e/?") {
		return plainFormat
	}
	zeros := strings.Count(p, "0")
	if leadingLiteral0 || strings.HasPrefix(p, "0") && zeros >= 2 {
		// excelize does not apply General after a literal (\0General
		// shows 612345678): 0 shows the same integer.
		var b strings.Builder
		for _, tok := range section {
			switch {
			case tok.literal:
				b.WriteString(`"` + strings.ReplaceAll(tok.text, `"`, "") + `"`)
			case strings.EqualFold(tok.text, "general"):
				b.WriteString("0")
			default:
				b.WriteString(tok.text)
			}
		}
		return b.String()
	}
	return plainFormat
}

// formatToken is a run of a number format code: literal text, or
// anything else (placeholders, date parts, General).
type formatToken struct {
	text    string
	literal bool
}

// firstSection splits the first section of a number format code (the one
// for positive numbers) into tokens, dropping what does not show: [Red],
// [$€-40C], [>100] conditions, _x spacing and *x fill.
func firstSection(code string) []formatToken {
	var toks []formatToken
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, formatToken{text: cur.String()})
			cur.Reset()
		}
	}
	rs := []rune(code)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case ';':
			flush()
			return toks
		case '"':
			flush()
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			toks = append(toks, formatToken{text: string(rs[i+1 : min(j, len(rs))]), literal: true})
			i = j
		case '\\':
			flush()
			if i+1 < len(rs) {
				toks = append(toks, formatToken{text: string(rs[i+1]), literal: true})
				i++
			}
		case '[':
			j := i + 1
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			inner := strings.ToLower(string(rs[i+1 : min(j, len(rs))]))
			if inner != "" && strings.Trim(inner, "hms") == "" { // elapsed time: [h]:mm
				cur.WriteString(inner)
			}
			i = j
		case '_', '*':
			i++
		default:
			cur.WriteRune(c)
		}
	}
	flush()
	return toks
}
