package crm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSegmentCompile: compiling never panics, and the SQL it produces
// never holds a value: no quote but the fixed ESCAPE '\', no statement
// separator or comment, and exactly one placeholder per argument.
//
//	go test ./crm -run '^$' -fuzz FuzzSegmentCompile -fuzztime 30s
func FuzzSegmentCompile(f *testing.F) {
	for _, s := range []string{
		"interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
		"donation.last<2025-11-01 AND donation.total>=100", `city:"x' OR 1=1 --"`, `email:*'*`,
		`attr.k;drop:"v"`, "created>=2026-01-01", "segment:s", "donation.count=0", `tag:"a\"b"`,
		`NOT email:"Jo@Example.org" OR (tag:x email=jo@example.org)`,
	} {
		f.Add(s)
	}
	db, err := Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SaveSegment(context.Background(), "s", "tag:x OR city:y"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		e, _, err := compileSegment(context.Background(), db.bun, expr, nil)
		if err != nil {
			return
		}
		for _, pg := range []bool{false, true} {
			cond := e.sql(pg)
			sql := strings.ReplaceAll(cond.sql, `ESCAPE '\'`, "")
			if strings.ContainsAny(sql, `'";`) || strings.Contains(sql, "--") || strings.Contains(sql, "/*") {
				t.Fatalf("%q compiled to SQL holding text: %s", expr, cond.sql)
			}
			if n := strings.Count(sql, "?"); n != len(cond.args) {
				t.Fatalf("%q: %d placeholders for %d arguments: %s", expr, n, len(cond.args), cond.sql)
			}
		}
		if _, err := db.CountSupporters(context.Background(), SupporterFilter{Segment: expr}); err != nil {
			t.Fatalf("%q compiled but did not run: %v", expr, err)
		}
		// Erasing any address the expression names leaves an expression
		// that still compiles and no longer names it.
		for _, w := range strings.Fields(strings.NewReplacer("(", " ", ")", " ", `"`, " ", ":", " ", "=", " ").Replace(expr)) {
			addr, err := NormalizeEmail(w)
			if err != nil {
				continue
			}
			red, changed := RedactSegment(expr, addr, ErasedAddress(1))
			if !changed {
				continue
			}
			if _, _, err := compileSegment(context.Background(), db.bun, red, nil); err != nil {
				t.Fatalf("%q redacted for %s to %q, which does not compile: %v", expr, addr, red, err)
			}
			if again, _ := RedactSegment(red, addr, ErasedAddress(1)); again != red {
				t.Fatalf("%q redacted for %s twice: %q then %q", expr, addr, red, again)
			}
		}
	})
}
