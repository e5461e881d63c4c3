package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The formats Reader.Format returns.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
	FormatODS  = "ods"
)

// ErrEncrypted means the workbook is protected by a password (an
// encrypted .xlsx, or an .ods saved with a password): it cannot be read
// without the password, and crm does not ask for one.
var ErrEncrypted = errors.New("the workbook is protected by a password: open it in Excel or LibreOffice " +
	"and save it again without a password (as .xlsx or .ods)")

// ErrLegacyExcel means the file is an Excel 97-2003 workbook (.xls), a
// format crm does not read.
var ErrLegacyExcel = errors.New("an old Excel 97-2003 workbook (.xls), which crm does not read: " +
	"open it in Excel or LibreOffice and save it as .xlsx or .ods")

// ErrCorrupt is what a *CorruptError matches with errors.Is: the file
// starts like a workbook but cannot be read as one.
var ErrCorrupt = errors.New("not a readable workbook")

// CorruptError means a file that starts as a workbook (a zip archive, an
// OpenDocument XML file) cannot be read as one: it is damaged, truncated,
// or another kind of document.
type CorruptError struct {
	Format string // "xlsx", "ods", or "" when the zip could not tell
	Err    error
}

// Error names the format the file was taken for and the cause.
func (e *CorruptError) Error() string {
	what := ".xlsx or .ods"
	if e.Format != "" {
		what = "." + e.Format
	}
	return fmt.Sprintf("not a readable %s workbook: %v", what, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

const odfOfficeNS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

// sniffFormat looks at the start of the input, without consuming it, and
// says which kind of file it is: "zip" (an .xlsx or .ods, decided from
// its entries), "ole" (an encrypted .xlsx or an .xls), "fods" (a flat
// OpenDocument spreadsheet) or "" for text, read as CSV.
func sniffFormat(br *bufio.Reader) string {
	head, _ := br.Peek(len(oleMagic))
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return "zip"
	case bytes.Equal(head, oleMagic):
		return "ole"
	}
	start := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n")
	if len(start) == 0 || start[0] != '<' {
		return ""
	}
	head, _ = br.Peek(sniffBytes)
	if isFlatODS(head) {
		return "fods"
	}
	return ""
}

// isFlatODS reports whether an XML prologue has an OpenDocument root
// element (office:document, the .fods flat file).
func isFlatODS(head []byte) bool {
	i := bytes.Index(head, []byte("<office:document"))
	if i < 0 || !bytes.Contains(head, []byte(odfOfficeNS)) {
		return false
	}
	rest := head[i+len("<office:document"):]
	return len(rest) > 0 && (rest[0] == ' ' || rest[0] == '>' || rest[0] == '\n' || rest[0] == '\r' || rest[0] == '\t')
}

// randomAccess is the input seen as an io.ReaderAt, which zip needs, from
// the position the caller's reader was at, and what Close removes.
type randomAccess struct {
	io.ReaderAt
	size  int64
	spool *os.File // a copy of a stream, removed on close
}

func (ra *randomAccess) close() error {
	if ra == nil || ra.spool == nil {
		return nil
	}
	err := ra.spool.Close()
	if rerr := os.Remove(ra.spool.Name()); err == nil {
		err = rerr
	}
	ra.spool = nil
	return err
}

// openRandomAccess gives random access to the input: the caller's reader
// itself when it is an io.ReaderAt of known size (*os.File of a regular
// file, *bytes.Reader, *strings.Reader, anything with Size() int64),
// else a copy in a temporary file (mode 0600, removed by close). br is
// the buffered reader over r, which may have read ahead.
func openRandomAccess(r io.Reader, br *bufio.Reader) (*randomAccess, error) {
	if at, ok := r.(io.ReaderAt); ok {
		size, known := sizeOf(r)
		start := int64(0)
		if s, ok := r.(io.Seeker); ok {
			pos, err := s.Seek(0, io.SeekCurrent)
			if err != nil {
				known = false
			}
			start = pos - int64(br.Buffered())
		}
		if known && start >= 0 && start <= size {
			return &randomAccess{ReaderAt: io.NewSectionReader(at, start, size-start), size: size - start}, nil
		}
	}
	f, err := os.CreateTemp("", "crm-sheet-*")
	if err != nil {
		return nil, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	ra := &randomAccess{ReaderAt: f, spool: f}
	if ra.size, err = io.Copy(f, br); err != nil {
		ra.close()
		return nil, fmt.Errorf("read: %w", err)
	}
	return ra, nil
}

// sizeOf returns the size of r when it can be known without reading it.
func sizeOf(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return 0, false
		}
		return st.Size(), true
	case interface{ Size() int64 }:
		return v.Size(), true
	}
	return 0, false
}

// zipKind opens a zip archive and tells from its entries whether it is an
// .xlsx or an .ods workbook.
func zipKind(ra *randomAccess) (*zip.Reader, string, error) {
	zr, err := zip.NewReader(ra, ra.size)
	if err != nil {
		return nil, "", &CorruptError{Err: err}
	}
	var hasTypes, hasWorkbook, hasContent bool
	for _, f := range zr.File {
		switch strings.ToLower(f.Name) {
		case "mimetype":
			mt, err := readSmall(f, 256)
			if err != nil {
				return nil, "", &CorruptError{Format: FormatODS, Err: err}
			}
			switch mt := strings.TrimSpace(string(mt)); mt {
			case "application/vnd.oasis.opendocument.spreadsheet", "application/vnd.oasis.opendocument.spreadsheet-template":
				return zr, FormatODS, nil
			default:
				return nil, "", &CorruptError{Err: fmt.Errorf("an OpenDocument file of type %q, not a spreadsheet", mt)}
			}
		case "[content_types].xml":
			hasTypes = true
		case "xl/workbook.xml":
			hasWorkbook = true
		case "content.xml":
			hasContent = true
		}
	}
	switch {
	case hasWorkbook || hasTypes:
		return zr, FormatXLSX, nil
	case hasContent: // an OpenDocument file without its mimetype entry
		return zr, FormatODS, nil
	}
	return nil, "", &CorruptError{Err: errors.New("a zip archive that holds neither an .xlsx nor an .ods workbook")}
}

// readSmall reads a zip entry that should be small, refusing one larger
// than limit.
func readSmall(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d expected", f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return b, nil
}

// oleError says what an OLE2 compound file is: Excel keeps an encrypted
// .xlsx in one (streams EncryptionInfo and EncryptedPackage), and an .xls
// too (stream Workbook, or Book for Excel 5). The stream names are in the
// directory, UTF-16, usually within the first few kilobytes.
func oleError(ra io.ReaderAt) error {
	buf := make([]byte, 64<<10)
	n, _ := ra.ReadAt(buf, 0)
	buf = buf[:n]
	has := func(name string) bool {
		u := make([]byte, 0, 2*len(name))
		for _, c := range []byte(name) {
			u = append(u, c, 0)
		}
		return bytes.Contains(buf, u)
	}
	switch {
	case has("EncryptedPackage") || has("EncryptionInfo"):
		return ErrEncrypted
	case has("Workbook") || has("Book"):
		return ErrLegacyExcel
	}
	return fmt.Errorf("a password-protected .xlsx or an old .xls workbook, which crm does not read: " +
		"open it in Excel or LibreOffice and save it as .xlsx without a password, or as .ods")
}
