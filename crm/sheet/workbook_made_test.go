package sheet_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/sheet"
)

// excelWorkbook is an .xlsx as Excel writes it, made part by part rather
// than with excelize: shared strings (one of them rich text), an inline
// string, the built-in date format 14, custom formats for a phone number,
// euros and a date with time, a percentage, a boolean, an error, formulas
// with their cached values, a title row, a missing row and a missing
// cell, and an empty first sheet.
func excelWorkbook(t *testing.T) []byte {
	const rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	const main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	const decl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n"
	strs := []string{"Fichier des membres 2026", "Courriel", "Nom", "Téléphone", "Adhésion", "Cotisation", "Actif",
		"Code postal", "Remarque", "Erreur", "ana@example.org", "01000", "bob@example.org", "cy@example.org"}
	var sst strings.Builder
	for _, s := range strs {
		sst.WriteString("<si><t>" + s + "</t></si>")
	}
	sst.WriteString(`<si><r><t>Bé</t></r><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">atrice </t></r></si>`) // 14
	return zipOf(t,
		"[Content_Types].xml", decl+`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
			`<Default Extension="xml" ContentType="application/xml"/>`+
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
			`<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`+
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`+
			`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>`,
		"_rels/.rels", decl+`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
			`<Relationship Id="rId1" Type="`+rels+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"docProps/core.xml", decl+`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>`,
		"xl/workbook.xml", decl+`<workbook xmlns="`+main+`" xmlns:r="`+rels+`"><fileVersion appName="xl" lastEdited="7"/>`+
			`<workbookPr defaultThemeVersion="166925"/><sheets><sheet name="Notes" sheetId="1" r:id="rId1"/>`+
			`<sheet name="Membres" sheetId="2" r:id="rId2"/></sheets><calcPr calcId="191029"/></workbook>`,
		"xl/_rels/workbook.xml.rels", decl+`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+
			`<Relationship Id="rId1" Type="`+rels+`/worksheet" Target="worksheets/sheet1.xml"/>`+
			`<Relationship Id="rId2" Type="`+rels+`/worksheet" Target="worksheets/sheet2.xml"/>`+
			`<Relationship Id="rId3" Type="`+rels+`/theme" Target="theme/theme1.xml"/>`+
			`<Relationship Id="rId4" Type="`+rels+`/styles" Target="styles.xml"/>`+
			`<Relationship Id="rId5" Type="`+rels+`/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
		"xl/styles.xml", decl+`<styleSheet xmlns="`+main+`"><numFmts count="3">`+
			`<numFmt numFmtId="164" formatCode="0000000000"/><numFmt numFmtId="165" formatCode="#,##0.00\ &quot;€&quot;"/>`+
			`<numFmt numFmtId="166" formatCode="dd/mm/yyyy\ hh:mm"/></numFmts>`+
			`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>`+
			`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>`+
			`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>`+
			`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>`+
			`<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>`+
			`<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`+
			`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`+
			`<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`+
			`<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`+
			`<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`+
			`<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>`+
			`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`,
		"xl/sharedStrings.xml", decl+`<sst xmlns="`+main+`" count="20" uniqueCount="15">`+sst.String()+`</sst>`,
		"xl/worksheets/sheet1.xml", decl+`<worksheet xmlns="`+main+`"><dimension ref="A1"/><sheetData/></worksheet>`,
		"xl/worksheets/sheet2.xml", decl+`<worksheet xmlns="`+main+`" xmlns:r="`+rels+`"><dimension ref="A1:J8"/>`+
			`<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>`+
			`<row r="1" spans="1:10"><c r="A1" t="s"><v>0</v></c></row>`+
			`<row r="3" spans="1:10"><c r="A3" t="s"><v>1</v></c><c r="B3" t="s"><v>2</v></c><c r="C3" t="s"><v>3</v></c>`+
			`<c r="D3" t="s"><v>4</v></c><c r="E3" t="s"><v>5</v></c><c r="F3" t="s"><v>6</v></c><c r="G3" t="s"><v>7</v></c>`+
			`<c r="H3" t="s"><v>8</v></c><c r="I3" t="s"><v>9</v></c></row>`+
			`<row r="4" spans="1:10"><c r="A4" t="s"><v>10</v></c><c r="B4" t="inlineStr"><is><t>Ana</t></is></c>`+
			`<c r="C4" s="2"><v>612345678</v></c><c r="D4" s="1"><v>45671</v></c><c r="E4" s="3"><v>15.5</v></c>`+
			`<c r="F4" t="b"><v>1</v></c><c r="G4" s="5" t="s"><v>11</v></c><c r="H4" t="str"><f>B4&amp;"!"</f><v>Ana!</v></c>`+
			`<c r="I4" t="e"><f>VLOOKUP(A4,Z:Z,2,0)</f><v>#N/A</v></c></row>`+
			`<row r="5" spans="1:10"><c r="A5" t="s"><v>12</v></c><c r="C5" s="2"><v>320412345</v></c>`+
			`<c r="D5" s="4"><v>45671.3125</v></c><c r="E5" s="3"><f>E4*2</f><v>31</v></c><c r="F5" t="b"><v>0</v></c>`+
			`<c r="G5"><v>1000</v></c><c r="I5" s="6"><v>0.25</v></c></row>`+
			`<row r="7" spans="1:10"><c r="A7" s="1"/><c r="B7" s="3"/></row>`+
			`<row r="8" spans="1:10"><c r="A8" t="s"><v>13</v></c><c r="B8" t="s"><v>14</v></c><c r="D8"><v>46000</v></c>`+
			`<c r="E8" s="3"><v>1234567.891</v></c></row>`+
			`</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`,
	)
}

func TestExcelWorkbook(t *testing.T) {
	r, rows := readWorkbook(t, bytes.NewReader(excelWorkbook(t)), sheet.Options{})
	if r.Format() != sheet.FormatXLSX || r.Sheet() != "Membres" {
		t.Errorf("format %s sheet %q, want xlsx Membres (the first sheet that is not empty)", r.Format(), r.Sheet())
	}
	if want := []string{"Courriel", "Nom", "Téléphone", "Adhésion", "Cotisation", "Actif", "Code postal", "Remarque", "Erreur"}; !reflect.DeepEqual(r.Header(), want) {
		t.Errorf("header %q", r.Header())
	}
	want := []row{
		{4, []string{"ana@example.org", "Ana", "0612345678", "2025-01-14", "15.5", "TRUE", "01000", "Ana!", "#N/A"}},
		{5, []string{"bob@example.org", "", "0320412345", "2025-01-14 07:30:00", "31", "FALSE", "1000", "", "0.25"}},
		{8, []string{"cy@example.org", "Béatrice ", "", "46000", "1234567.891"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%v\nwant\n%v", rows, want)
	}
}

const (
	odfOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
	odfTable  = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	odfText   = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
)

// odsOf makes an .ods whose spreadsheet holds the tables given as XML.
func odsOf(t *testing.T, tables string) []byte {
	return zipOf(t, "mimetype", "application/vnd.oasis.opendocument.spreadsheet",
		"META-INF/manifest.xml", `<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>`,
		"content.xml", `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<office:document-content xmlns:office="`+odfOffice+
			`" xmlns:table="`+odfTable+`" xmlns:text="`+odfText+`" xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0">`+
			`<office:automatic-styles><style/></office:automatic-styles><office:body><office:spreadsheet>`+tables+
			`</office:spreadsheet></office:body></office:document-content>`)
}

func cell(attrs, text string) string {
	return `<table:table-cell ` + attrs + `><text:p>` + text + `</text:p></table:table-cell>`
}

// TestODSCells: OpenDocument's value types, text markup and repetitions.
func TestODSCells(t *testing.T) {
	emptyTail := `<table:table-row table:number-rows-repeated="1048560"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>`
	data := odsOf(t, `<table:table table:name="Vide"><table:table-row><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>`+
		`<table:table table:name="Liste"><table:table-column table:number-columns-repeated="5"/>`+
		`<table:table-header-rows><table:table-row>`+cell(`office:value-type="string"`, "email")+cell(`office:value-type="string"`, "note")+
		cell("", "valeur")+`</table:table-row></table:table-header-rows>`+
		`<table:table-row-group><table:table-row table:number-rows-repeated="3">`+cell("", "a@example.org")+cell("", "même")+`</table:table-row>`+
		`<table:table-row>`+cell("", "b@example.org")+
		`<table:table-cell office:value-type="string"><text:p>deux</text:p><text:p>lignes</text:p></table:table-cell>`+
		cell(`office:value-type="percentage" office:value="0.5"`, "50 %")+`</table:table-row></table:table-row-group>`+
		`<table:table-row><table:table-cell table:number-columns-repeated="2"/><table:table-cell/></table:table-row>`+
		`<table:table-row>`+cell("", "c@example.org")+
		`<table:table-cell><office:annotation><text:p>note cachée</text:p></office:annotation>`+
		`<text:p>  a <text:s text:c="2"/>b<text:tab/>c<text:line-break/>d <text:span text:style-name="T1">span</text:span> <text:a xlink:href="x" xmlns:xlink="http://www.w3.org/1999/xlink">lien</text:a></text:p></table:table-cell>`+
		cell(`office:value-type="boolean" office:boolean-value="true"`, "VRAI")+
		cell(`office:value-type="time" office:time-value="PT07H30M00S"`, "07:30")+
		cell(`office:value-type="date" office:date-value="2026-12-05T07:30:00.000"`, "05/12/2026 07:30")+
		cell(`office:value-type="currency" office:currency="EUR" office:value="1000"`, "01000")+
		cell(`office:value-type="float" office:value="1234.5"`, "1 234,50")+
		`<table:covered-table-cell table:number-columns-repeated="2"/>`+
		cell(`office:value-type="string" office:string-value="stockée"`, "affichée")+
		`<table:table-cell table:number-columns-repeated="1015"/></table:table-row>`+emptyTail+`</table:table>`)
	r, rows := readWorkbook(t, bytes.NewReader(data), sheet.Options{})
	if r.Sheet() != "Liste" || !reflect.DeepEqual(r.Header(), []string{"email", "note", "valeur"}) {
		t.Errorf("sheet %q header %q", r.Sheet(), r.Header())
	}
	want := []row{
		{2, []string{"a@example.org", "même"}},
		{3, []string{"a@example.org", "même"}},
		{4, []string{"a@example.org", "même"}},
		{5, []string{"b@example.org", "deux\nlignes", "0.5"}},
		{7, []string{"c@example.org", "a   b\tc\nd span lien", "TRUE", "07:30:00", "2026-12-05 07:30:00", "01000", "1234.5", "", "", "stockée"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%v\nwant\n%v", rows, want)
	}
}

// TestODSLimits: repetitions of cells that hold something are expanded,
// within Excel's size of a sheet.
func TestODSLimits(t *testing.T) {
	header := `<table:table-row>` + cell("", "email") + cell("", "nom") + `</table:table-row>`
	for _, c := range []struct {
		name, rows, msg string
	}{
		{"rows", `<table:table-row table:number-rows-repeated="2000000">` + cell("", "x") + `</table:table-row>`, "more than 1048576 rows"},
		{"columns", `<table:table-row>` + `<table:table-cell table:number-columns-repeated="20000"><text:p>x</text:p></table:table-cell></table:table-row>`, "more than 16384 columns"},
		{"a value after empty columns", `<table:table-row><table:table-cell table:number-columns-repeated="16384"/>` + cell("", "x") + `</table:table-row>`, "more than 16384 columns"},
		{"cells", `<table:table-row table:number-rows-repeated="100000"><table:table-cell table:number-columns-repeated="16000"><text:p>x</text:p></table:table-cell></table:table-row>`, "cells"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := sheet.NewReader(bytes.NewReader(odsOf(t, `<table:table table:name="A">`+header+c.rows+`</table:table>`)), sheet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for {
				_, line, err := r.Read()
				if err == nil {
					continue
				}
				if !errors.Is(err, sheet.ErrCorrupt) || line != 0 || !strings.Contains(err.Error(), c.msg) {
					t.Errorf("line %d, error %v; want one with %q", line, err, c.msg)
				}
				return
			}
		})
	}
}

// TestWorkbookHeader: the header is the first row with two cells or more
// among the first ten; without one it is the first row.
func TestWorkbookHeader(t *testing.T) {
	rowOf := func(cells ...string) string {
		s := "<table:table-row>"
		for _, c := range cells {
			s += cell("", c)
		}
		return s + "</table:table-row>"
	}
	for _, c := range []struct {
		name   string
		rows   string
		header []string
		first  row
	}{
		{"title and a blank row", rowOf("Adhérents 2026") + rowOf() + rowOf("email", "nom") + rowOf("a@x.org", "A"),
			[]string{"email", "nom"}, row{4, []string{"a@x.org", "A"}}},
		{"one column", rowOf("email") + rowOf("a@x.org") + rowOf("b@x.org"), []string{"email"}, row{2, []string{"a@x.org"}}},
		{"white space folded", rowOf(" Code\npostal ", "Ville"), []string{"Code postal", "Ville"}, row{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, rows := readWorkbook(t, bytes.NewReader(odsOf(t, `<table:table table:name="A">`+c.rows+`</table:table>`)), sheet.Options{})
			if !reflect.DeepEqual(r.Header(), c.header) {
				t.Errorf("header %q, want %q", r.Header(), c.header)
			}
			if c.first.line != 0 && (len(rows) == 0 || !reflect.DeepEqual(rows[0], c.first)) {
				t.Errorf("rows %v, first want %v", rows, c.first)
			}
		})
	}
	_, err := sheet.NewReader(bytes.NewReader(odsOf(t, `<table:table table:name="A">`+rowOf()+`</table:table><table:table table:name="B"/>`)), sheet.Options{})
	if !errors.Is(err, sheet.ErrNoHeader) {
		t.Errorf("empty workbook: %v, want ErrNoHeader", err)
	}
}

// TestODSWithoutMimetype: an OpenDocument zip that lacks its mimetype
// entry (some tools write none) is still read by its content.xml.
func TestODSWithoutMimetype(t *testing.T) {
	data := zipOf(t, "content.xml", `<office:document-content xmlns:office="`+odfOffice+`" xmlns:table="`+odfTable+
		`" xmlns:text="`+odfText+`"><office:body><office:spreadsheet><table:table table:name="A"><table:table-row>`+
		cell("", "email")+cell("", "nom")+`</table:table-row><table:table-row>`+cell("", "a@x.org")+`</table:table-row>`+
		`</table:table></office:spreadsheet></office:body></office:document-content>`)
	r, rows := readWorkbook(t, bytes.NewReader(data), sheet.Options{})
	if r.Format() != sheet.FormatODS || len(rows) != 1 || rows[0].rec[0] != "a@x.org" {
		t.Errorf("format %s rows %v", r.Format(), rows)
	}
}
