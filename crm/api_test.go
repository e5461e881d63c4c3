package crm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/crm/sheet"
)

// Supporters streams the page Offset and Limit choose, across the
// thousand-row chunks it reads, in the order ListSupporters pages.
func TestSupportersOffsetLimit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var csv bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&csv, 2500, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportSupporters(ctx, &csv, crm.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	ids := func(f crm.SupporterFilter) []int64 {
		var out []int64
		for s, err := range db.Supporters(ctx, f) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s.ID)
		}
		return out
	}
	all := ids(crm.SupporterFilter{})
	if len(all) != 2500 || !slices.IsSorted(all) {
		t.Fatalf("all: %d ids, sorted %v", len(all), slices.IsSorted(all))
	}
	for _, tt := range []struct{ offset, limit int }{{0, 1000}, {700, 1500}, {999, 2}, {2400, 0}, {2400, 500}, {2500, 10}} {
		got := ids(crm.SupporterFilter{Offset: tt.offset, Limit: tt.limit})
		end := len(all)
		if tt.limit > 0 {
			end = min(end, tt.offset+tt.limit)
		}
		want := all[min(tt.offset, len(all)):end]
		if !slices.Equal(got, want) {
			t.Errorf("offset %d limit %d: %d ids from %v, want %d", tt.offset, tt.limit, len(got), got[:min(1, len(got))], len(want))
		}
		if tt.limit > 0 {
			page, total, err := db.ListSupporters(ctx, crm.SupporterFilter{Offset: tt.offset, Limit: tt.limit})
			if err != nil || total != 2500 || len(page) != len(want) {
				t.Errorf("ListSupporters(%d, %d) = %d supporters, total %d, %v", tt.offset, tt.limit, len(page), total, err)
			}
		}
	}
}

// The folded copies of City and Source that segments compare with are no
// part of a Supporter's JSON, and are computed again at every write.
func TestSupporterSearchKeysHidden(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := mustSupporter(t, db, &crm.Supporter{Email: "ann@example.org", City: "Liège", Source: "Forum"})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"key", "Key", "search"} {
		if strings.Contains(string(b), k) {
			t.Errorf("JSON holds %q: %s", k, b)
		}
	}
	if n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: "city:liege AND source:forum"}); err != nil || n != 1 {
		t.Fatalf("segment on the folded city and source: %d, %v", n, err)
	}
	if _, err := db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{City: ptr("Namur")}); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]int{"city:liege": 0, "city:NAMUR": 1} {
		if n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: expr}); err != nil || n != want {
			t.Errorf("%s: %d, %v; want %d", expr, n, err, want)
		}
	}
}

// The lists a validation reads are handed out as copies: changing one
// changes no rule.
func TestTablesAreCopies(t *testing.T) {
	m := crm.DonationMethods()
	m[0] = "bitcoin"
	if !crm.MethodCash.Valid() || crm.DonationMethod("bitcoin").Valid() || crm.DonationMethods()[0] != crm.MethodCash {
		t.Error("DonationMethods shares its slice")
	}
	f := crm.ImportFormats()
	f[0] = "excel"
	if crm.ImportFormats()[0] != crm.FormatAuto {
		t.Error("ImportFormats shares its slice")
	}
	fields := crm.ImportFields()
	fields[0] = "x"
	if crm.ImportFields()[0] != "email" {
		t.Error("ImportFields shares its slice")
	}
	seg := crm.SegmentFields()
	seg[0] = "x"
	if crm.SegmentFields()[0] != "tag" {
		t.Error("SegmentFields shares its slice")
	}
	d := sheet.Delimiters()
	d[0] = 'x'
	if sheet.Delimiters()[0] != ',' {
		t.Error("sheet.Delimiters shares its slice")
	}
}
