package segment_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/segment"
)

func TestParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tag:presse", "tag:presse"},
		{"  TAG:presse  ", "tag:presse"},
		{"interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
			"interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse"},
		{"interest:terrain city:Calais", "interest:terrain AND city:Calais"},
		{"a:1 OR b:2 c:3", "a:1 OR (b:2 AND c:3)"},
		{"a:1 or b:2 and c:3", "a:1 OR (b:2 AND c:3)"},
		{"(a:1 OR b:2) c:3", "(a:1 OR b:2) AND c:3"},
		{`city:"Boulogne-sur-Mer"`, `city:"Boulogne-sur-Mer"`},
		{`city:"Saint Denis" NOT NOT tag:x`, `city:"Saint Denis" AND NOT NOT tag:x`},
		{`note:"il a dit \"non\""`, `note:"il a dit \"non\""`},
		{"donation.last<2025-11-01 AND donation.total>=100", "donation.last<2025-11-01 AND donation.total>=100"},
		{"created>=2026-01-01 created<2026-02-01", "created>=2026-01-01 AND created<2026-02-01"},
		{"attr.pointure:42", "attr.pointure:42"},
		{"email:*@example.org", "email:*@example.org"},
		{"city:Liège", "city:Liège"},
		{"donation.count=2", "donation.count=2"},
	}
	for _, tt := range tests {
		n, err := segment.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := n.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// The printed form parses to the same tree.
		again, err := segment.Parse(n.String())
		if err != nil || again.String() != n.String() {
			t.Errorf("round trip of %q: %v, %v", n.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		pos  int
		want string
	}{
		{"", 1, "expected a term"},
		{"tag:presse AND", 15, "found the end"},
		{"(tag:presse", 12, `expected ")"`},
		{"tag:presse)", 11, `expected AND, OR or the end, found ")"`},
		{"presse", 7, `expected an operator (: = < <= > >=) after "presse"`},
		{"tag:", 5, "expected a value after tag:"},
		{`city:"Calais`, 6, `expected a closing "`},
		{":x", 1, "a field name before the operator"},
		{"tag:a OR OR tag:b", 10, `found "OR"`},
		{"NOT", 4, "found the end"},
		{"tag:a $b:1", 7, "expected a field name"},
		{strings.Repeat("(", 100) + "tag:a" + strings.Repeat(")", 100), 66, "levels of nesting"},
	}
	for _, tt := range tests {
		_, err := segment.Parse(tt.in)
		var se *segment.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", tt.in, err)
			continue
		}
		if se.Pos+1 != tt.pos || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %q (position %d), want position %d and %q", tt.in, err, se.Pos+1, tt.pos, tt.want)
		}
	}
}

// FuzzParse: the parser never panics, and whatever it accepts prints to
// an expression that parses to the same tree.
//
//	go test ./crm/segment -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	for _, s := range []string{"interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
		`city:"a b" OR NOT (x:1 y<=2)`, "donation.total>=100", "((", `"`, "a:\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := segment.Parse(s)
		if err != nil {
			var se *segment.SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s)+1 && se.Pos != segment.MaxLength {
				t.Fatalf("Parse(%q) = %v", s, err)
			}
			return
		}
		again, err := segment.Parse(n.String())
		if err != nil || again.String() != n.String() {
			t.Fatalf("round trip of %q via %q: %v", s, n.String(), err)
		}
	})
}
