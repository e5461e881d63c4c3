package crm_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

func segmentFixture(t *testing.T) *crm.DB {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Kind: crm.KindAlerts}); err != nil {
		t.Fatal(err)
	}
	people := []crm.Supporter{
		{Email: "amina@example.org", City: "Calais", Postcode: "62100", Tags: []string{"bénévole"},
			Interests: []crm.SupporterInterest{{Interest: "terrain"}}, Source: "helloasso", Country: "FR"},
		{Email: "jo@exemple.be", City: "Liège", Postcode: "4000", Language: "en", Country: "BE",
			Interests: []crm.SupporterInterest{{Interest: "hebergement"}}, Attributes: map[string]string{"Pointure": "42"}},
		{Email: "presse@journal.example.org", City: "Boulogne-sur-Mer", Postcode: "62200", Tags: []string{"presse"},
			Interests: []crm.SupporterInterest{{Interest: "terrain"}}},
		{Email: "zoe@example.org", City: "calais", Postcode: "62100", Interests: []crm.SupporterInterest{{Interest: "terrain"}}},
		{Email: "lille@example.org", City: "Lille", Postcode: "59000", Tags: []string{"Bénévole"}},
	}
	for i := range people {
		mustSupporter(t, db, &people[i])
	}
	for _, e := range []string{"amina@example.org", "jo@exemple.be"} {
		id, _ := db.SupporterID(ctx, e)
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: id, List: "alertes", Consent: crm.Consent{Source: "cli"}}); err != nil {
			t.Fatal(err)
		}
	}
	gifts := []struct {
		email  string
		amount int64
		day    string
	}{
		{"amina@example.org", 5000, "2025-06-01"}, {"amina@example.org", 6000, "2025-10-01"},
		{"jo@exemple.be", 2000, "2026-02-01"}, {"lille@example.org", 15000, "2024-03-01"},
	}
	for _, g := range gifts {
		id, _ := db.SupporterID(ctx, g.email)
		day, _ := time.Parse(time.DateOnly, g.day)
		if err := db.AddDonation(ctx, &crm.Donation{SupporterID: id, Amount: g.amount, Currency: "EUR", ReceivedAt: day, Method: "cash"}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestSegments(t *testing.T) {
	ctx := context.Background()
	db := segmentFixture(t)
	if _, err := db.SaveSegment(ctx, "Calaisiens", "city:calais"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want []string
	}{
		{"tag:presse", []string{"presse@journal.example.org"}},
		{"tag:BENEVOLE", []string{"amina@example.org", "lille@example.org"}},
		{"interest:terrain", []string{"amina@example.org", "presse@journal.example.org", "zoe@example.org"}},
		{"interest:Terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse", []string{"amina@example.org", "zoe@example.org"}},
		{"interest:terrain city:calais", []string{"amina@example.org", "zoe@example.org"}},
		{"city:liege", []string{"jo@exemple.be"}},
		{`city:"Boulogne-sur-Mer"`, []string{"presse@journal.example.org"}},
		{"postcode:62*", []string{"amina@example.org", "presse@journal.example.org", "zoe@example.org"}},
		{"list:alertes", []string{"amina@example.org", "jo@exemple.be"}},
		{"lang:en", []string{"jo@exemple.be"}},
		{"country:be", []string{"jo@exemple.be"}},
		{"country:Belgique", []string{"jo@exemple.be"}},
		{"source:HelloAsso", []string{"amina@example.org"}},
		{"email:*@example.org", []string{"amina@example.org", "lille@example.org", "zoe@example.org"}},
		{"email:*_*", nil}, // '_' is literal, not a LIKE wildcard
		{"attr.pointure:42", []string{"jo@exemple.be"}},
		{"created>=2026-01-01", []string{"amina@example.org", "jo@exemple.be", "lille@example.org", "presse@journal.example.org", "zoe@example.org"}},
		{"created<2026-01-01", nil},
		{"donation.total>=100", []string{"amina@example.org", "lille@example.org"}},
		{"donation.total<50", []string{"jo@exemple.be", "presse@journal.example.org", "zoe@example.org"}},
		{"donation.count>=2", []string{"amina@example.org"}},
		{"donation.count=0", []string{"presse@journal.example.org", "zoe@example.org"}},
		{"donation.last<2025-11-01 AND donation.total>=100", []string{"amina@example.org", "lille@example.org"}},
		{"donation.first>=2026-01-01", []string{"jo@exemple.be"}},
		{"donation.last:2025-10-01", []string{"amina@example.org"}},
		{"segment:calaisiens AND NOT tag:benevole", []string{"zoe@example.org"}},
		{"NOT (tag:presse OR tag:bénévole)", []string{"jo@exemple.be", "zoe@example.org"}},
	}
	for _, tt := range tests {
		ss, total, err := db.ListSupporters(ctx, crm.SupporterFilter{Segment: tt.expr})
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		var got []string
		for _, s := range ss {
			got = append(got, s.Email)
		}
		sortStrings(got)
		if !reflect.DeepEqual(got, tt.want) || total != len(tt.want) {
			t.Errorf("%s = %v (total %d), want %v", tt.expr, got, total, tt.want)
		}
		if n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: tt.expr}); err != nil || n != len(tt.want) {
			t.Errorf("count %s = %d, %v", tt.expr, n, err)
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestSegmentErrors(t *testing.T) {
	ctx := context.Background()
	db := segmentFixture(t)
	if _, err := db.SaveSegment(ctx, "a", "tag:x"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ expr, want string }{
		{"tag:presse AND", "at position 15: expected a term"},
		{"shoe:42", `at position 1: unknown field "shoe"`},
		{"tag:a created>=yesterday", `at position 7: created "yesterday": want a date`},
		{"donation.total>=lots", `donation.total "lots": want a positive number`},
		{"donation.count>1.5", "want a whole number"},
		{"tag<presse", "tag takes : or =, not <"},
		{"segment:nope", `no saved segment "nope"`},
		{"lang:klingon-xx-yy", `lang "klingon-xx-yy"`},
		{"list:lettres", `no list "lettres" (they are alertes)`},
		{"interest:astrologie OR tag:x", `at position 1: no interest "astrologie" (they are collecte, hebergement,`},
		{"created>32/01/2026", `created "32/01/2026": want a date such as 2026-01-31 or 31/01/2026`},
	}
	for _, tt := range tests {
		_, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: tt.expr})
		var se *crm.SegmentError
		if !errors.As(err, &se) || !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.expr, err, tt.want)
			continue
		}
		// Only the unknown saved segment is named as missing, for a
		// caller to point to the list of saved segments.
		if missing := map[string]string{"segment:nope": "nope"}[tt.expr]; se.Missing != missing {
			t.Errorf("%s: Missing = %q, want %q", tt.expr, se.Missing, missing)
		}
		// Library errors speak of fields and values, never of commands.
		if strings.Contains(err.Error(), "crm ") || strings.Contains(err.Error(), "--") {
			t.Errorf("%s: %q speaks of the command line", tt.expr, err)
		}
	}
	// A saved segment may not refer to itself, even through another.
	if _, err := db.SaveSegment(ctx, "b", "segment:a OR tag:y"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveSegment(ctx, "a", "segment:b"); err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("cycle: %v", err)
	}
	segs, _ := db.Segments(ctx)
	if len(segs) != 2 || segs[0].Expression != "tag:x" {
		t.Errorf("segments after refused save = %+v", segs)
	}
}

// Segments read dates as people write them, and attribute keys with the
// accents of the French headers imports make them from.
func TestSegmentDatesAndAccentedKeys(t *testing.T) {
	ctx := context.Background()
	db := segmentFixture(t)
	mustSupporter(t, db, &crm.Supporter{Email: "dispo@example.org", Attributes: map[string]string{"Disponibilités": "Oui"}})
	count := func(expr string) int {
		t.Helper()
		n, err := db.CountSupporters(ctx, crm.SupporterFilter{Segment: expr})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return n
	}
	if a, b := count("donation.last>=01/10/2025"), count("donation.last>=2025-10-01"); a != b || a != 2 {
		t.Errorf("donation.last>=01/10/2025: %d, donation.last>=2025-10-01: %d, want 2", a, b)
	}
	for _, expr := range []string{"attr.Disponibilités:oui", "attr.disponibilites:OUI", `attr.Disponibilités:"Oui"`} {
		if n := count(expr); n != 1 {
			t.Errorf("%s: %d, want 1", expr, n)
		}
	}
}

func TestRedactSegment(t *testing.T) {
	const addr, repl = "jo@example.org", "supporter-7@erased.invalid"
	for _, c := range []struct{ in, want string }{
		{"email:Jo@Example.org", "email:" + repl},
		{`tag:presse OR NOT email="jo@example.org"`, `tag:presse OR NOT email="` + repl + `"`},
		{"email:*@example.org", ""},        // a pattern names nobody in particular
		{"email:jo@example.org*", ""},      // nor does a prefix
		{"email:other@example.org", ""},    // someone else
		{"city:jo@example.org", ""},        // not an address term
		{"email:jo@example.org AND (", ""}, // does not parse: left alone
	} {
		got, changed := crm.RedactSegment(c.in, addr, repl)
		if c.want == "" {
			if changed || got != c.in {
				t.Errorf("%q: changed to %q", c.in, got)
			}
			continue
		}
		if !changed || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, changed, c.want)
		}
	}
}
