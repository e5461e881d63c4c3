package crm_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// The general assembly's chart: the 24 months up to now as columns, and
// the donors of the last complete year against the year before's, in
// the main currency, in French or English.
func TestWriteDonationChart(t *testing.T) {
	ctx := context.Background()
	db := openTest(t) // its clock is at March 2026
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	gifts := map[string][]struct {
		at     time.Time
		amount int64
		cur    string
	}{
		"a@example.org": {{day(2024, 6, 10), 10000, "EUR"}, {day(2025, 2, 1), 5000, "EUR"}, {day(2026, 1, 15), 2000, "EUR"}}, // retained
		"b@example.org": {{day(2025, 5, 1), 3000, "EUR"}},                                                                    // new
		"c@example.org": {{day(2023, 1, 1), 1000, "EUR"}, {day(2025, 7, 1), 1000, "EUR"}},                                    // recovered
		"d@example.org": {{day(2024, 12, 31), 4000, "EUR"}},                                                                  // LYBUNT
		"e@example.org": {{day(2022, 3, 3), 500, "EUR"}},                                                                     // SYBUNT
		"f@example.org": {{day(2025, 3, 1), 1000, "CHF"}},
	}
	for email, gs := range gifts {
		s := mustSupporter(t, db, &crm.Supporter{Email: email})
		for _, g := range gs {
			fund := ""
			if email == "b@example.org" {
				fund = "hiver"
			}
			if err := db.AddDonation(ctx, &crm.Donation{SupporterID: s.ID, Amount: g.amount, Currency: g.cur, ReceivedAt: g.at,
				Method: crm.MethodCheque, Fund: fund}); err != nil {
				t.Fatal(err)
			}
		}
	}

	var b bytes.Buffer
	info, err := db.WriteDonationChart(ctx, &b, crm.DonationChartOptions{Format: "svg"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Currency != "EUR" || !slices.Equal(info.LeftOut, []string{"CHF"}) || info.RetentionYear != 2025 ||
		!info.First.Equal(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)) || !info.Last.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("info %+v", info)
	}
	svg := b.String()
	for _, want := range []string{
		">Dons reçus par mois, de avril 2024 à mars 2026 (EUR)<",
		">Donateurs 2025\u00a0: 50\u00a0% des donateurs de 2024 ont donné de nouveau<",
		">donateurs 2024<", ">2 donateurs, 140\u00a0€<", // a's 100 € and d's 40 € in 2024
		">donateurs 2025<", ">3 donateurs, 90\u00a0€<", // a, b and c in 2025
		">fidèles\u00a0: 1<", ">nouveaux\u00a0: 1<", ">revenus\u00a0: 1<", ">pas revenus en 2025 (LYBUNT)\u00a0: 1<",
		">perdus de vue plus tôt (SYBUNT)\u00a0: 1<", ">avr.<", ">2024<", ">janv.<", ">2026<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	// One column per month with gifts in euros: June and December 2024,
	// February, May and July 2025, January 2026.
	if n := strings.Count(svg, `fill="#9c2a00"`); n != 6 {
		t.Errorf("%d columns drawn, want 6", n)
	}

	b.Reset()
	winter := "hiver"
	if _, err := db.WriteDonationChart(ctx, &b, crm.DonationChartOptions{Format: "svg", Language: "en", Fund: &winter,
		End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), RetentionYear: 2025}); err != nil {
		t.Fatal(err)
	}
	svg = b.String()
	for _, want := range []string{">Gifts received per month, January 2024 to December 2025 (EUR), fund “hiver”<",
		">Donors in 2025<", ">new: 1<", ">Jan<", ">1 donor, €30<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the English SVG of fund hiver lacks %q", want)
		}
	}
	if n := strings.Count(svg, `fill="#9c2a00"`); n != 1 {
		t.Errorf("fund hiver: %d columns, want 1", n)
	}

	b.Reset()
	if _, err := db.WriteDonationChart(ctx, &b, crm.DonationChartOptions{Format: "png"}); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&b); err != nil {
		t.Errorf("PNG: %v", err)
	}
	var ve *crm.ValidationError
	if _, err := db.WriteDonationChart(ctx, &b, crm.DonationChartOptions{Format: "gif"}); !errors.As(err, &ve) || ve.Field != "format" {
		t.Errorf("gif: %v", err)
	}
	if _, err := db.WriteDonationChart(ctx, &b, crm.DonationChartOptions{Format: "svg", Language: "de"}); !errors.As(err, &ve) || ve.Field != "lang" {
		t.Errorf("de: %v", err)
	}
}
