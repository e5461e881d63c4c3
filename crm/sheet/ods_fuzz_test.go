package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzODS feeds OpenDocument XML to the ODS reader (as a flat .fods, the
// same token reader as content.xml): whatever the input, it must return
// rows or an error, never panic, and never expand repetitions past its
// limits. Run it with go test -fuzz FuzzODS ./crm/sheet; the suite runs
// the seeds only.
func FuzzODS(f *testing.F) {
	for _, name := range []string{"adherents-libreoffice.fods", "adherents-libreoffice.ods"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if filepath.Ext(name) == ".ods" {
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				f.Fatal(err)
			}
			for _, zf := range zr.File {
				if zf.Name == "content.xml" {
					rc, _ := zf.Open()
					data, _ = io.ReadAll(rc)
					rc.Close()
				}
			}
		}
		f.Add(data, "")
		f.Add(data, "Dons")
	}
	const doc = `<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" ` +
		`xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">` +
		`<office:body><office:spreadsheet>`
	f.Add([]byte(doc+`<table:table table:name="A"><table:table-row table:number-rows-repeated="3"><table:table-cell `+
		`table:number-columns-repeated="2" office:value-type="float" office:value="1"><text:p>01</text:p></table:table-cell>`+
		`<table:table-cell><text:p>a<text:s text:c="9"/><text:span>b</text:span></text:p></table:table-cell></table:table-row></table:table>`), "1")
	f.Add([]byte(doc+`<table:table table:name="A"><table:table-row table:number-rows-repeated="1048576"><table:table-cell `+
		`table:number-columns-repeated="16384"/></table:table-row></table:table>`), "")
	f.Fuzz(func(t *testing.T, data []byte, want string) {
		b, err := newODS(&randomAccess{ReaderAt: bytes.NewReader(data), size: int64(len(data))}, nil)
		if err != nil {
			return
		}
		wr, _, _, err := openWorkbook(b, want)
		if err != nil {
			b.close()
			return
		}
		defer wr.close()
		cells := 0
		for {
			rec, line, err := wr.read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if line != 0 {
					t.Fatalf("an error for row %d only: %v", line, err)
				}
				return
			}
			if line < 1 || line > maxRows || len(rec) > maxColumns {
				t.Fatalf("row %d of %d cells", line, len(rec))
			}
			if cells += len(rec); cells > maxExpanded+len(data) {
				t.Fatalf("%d cells from %d bytes", cells, len(data))
			}
		}
	})
}
