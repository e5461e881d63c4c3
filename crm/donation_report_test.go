package crm_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// gift is a donation as the brute-force reports see it: donor 0 is an
// erased one.
type gift struct {
	donor    int64
	amount   int64
	currency string
	at       time.Time
	fund     string
	method   crm.DonationMethod
}

// randomGifts records some 400 random gifts of 30 donors from 2019 to
// February 2026 (the test clock is at March 2026), with gifts on the
// first and last second of years, then erases one donor. It returns the
// gifts as stored and the donors who are not erased.
func randomGifts(t *testing.T, db *crm.DB, seed uint64) ([]gift, map[int64]*crm.Supporter) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 18))
	donors := map[int64]*crm.Supporter{}
	var ids []int64
	for i := range 30 {
		s := mustSupporter(t, db, &crm.Supporter{Email: fmt.Sprintf("d%02d@example.org", i), FirstName: fmt.Sprint("Don", i)})
		donors[s.ID] = s
		ids = append(ids, s.ID)
	}
	funds := []string{"", "hiver", "loyer", "Été"}
	methods := crm.DonationMethods()
	var gifts []gift
	err := db.RunInTx(ctx, func(tx *crm.Tx) error {
		for range 400 {
			// Each donor gives in a window of years of their own, so that
			// every category has donors.
			donor := ids[rng.IntN(len(ids))]
			first := 2019 + int(donor)%6
			year := first + rng.IntN(2026-first+1)
			var at time.Time
			switch rng.IntN(10) {
			case 0:
				at = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
			case 1:
				at = time.Date(year, 12, 31, 23, 59, 59, 0, time.UTC)
			default:
				at = time.Date(year, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, time.UTC)
			}
			if year == 2026 {
				at = time.Date(2026, time.Month(1+rng.IntN(2)), 1+rng.IntN(28), 12, 0, 0, 0, time.UTC)
			}
			g := gift{donor: donor, amount: 100 + rng.Int64N(20000), currency: "EUR", at: at,
				fund: funds[rng.IntN(len(funds))], method: methods[rng.IntN(len(methods))]}
			if rng.IntN(8) == 0 {
				g.currency = "CHF"
			}
			d := &crm.Donation{SupporterID: g.donor, Amount: g.amount, Currency: g.currency, ReceivedAt: g.at,
				Fund: g.fund, Method: g.method}
			if err := tx.AddDonation(ctx, d); err != nil {
				return err
			}
			gifts = append(gifts, g)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An erased donor's gifts stay, as anonymous amounts.
	erased := ids[3]
	if err := db.Forget(ctx, donors[erased].Email); err != nil {
		t.Fatal(err)
	}
	delete(donors, erased)
	for i := range gifts {
		if gifts[i].donor == erased {
			gifts[i].donor = 0
		}
	}
	return gifts, donors
}

// The reports' sums, made by the database, equal sums made here gift by
// gift, on random gifts, whatever the grouping and the filter, on SQLite
// and PostgreSQL alike.
func TestDonationReportsBruteForce(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	gifts, donors := randomGifts(t, db, 2026)
	day := func(y int, m time.Month, d int) *time.Time {
		t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return &t
	}
	winter := "hiver"
	summer := "  Été " // cleaned as the stored funds are
	filters := map[string]crm.DonationFilter{
		"all":         {},
		"fund hiver":  {Fund: &winter},
		"fund été":    {Fund: &summer},
		"2025":        {Since: day(2025, 1, 1), Until: day(2026, 1, 1)},
		"from 2023-7": {Since: day(2023, 7, 1)},
	}
	match := func(f crm.DonationFilter, g gift) bool {
		return (f.Fund == nil || strings.TrimSpace(*f.Fund) == g.fund) &&
			(f.Since == nil || !g.at.Before(*f.Since)) && (f.Until == nil || g.at.Before(*f.Until))
	}

	for name, f := range filters {
		for _, by := range []crm.ReportGroup{crm.ByMonth, crm.ByYear, crm.ByFund, crm.ByMethod} {
			got, err := db.DonationReport(ctx, f, by)
			if err != nil {
				t.Fatalf("%s by %s: %v", name, by, err)
			}
			type k struct{ key, cur string }
			sums := map[k]*crm.ReportRow{}
			donors := map[k]map[int64]bool{}
			for _, g := range gifts {
				if !match(f, g) {
					continue
				}
				key := map[crm.ReportGroup]string{crm.ByMonth: g.at.Format("2006-01"), crm.ByYear: g.at.Format("2006"),
					crm.ByFund: g.fund, crm.ByMethod: string(g.method)}[by]
				kk := k{key, g.currency}
				if sums[kk] == nil {
					sums[kk] = &crm.ReportRow{Key: key, Currency: g.currency}
					donors[kk] = map[int64]bool{}
				}
				sums[kk].Count++
				sums[kk].Sum += g.amount
				if g.donor != 0 {
					donors[kk][g.donor] = true
				}
			}
			want := []crm.ReportRow{}
			for kk, r := range sums {
				r.Donors = len(donors[kk])
				want = append(want, *r)
			}
			slices.SortFunc(want, func(a, b crm.ReportRow) int {
				return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Currency, b.Currency))
			})
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s by %s:\n got %+v\nwant %+v", name, by, got, want)
			}
		}

		got, err := db.DonorReport(ctx, f)
		if err != nil {
			t.Fatalf("%s by donor: %v", name, err)
		}
		type k struct {
			donor int64
			cur   string
		}
		per := map[k]*crm.DonorTotal{}
		for _, g := range gifts {
			if !match(f, g) {
				continue
			}
			kk := k{g.donor, g.currency}
			r := per[kk]
			if r == nil {
				r = &crm.DonorTotal{SupporterID: g.donor, Currency: g.currency, First: g.at, Last: g.at}
				if s := donors[g.donor]; s != nil {
					r.Email, r.FirstName = s.Email, s.FirstName
				}
				per[kk] = r
			}
			r.Count++
			r.Sum += g.amount
			if g.at.Before(r.First) {
				r.First = g.at
			}
			if g.at.After(r.Last) {
				r.Last = g.at
			}
		}
		var want []crm.DonorTotal
		for _, r := range per {
			want = append(want, *r)
		}
		slices.SortFunc(want, func(a, b crm.DonorTotal) int {
			return cmp.Or(cmp.Compare(b.Sum, a.Sum), strings.Compare(a.Currency, b.Currency),
				strings.Compare(a.Email, b.Email), cmp.Compare(a.SupporterID, b.SupporterID))
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s by donor:\n got %+v\nwant %+v", name, got, want)
		}
		if name == "all" && (len(got) < 30 || got[len(got)-1].Sum > got[0].Sum) {
			t.Errorf("by donor: %d lines, not biggest first", len(got))
		}
	}

	seen := map[crm.DonorCategory]bool{}
	for year := 2019; year <= 2027; year++ {
		for _, fund := range []*string{nil, &winter} {
			got, err := db.RetentionReport(ctx, crm.RetentionOptions{Year: year, Fund: fund})
			if err != nil {
				t.Fatal(err)
			}
			want := bruteRetention(gifts, year, fund)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("retention %d (fund %v):\n got %+v\nwant %+v", year, fund, got, want)
			}
			for _, r := range got {
				if r.Donors > 0 {
					seen[r.Category] = true
				}
			}
		}
	}
	if len(seen) != 5 {
		t.Errorf("the random gifts put donors in only %v: the test proves less than it should", seen)
	}
	if _, err := db.RetentionReport(ctx, crm.RetentionOptions{Year: 26}); !strings.Contains(fmt.Sprint(err), "year") {
		t.Errorf("year 26: %v", err)
	}
}

// bruteRetention classifies donors gift by gift, as RetentionReport's
// documentation says.
func bruteRetention(gifts []gift, year int, fund *string) []crm.RetentionRow {
	type k struct {
		donor int64
		cur   string
	}
	type sums struct{ this, last, earlier int64 }
	per := map[k]*sums{}
	for _, g := range gifts {
		y := g.at.Year()
		if g.donor == 0 || y > year || (fund != nil && g.fund != *fund) {
			continue
		}
		kk := k{g.donor, g.currency}
		if per[kk] == nil {
			per[kk] = &sums{}
		}
		switch {
		case y == year:
			per[kk].this += g.amount
		case y == year-1:
			per[kk].last += g.amount
		default:
			per[kk].earlier += g.amount
		}
	}
	rows := map[string]map[crm.DonorCategory]*crm.RetentionRow{}
	for kk, s := range per {
		var cat crm.DonorCategory
		switch {
		case s.this > 0 && s.last > 0:
			cat = crm.DonorsRetained
		case s.this > 0 && s.earlier == 0:
			cat = crm.DonorsNew
		case s.this > 0:
			cat = crm.DonorsRecovered
		case s.last > 0:
			cat = crm.DonorsLYBUNT
		default:
			cat = crm.DonorsSYBUNT
		}
		if rows[kk.cur] == nil {
			rows[kk.cur] = map[crm.DonorCategory]*crm.RetentionRow{}
			for _, c := range crm.DonorCategories() {
				rows[kk.cur][c] = &crm.RetentionRow{Category: c, Currency: kk.cur}
			}
		}
		r := rows[kk.cur][cat]
		r.Donors++
		r.ThisYear += s.this
		r.LastYear += s.last
		r.Earlier += s.earlier
	}
	out := []crm.RetentionRow{}
	for _, cur := range slices.Sorted(maps.Keys(rows)) {
		for _, c := range crm.DonorCategories() {
			out = append(out, *rows[cur][c])
		}
	}
	return out
}
