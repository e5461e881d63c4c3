package crm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
)

// TestSegmentCountMatchesSQL holds the two ways of evaluating a segment to
// the same answers: CountSupporters on SQLite combines per-term id sets,
// listing and sending run the SQL condition. Hand-picked expressions and
// 400 random ones run over generated supporters with donations,
// subscriptions, attributes, lower-case postcodes and erased people.
func TestSegmentCountMatchesSQL(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, crmtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.isSQLite() {
		t.Skip("id-set counting is SQLite's")
	}
	if err := db.CreateList(ctx, &List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	if err := crmtest.WriteSupportersCSV(&csv, 1500, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportSupporters(ctx, &csv, ImportOptions{List: "lettre", Consent: "test"}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for id := int64(1); id <= 1500; id += 1 + rng.Int64N(4) {
		d := &Donation{SupporterID: id, Amount: 500 + rng.Int64N(20000), Currency: "EUR", Method: "cash",
			ReceivedAt: time.Date(2025, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)}
		if err := db.AddDonation(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(3); id <= 1500; id += 97 {
		pc, attr := "sw1a 1aa", map[string]string{"pointure": "42"}
		if _, err := db.UpdateSupporter(ctx, id, SupporterUpdate{Postcode: &pc, SetAttributes: attr}); err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(5); id <= 1500; id += 131 {
		s, err := db.GetSupporter(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Forget(ctx, s.Email); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.bun.NewUpdate().Table("subscriptions").Set("status = ?", StatusUnsubscribed).
		Where("supporter_id % 11 = 0").Exec(ctx); err != nil {
		t.Fatal(err)
	}

	terms := []string{"tag:presse", "tag:benevole", "tag:pres*", "interest:terrain", "interest:hebergement",
		"city:Calais", "city:lille", "city:Bou*", "postcode:62*", "postcode:59000", "postcode:SW1A*", "postcode:sw1a*",
		"lang:fr", "lang:en", "country:FR", "email:*@example.org", "email:sarah*", "list:lettre", "source:x",
		"donation.total>=50", "donation.total<50", "donation.total>100", "donation.count=0", "donation.count>=2",
		"donation.count<=1", "donation.last<2025-06-01", "donation.first>=2025-03-01", "created>=2026-01-01",
		"attr.pointure:42", "attr.pointure:4*"}
	exprs := []string{
		"interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
		"NOT tag:presse", "NOT (tag:presse OR interest:terrain)", "tag:presse OR NOT interest:terrain",
		"NOT NOT city:Calais", "donation.last<2025-11-01 AND donation.total>=100", "NOT donation.count=0",
	}
	var random func(depth int) string
	random = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			return terms[rng.IntN(len(terms))]
		}
		ops := []string{" AND ", " OR ", " "}
		parts := make([]string, 2+rng.IntN(2))
		for i := range parts {
			parts[i] = random(depth - 1)
			if rng.IntN(4) == 0 {
				parts[i] = "NOT " + parts[i]
			}
		}
		return "(" + strings.Join(parts, ops[rng.IntN(len(ops))]) + ")"
	}
	for range 400 {
		exprs = append(exprs, random(3))
	}
	nonEmpty := 0
	for _, expr := range exprs {
		fast, err := db.CountSupporters(ctx, SupporterFilter{Segment: expr})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		q := db.bun.NewSelect().Model((*Supporter)(nil))
		if err := applySupporterFilter(ctx, db.bun, q, SupporterFilter{Segment: expr}); err != nil {
			t.Fatal(err)
		}
		want, err := q.Count(ctx)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if int64(fast) != int64(want) {
			t.Errorf("%s: id sets count %d, SQL %d", expr, fast, want)
		}
		if want > 0 && want < 1500-12 {
			nonEmpty++
		}
	}
	if nonEmpty < len(exprs)/3 {
		t.Errorf("only %d of %d expressions match some but not all supporters: the data does not test much", nonEmpty, len(exprs))
	}
}
