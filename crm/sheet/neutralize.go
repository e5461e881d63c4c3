package sheet

import "strings"

// formulaStarts are the first characters that make Excel, LibreOffice or
// Google Sheets read a cell typed or opened from a CSV file as a formula
// (OWASP, "CSV Injection"): "=HYPERLINK(...)", "+cmd|' /C calc'!A0",
// "-2+3+cmd|...", "@SUM(1)", and a TAB or CR that some of them skip
// before looking at the rest.
const formulaStarts = "=+-@\t\r"

// NeedsNeutralizing reports whether a spreadsheet could read the text s
// as a formula: it begins with '=', '+', '-', '@', a TAB or a CR.
func NeedsNeutralizing(s string) bool {
	return s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0
}

// Neutralize returns the text s as it must go into a CSV file a
// spreadsheet may open: with a leading apostrophe when it begins with
// '=', '+', '-', '@', a TAB or a CR, so that it is shown as text and never
// run as a formula, and unchanged otherwise. It is the one rule every
// writer of this package applies to text cells (CSV, Excel CSV and the
// rejects file; the xlsx writer marks the same cells with the workbook's
// own apostrophe, see XLSX). Numbers, amounts and dates are not text
// and are written as they are: -12 in a numeric column stays -12, while
// "-12" in a text column becomes "'-12".
func Neutralize(s string) string {
	if NeedsNeutralizing(s) {
		return "'" + s
	}
	return s
}

// Unneutralize undoes Neutralize: it removes the apostrophe in front of
// a text that Neutralize would have marked, and returns any other text
// unchanged. An importer that reads back a file this package wrote (a
// rejects file, an export edited in a spreadsheet) calls it on each cell
// so that "'+33 6 12 34 56 78" is stored as it was, "+33 6 12 34 56 78".
func Unneutralize(s string) string {
	if len(s) > 1 && s[0] == '\'' && NeedsNeutralizing(s[1:]) {
		return s[1:]
	}
	return s
}
