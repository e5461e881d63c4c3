package main

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// benchSheets imports the same supporters from a CSV, an .xlsx and an
// .ods, each into an empty database, and prints time and peak memory.
// The files are written by a child process: a child's peak memory as
// Linux reports it includes this process's peak when it was started.
func benchSheets(self, work, crmBin string, rows int) {
	base := filepath.Join(work, fmt.Sprintf("sheet-%d", rows))
	csvPath, xlsxPath, odsPath := base+".csv", base+".xlsx", base+".ods"
	measure(self, "-child", "sheetfiles", base, strconv.Itoa(rows))
	fmt.Printf("\nsheets: %d supporters, with a title row, a membership date and a fee (workbooks only)\n", rows)
	fmt.Printf("%-22s %10s %10s %12s %10s\n", "", "file MB", "seconds", "rows/s", "peak MB")
	for _, p := range []string{csvPath, xlsxPath, odsPath} {
		db := filepath.Join(work, "sheets.db")
		for _, q := range []string{db, db + "-wal", db + "-shm"} {
			os.Remove(q)
		}
		st, _ := os.Stat(p)
		r := measure(crmBin, "--db", db, "import", "supporters", p)
		if !strings.Contains(r.stdout, "created            "+strconv.Itoa(rows)) {
			log.Fatalf("import %s: %s", p, r.stdout)
		}
		fmt.Printf("%-22s %10.1f %10.2f %12.0f %10.1f\n", "crm import ."+strings.TrimPrefix(filepath.Ext(p), "."),
			float64(st.Size())/1e6, r.elapsed.Seconds(), float64(rows)/r.elapsed.Seconds(), r.peakMB)
	}
}

// writeSheetFiles writes base.csv, base.xlsx and base.ods.
func writeSheetFiles(base string, rows int) error {
	f, err := os.Create(base + ".csv")
	if err != nil {
		return err
	}
	if err := crmtest.WriteSupportersCSV(f, rows, 3); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := writeXLSX(base+".csv", base+".xlsx"); err != nil {
		return fmt.Errorf("write %s.xlsx: %w", base, err)
	}
	if err := writeODS(base+".csv", base+".ods"); err != nil {
		return fmt.Errorf("write %s.ods: %w", base, err)
	}
	return nil
}

// eachCSVRow calls fn with the header and each row of the generated CSV.
func eachCSVRow(path string, fn func(i int, rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.ReuseRecord = true
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(i, rec); err != nil {
			return err
		}
	}
}

// joined is the membership date of row i, and its fee.
func joined(i int) (time.Time, float64) {
	return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%2000), float64(5 + i%7*5)
}

func writeXLSX(csvPath, path string) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return err
	}
	euros, err := f.NewStyle(&excelize.Style{NumFmt: 164, CustomNumFmt: ptr(`#,##0.00\ "€"`)})
	if err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{"Adhérents (généré par crmbench)"}); err != nil {
		return err
	}
	err = eachCSVRow(csvPath, func(i int, rec []string) error {
		cells := make([]any, 0, len(rec)+2)
		for _, v := range rec {
			cells = append(cells, v)
		}
		if i == 0 {
			cells = append(cells, "Date d'adhésion", "Cotisation")
		} else {
			day, fee := joined(i)
			cells = append(cells, excelize.Cell{StyleID: date, Value: day}, excelize.Cell{StyleID: euros, Value: fee})
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		return sw.SetRow(cell, cells)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

func ptr[T any](v T) *T { return &v }

// writeODS writes an .ods as LibreOffice does: the mimetype first and
// stored, content.xml with a title row and, after the rows, the empty
// rows of a whole sheet as one repeated element.
func writeODS(csvPath, path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	if err != nil {
		return err
	}
	io.WriteString(w, "application/vnd.oasis.opendocument.spreadsheet")
	if w, err = zw.Create("META-INF/manifest.xml"); err != nil {
		return err
	}
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">`+
		`<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>`+
		`<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`)
	if w, err = zw.Create("content.xml"); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<office:document-content ` +
		`xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" ` +
		`xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.3">` +
		`<office:body><office:spreadsheet><table:table table:name="Adhérents">` +
		`<table:table-row><table:table-cell office:value-type="string" calcext:value-type="string" table:number-columns-spanned="11">` +
		`<text:p>Adhérents (généré par crmbench)</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="10"/></table:table-row>` +
		`<table:table-row><table:table-cell table:number-columns-repeated="1024"/></table:table-row>`)
	str := func(v string) {
		if v == "" {
			bw.WriteString(`<table:table-cell/>`)
			return
		}
		bw.WriteString(`<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>`)
		xml.EscapeText(bw, []byte(v))
		bw.WriteString(`</text:p></table:table-cell>`)
	}
	n := 0
	err = eachCSVRow(csvPath, func(i int, rec []string) error {
		bw.WriteString(`<table:table-row>`)
		for _, v := range rec {
			str(v)
		}
		if i == 0 {
			str("Date d'adhésion")
			str("Cotisation")
		} else {
			day, fee := joined(i)
			fmt.Fprintf(bw, `<table:table-cell office:value-type="date" office:date-value="%s" calcext:value-type="date"><text:p>%s</text:p></table:table-cell>`,
				day.Format(time.DateOnly), day.Format("02/01/2006"))
			fmt.Fprintf(bw, `<table:table-cell office:value-type="currency" office:currency="EUR" office:value="%g" calcext:value-type="currency"><text:p>%.2f €</text:p></table:table-cell>`,
				fee, fee)
		}
		bw.WriteString(`<table:table-cell table:number-columns-repeated="1013"/></table:table-row>`)
		n = i
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, `<table:table-row table:number-rows-repeated="%d"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>`, 1<<20-n-3)
	bw.WriteString(`</table:table></office:spreadsheet></office:body></office:document-content>`)
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}
