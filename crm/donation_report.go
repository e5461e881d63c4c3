package crm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The treasurer's reports. Every sum is made by the database (GROUP BY
// over donations, on SQLite and PostgreSQL alike), so a report reads
// one row per line it prints, not every gift. Months and years are
// calendar months and years in UTC, as gifts are stored.

// ReportGroup is how DonationReport groups gifts.
type ReportGroup string

// Report groupings.
const (
	ByMonth  ReportGroup = "month"
	ByYear   ReportGroup = "year"
	ByFund   ReportGroup = "fund"
	ByMethod ReportGroup = "method"
)

// ReportRow is one line of a donation report.
type ReportRow struct {
	Key      string `json:"key"` // "2026-01", "2026", the fund or the method
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Donors   int    `json:"donors"` // distinct supporters; the gifts of erased ones count in no donor
	Sum      int64  `json:"sum"`    // minor units
}

// DonationReport sums the donations matching f (but for Offset and Limit)
// by month, year, fund or method, one row per key and currency, ordered
// by key and currency. It returns a *ValidationError for another
// grouping.
func (db *DB) DonationReport(ctx context.Context, f DonationFilter, by ReportGroup) ([]ReportRow, error) {
	var key string
	switch by {
	case ByMonth:
		key = db.periodExpr("d.received_at", "month")
	case ByYear:
		key = db.periodExpr("d.received_at", "year")
	case ByFund:
		key = "d.fund"
	case ByMethod:
		key = "d.method"
	default:
		return nil, invalid("by", string(by), "want month, year, fund or method")
	}
	var out []ReportRow
	q := db.bun.NewSelect().TableExpr("donations AS d").
		ColumnExpr(key + " AS key").ColumnExpr("d.currency AS currency").
		ColumnExpr("COUNT(*) AS count, COUNT(DISTINCT d.supporter_id) AS donors, SUM(d.amount) AS sum").
		GroupExpr(key).GroupExpr("d.currency")
	applyDonationFilter(q, f)
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("donation report: %w", err)
	}
	// Sorted here, byte by byte: PostgreSQL would sort text by its locale.
	slices.SortFunc(out, func(a, b ReportRow) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Currency, b.Currency))
	})
	return out, nil
}

// periodExpr is the SQL for the UTC month ("2026-01") or year ("2026")
// of the time column col.
func (db *DB) periodExpr(col, period string) string {
	if db.isSQLite() {
		// Times are stored as text in UTC (2026-01-31 10:00:00+00:00):
		// cutting the text is twice as fast as strftime, which parses it.
		if period == "year" {
			return "substr(" + col + ", 1, 4)"
		}
		return "substr(" + col + ", 1, 7)"
	}
	if period == "year" {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY')"
	}
	return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM')"
}

// DonorTotal is one donor's line of DonorReport.
type DonorTotal struct {
	// SupporterID is 0 on the line that gathers the gifts of erased
	// donors, kept as anonymous amounts.
	SupporterID  int64     `json:"supporter_id"`
	Email        string    `json:"email"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Organisation string    `json:"organisation"`
	Currency     string    `json:"currency"`
	Count        int       `json:"count"`
	Sum          int64     `json:"sum"` // minor units
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
}

// Name returns the donor's first and last name joined, or their
// organisation when both are empty.
func (t DonorTotal) Name() string {
	if n := strings.TrimSpace(t.FirstName + " " + t.LastName); n != "" {
		return n
	}
	return t.Organisation
}

// DonorReport sums the donations matching f (but for Offset and Limit)
// per donor and currency: the count, the total, the first and the last
// gift. The biggest totals come first, then by email. The gifts of
// erased donors make one line with SupporterID 0.
func (db *DB) DonorReport(ctx context.Context, f DonationFilter) ([]DonorTotal, error) {
	var rows []struct {
		SupporterID  int64
		Email        string
		FirstName    string
		LastName     string
		Organisation string
		Currency     string
		Count        int
		Sum          int64
		First        time.Time
		Last         time.Time
	}
	q := db.bun.NewSelect().TableExpr("donations AS d").
		Join("LEFT JOIN supporters AS s ON s.id = d.supporter_id").
		ColumnExpr("COALESCE(d.supporter_id, 0) AS supporter_id").
		ColumnExpr("COALESCE(MAX(s.email), '') AS email, COALESCE(MAX(s.first_name), '') AS first_name").
		ColumnExpr("COALESCE(MAX(s.last_name), '') AS last_name, COALESCE(MAX(s.organisation), '') AS organisation").
		ColumnExpr("d.currency AS currency, COUNT(*) AS count, SUM(d.amount) AS sum").
		ColumnExpr("MIN(d.received_at) AS first, MAX(d.received_at) AS last").
		GroupExpr("d.supporter_id").GroupExpr("d.currency")
	applyDonationFilter(q, f)
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("donor report: %w", err)
	}
	out := make([]DonorTotal, len(rows))
	for i, r := range rows {
		out[i] = DonorTotal{SupporterID: r.SupporterID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
			Organisation: r.Organisation, Currency: r.Currency, Count: r.Count, Sum: r.Sum,
			First: r.First.UTC(), Last: r.Last.UTC()}
	}
	slices.SortFunc(out, func(a, b DonorTotal) int {
		return cmp.Or(cmp.Compare(b.Sum, a.Sum), strings.Compare(a.Currency, b.Currency),
			strings.Compare(a.Email, b.Email), cmp.Compare(a.SupporterID, b.SupporterID))
	})
	return out, nil
}

// DonorCategory is what a donor did in a year compared with the years
// before: see RetentionReport.
type DonorCategory string

// Donor categories of a year Y.
const (
	// DonorsRetained gave in Y-1 and in Y.
	DonorsRetained DonorCategory = "retained"
	// DonorsNew gave in Y for the first time.
	DonorsNew DonorCategory = "new"
	// DonorsRecovered gave in Y, not in Y-1, but before.
	DonorsRecovered DonorCategory = "recovered"
	// DonorsLYBUNT gave Last Year But Unfortunately Not This year: in
	// Y-1, not in Y.
	DonorsLYBUNT DonorCategory = "lybunt"
	// DonorsSYBUNT gave Some Year But Unfortunately Not This year: before
	// Y-1, neither in Y-1 nor in Y.
	DonorsSYBUNT DonorCategory = "sybunt"
)

// DonorCategories returns the categories in the order a report shows
// them, in a slice of the caller's.
func DonorCategories() []DonorCategory {
	return []DonorCategory{DonorsRetained, DonorsNew, DonorsRecovered, DonorsLYBUNT, DonorsSYBUNT}
}

// RetentionOptions chooses the year and the gifts of RetentionReport.
type RetentionOptions struct {
	Year int     // the year studied
	Fund *string // only the gifts to this fund; nil for all
}

// RetentionRow is one category of donors in one currency.
type RetentionRow struct {
	Category DonorCategory `json:"category"`
	Currency string        `json:"currency"`
	Donors   int           `json:"donors"`
	// What they gave in the year, the year before, and in the years
	// before that, in minor units: a lapsed donor's LastYear (LYBUNT) or
	// Earlier (SYBUNT) is what the association no longer receives.
	ThisYear int64 `json:"this_year"`
	LastYear int64 `json:"last_year"`
	Earlier  int64 `json:"earlier"`
}

// RetentionReport sorts the donors of o.Year into categories (retained,
// new, recovered, and lapsed: LYBUNT and SYBUNT), per currency, with
// what each category gave: five rows per currency that has gifts up to
// the end of the year, in the order of DonorCategories, those with no
// donor included. Gifts after the year do not count; nor do those of
// erased donors, which belong to nobody. It returns a *ValidationError
// for a year before 1900 or after 9998.
func (db *DB) RetentionReport(ctx context.Context, o RetentionOptions) ([]RetentionRow, error) {
	if o.Year < 1900 || o.Year > 9998 {
		return nil, invalid("year", fmt.Sprint(o.Year), "want a year such as 2026")
	}
	start := time.Date(o.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	prev, end := start.AddDate(-1, 0, 0), start.AddDate(1, 0, 0)
	perDonor := db.bun.NewSelect().TableExpr("donations AS d").
		ColumnExpr("d.supporter_id, d.currency").
		ColumnExpr("SUM(CASE WHEN d.received_at >= ? THEN d.amount ELSE 0 END) AS this_year", start).
		ColumnExpr("SUM(CASE WHEN d.received_at >= ? AND d.received_at < ? THEN d.amount ELSE 0 END) AS last_year", prev, start).
		ColumnExpr("SUM(CASE WHEN d.received_at < ? THEN d.amount ELSE 0 END) AS earlier", prev).
		Where("d.supporter_id IS NOT NULL").Where("d.received_at < ?", end).
		GroupExpr("d.supporter_id").GroupExpr("d.currency")
	if o.Fund != nil {
		perDonor.Where("d.fund = ?", CleanText(*o.Fund))
	}
	// Amounts are positive, so a sum above 0 means "gave".
	classified := db.bun.NewSelect().TableExpr("(?) AS per_donor", perDonor).
		ColumnExpr("currency, this_year, last_year, earlier").
		ColumnExpr(`CASE WHEN this_year > 0 AND last_year > 0 THEN ?
			WHEN this_year > 0 AND earlier = 0 THEN ?
			WHEN this_year > 0 THEN ?
			WHEN last_year > 0 THEN ?
			ELSE ? END AS category`,
			DonorsRetained, DonorsNew, DonorsRecovered, DonorsLYBUNT, DonorsSYBUNT)
	var rows []RetentionRow
	err := db.bun.NewSelect().TableExpr("(?) AS classified", classified).
		ColumnExpr("category, currency, COUNT(*) AS donors").
		ColumnExpr("SUM(this_year) AS this_year, SUM(last_year) AS last_year, SUM(earlier) AS earlier").
		GroupExpr("category").GroupExpr("currency").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("retention report: %w", err)
	}
	return completeRetention(rows), nil
}

// completeRetention orders rows by currency and category, adding the
// categories no donor fell into.
func completeRetention(rows []RetentionRow) []RetentionRow {
	type key struct {
		cur string
		cat DonorCategory
	}
	got := map[key]RetentionRow{}
	var currencies []string
	for _, r := range rows {
		got[key{r.Currency, r.Category}] = r
		if !slices.Contains(currencies, r.Currency) {
			currencies = append(currencies, r.Currency)
		}
	}
	slices.Sort(currencies)
	out := make([]RetentionRow, 0, len(currencies)*5)
	for _, cur := range currencies {
		for _, cat := range DonorCategories() {
			r, ok := got[key{cur, cat}]
			if !ok {
				r = RetentionRow{Category: cat, Currency: cur}
			}
			out = append(out, r)
		}
	}
	return out
}
