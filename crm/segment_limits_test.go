package crm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// doubling saves s0 = first and s1..sN, each naming the one before twice
// with op between ("segment:s0 OR segment:s0"): the expansion of sK holds
// 2^K copies of s0.
func doubling(k int, op string) string {
	return fmt.Sprintf("segment:s%d %s segment:s%d", k-1, op, k-1)
}

// TestSegmentExpansionBounded saves segments whose expansion doubles at
// each step: the save past the bound is refused at once, naming the
// segment and the limit; a segment saved without the check (as before the
// bounds existed) is refused at use, with its name, instead of expanding
// 2^40 times; a chain too deep is refused; cycles still are; and what
// passes counts as its expansion means.
func TestSegmentExpansionBounded(t *testing.T) {
	ctx := context.Background()
	db := segmentFixture(t)
	want, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: "tag:presse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveSegment(ctx, "s0", "tag:presse"); err != nil {
		t.Fatal(err)
	}
	k := 1
	for ; ; k++ {
		_, err := db.SaveSegment(ctx, fmt.Sprintf("s%d", k), doubling(k, "OR"))
		if err != nil {
			var se *crm.SegmentError
			if !errors.As(err, &se) || !errors.Is(err, crm.ErrInvalid) ||
				!strings.Contains(err.Error(), fmt.Sprintf(`segment "s%d" expands to more than %d terms`, k, crm.MaxSegmentTerms)) {
				t.Fatalf("save s%d: %v, want a SegmentError naming it and the limit", k, err)
			}
			break
		}
		if 1<<k > crm.MaxSegmentTerms {
			t.Fatalf("s%d, %d terms, was saved (limit %d)", k, 1<<k, crm.MaxSegmentTerms)
		}
	}
	if 1<<(k-1) != crm.MaxSegmentTerms {
		t.Errorf("the largest saveable chain has %d terms, want the limit %d", 1<<(k-1), crm.MaxSegmentTerms)
	}
	// Every saveable one counts what s0 counts, evaluated once.
	for i := 0; i < k; i++ {
		got, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: fmt.Sprintf("segment:s%d", i)})
		if err != nil || got != want {
			t.Errorf("count segment:s%d = %d, %v; want %d", i, got, err, want)
		}
		list, _, err := db.ListSupporters(ctx, crm.SupporterFilter{Segment: fmt.Sprintf("segment:s%d", i)})
		if err != nil || len(list) != want {
			t.Errorf("list segment:s%d = %d, %v; want %d", i, len(list), err, want)
		}
	}

	// Shared sub-expressions under NOT, AND and OR, with an erased person:
	// counting (by sets, each shared part once) agrees with listing (the
	// SQL form, every copy written out).
	if err := db.Forget(ctx, "lille@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveSegment(ctx, "m0", "tag:bénévole OR donation.total>=60"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		expr := fmt.Sprintf("(NOT segment:m%d AND city:calais) OR (segment:m%d AND NOT interest:terrain) OR (segment:m%d AND donation.count=0)", i-1, i-1, i-1)
		if _, err := db.SaveSegment(ctx, fmt.Sprintf("m%d", i), expr); err != nil {
			t.Fatal(err)
		}
	}
	for _, expr := range []string{"segment:m1", "segment:m2", "NOT segment:m2", "segment:m0 AND NOT segment:m1"} {
		n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: expr})
		list, _, lerr := db.ListSupporters(ctx, crm.SupporterFilter{Segment: expr})
		if err != nil || lerr != nil || n != len(list) {
			t.Errorf("%s: count %d (%v), list %d (%v)", expr, n, err, len(list), lerr)
		}
	}

	// Saved without the check: s(k)..s40 each name the one before twice.
	for i := k; i <= 40; i++ {
		if _, err := dbutil.DB(db).NewInsert().Model(&crm.Segment{Name: fmt.Sprintf("s%d", i), Expression: doubling(i, "AND"),
			CreatedAt: time.Now(), UpdatedAt: time.Now()}).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.CountSupporters(ctx, crm.SupporterFilter{Segment: "segment:s40 OR tag:x"})
	if !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf(`saved segment "s%d" expands to more than`, k)) {
		t.Errorf("count segment:s40: %v, want an error naming s%d", err, k)
	}

	// Depth: each segment nests the one before one level deeper.
	if _, err := db.SaveSegment(ctx, "d0", "tag:presse"); err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		_, err := db.SaveSegment(ctx, fmt.Sprintf("d%d", i), fmt.Sprintf("NOT segment:d%d", i-1))
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf(`segment "d%d" nests more than %d levels deep`, i, crm.MaxSegmentDepth)) {
				t.Fatalf("save d%d: %v", i, err)
			}
			break
		}
		if i > crm.MaxSegmentDepth {
			t.Fatalf("d%d, %d levels deep, was saved (limit %d)", i, i+1, crm.MaxSegmentDepth)
		}
	}

	// Cycles are still refused.
	if _, err := db.SaveSegment(ctx, "s0", "segment:s2"); err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("cycle: %v", err)
	}
}

// BenchmarkSegmentLimits counts, over 100,000 supporters, the costliest
// segments the bounds let one save: the doubling chain at the term limit,
// one that negates its half at each step (nothing to simplify), a chain
// at the depth limit, and MaxSegmentTerms different terms written out.
// Each must count in well under a second, on both engines.
func BenchmarkSegmentLimits(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		b.Fatal(err)
	}
	var csv bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&csv, 100000, 3); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ImportSupporters(ctx, &csv, crm.ImportOptions{List: "lettre", Consent: "bench"}); err != nil {
		b.Fatal(err)
	}
	save := func(name, expr string) {
		if _, err := db.SaveSegment(ctx, name, expr); err != nil {
			b.Fatalf("save %s: %v", name, err)
		}
	}
	save("s0", "tag:presse AND city:calais")
	save("n0", "interest:terrain OR postcode:62*")
	save("d0", "tag:presse")
	// chain saves name1, name2... from format until the bounds refuse one,
	// and returns the last one saved.
	chain := func(name, format string) string {
		k := 1
		for ; ; k++ {
			if _, err := db.SaveSegment(ctx, fmt.Sprint(name, k), strings.ReplaceAll(format, "PREV", fmt.Sprint(name, k-1))); err != nil {
				if !errors.Is(err, crm.ErrInvalid) {
					b.Fatal(err)
				}
				break
			}
		}
		return fmt.Sprint("segment:", name, k-1)
	}
	var terms []string
	for i := range crm.MaxSegmentTerms / 2 {
		terms = append(terms, fmt.Sprintf("email:*%d* OR donation.total>=%d", i, i))
	}
	cases := []struct{ name, expr string }{
		{"doubling", chain("s", "segment:PREV OR segment:PREV")},
		{"negating", chain("n", "(segment:PREV AND NOT segment:PREV) OR (list:lettre AND segment:PREV)")},
		{"deep", chain("d", "NOT (segment:PREV AND tag:presse)")},
		{"distinct", strings.Join(terms, " OR ")},
	}
	for _, c := range cases {
		if err := db.ValidateSegment(ctx, c.expr); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: c.expr}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
