package crm

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/assocrm/assocrm/crm/chart"
)

// ChartMonths is how many months WriteDonationChart draws.
const ChartMonths = 24

// DonationChartOptions configures WriteDonationChart.
type DonationChartOptions struct {
	Format   string // "svg" or "png"
	Language string // of the labels: "fr" (default) or "en"
	// End is a moment of the last month drawn (in UTC); zero means now.
	End time.Time
	// RetentionYear is the year whose donors are compared with the year
	// before's; 0 means the year before End's, the last complete one.
	RetentionYear int
	Fund          *string // only the gifts to this fund; nil for all
}

// DonationChartInfo says what WriteDonationChart drew.
type DonationChartInfo struct {
	Currency      string    // the currency drawn
	LeftOut       []string  // currencies with gifts in the months drawn that are not
	First, Last   time.Time // the first and last months drawn
	RetentionYear int
}

// Chart colours: the monthly bars in the house colour; the donors who
// give this year in greens and blues, those who lapsed in amber and
// grey.
var (
	colorMonths    = color.RGBA{0x9c, 0x2a, 0x00, 0xff}
	colorRetained  = color.RGBA{0x1f, 0x6f, 0x5c, 0xff}
	colorNew       = color.RGBA{0x3b, 0x82, 0xc4, 0xff}
	colorRecovered = color.RGBA{0x8e, 0x6c, 0xc0, 0xff}
	colorLYBUNT    = color.RGBA{0xd0, 0x8a, 0x2e, 0xff}
	colorSYBUNT    = color.RGBA{0xa9, 0xa9, 0xa2, 0xff}
)

// WriteDonationChart draws, for a treasurer's report to the general
// assembly, the gifts received in each of the ChartMonths months up to
// o.End as columns, and under them the donors of o.RetentionYear
// against those of the year before (retained, new, recovered, lapsed:
// see RetentionReport) as stacked bars, in the currency with the most
// gifts over those months. Labels are in French or English. It returns
// a *ValidationError for another format or language, or the error of a
// query or of w.
func (db *DB) WriteDonationChart(ctx context.Context, w io.Writer, o DonationChartOptions) (*DonationChartInfo, error) {
	if o.Format != "svg" && o.Format != "png" {
		return nil, invalid("format", o.Format, "want svg or png")
	}
	lang := cmp.Or(o.Language, "fr")
	if lang != "fr" && lang != "en" {
		return nil, invalid("lang", o.Language, "want fr or en")
	}
	end := o.End
	if end.IsZero() {
		end = db.Now()
	}
	end = end.UTC()
	last := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, time.UTC)
	first := last.AddDate(0, 1-ChartMonths, 0)
	info := &DonationChartInfo{First: first, Last: last, RetentionYear: o.RetentionYear}
	if info.RetentionYear == 0 {
		info.RetentionYear = end.Year() - 1
	}
	until := last.AddDate(0, 1, 0)
	months, err := db.DonationReport(ctx, DonationFilter{Since: &first, Until: &until, Fund: o.Fund}, ByMonth)
	if err != nil {
		return nil, err
	}
	retention, err := db.RetentionReport(ctx, RetentionOptions{Year: info.RetentionYear, Fund: o.Fund})
	if err != nil {
		return nil, err
	}
	totals := map[string]int64{}
	for _, r := range months {
		totals[r.Currency] += r.Sum
	}
	for _, r := range retention {
		if _, ok := totals[r.Currency]; !ok && len(months) == 0 {
			totals[r.Currency] = 0
		}
	}
	currencies := slices.Sorted(maps.Keys(totals))
	info.Currency = "EUR"
	if len(currencies) > 0 {
		info.Currency = slices.MaxFunc(currencies, func(a, b string) int {
			// The biggest total; between equals, the first in order.
			return cmp.Or(cmp.Compare(totals[a], totals[b]), strings.Compare(b, a))
		})
	}
	for _, c := range currencies {
		if c != info.Currency && totals[c] > 0 {
			info.LeftOut = append(info.LeftOut, c)
		}
	}
	words := chartWords[lang]
	money := func(v int64) string { return formatMoney(v, info.Currency, lang) }
	// Totals of a year, at the end of bars: no cents.
	rounded := func(v int64) string {
		unit := int64(1)
		for range currencyScale(info.Currency) {
			unit *= 10
		}
		return formatMoney((v+unit/2)/unit*unit, info.Currency, lang)
	}

	sums := map[string]int64{}
	for _, r := range months {
		if r.Currency == info.Currency {
			sums[r.Key] = r.Sum
		}
	}
	title := fmt.Sprintf(words.monthsTitle, words.monthName(first), words.monthName(last), info.Currency)
	if o.Fund != nil {
		title += fmt.Sprintf(words.fund, CleanText(*o.Fund))
	}
	monthly := &chart.Chart{Title: title, Columns: true, Format: money}
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		b := chart.Bar{Label: words.months[m.Month()-1],
			Parts: []chart.Part{{Value: sums[m.Format("2006-01")], Color: colorMonths}}}
		if m.Month() == time.January || m.Equal(first) {
			b.Caption = strconv.Itoa(m.Year())
		}
		monthly.Bars = append(monthly.Bars, b)
	}
	return info, chart.Write(w, o.Format, monthly, retentionChart(retention, info, words, rounded))
}

// retentionChart draws the donors of the year studied against those of
// the year before: the retained are in both bars.
func retentionChart(rows []RetentionRow, info *DonationChartInfo, words chartLanguage, money func(int64) string) *chart.Chart {
	by := map[DonorCategory]RetentionRow{}
	for _, r := range rows {
		if r.Currency == info.Currency {
			by[r.Category] = r
		}
	}
	y := info.RetentionYear
	ret, nw, rec, ly, sy := by[DonorsRetained], by[DonorsNew], by[DonorsRecovered], by[DonorsLYBUNT], by[DonorsSYBUNT]
	before, now := ret.Donors+ly.Donors, ret.Donors+nw.Donors+rec.Donors
	title := fmt.Sprintf(words.retentionTitle, y)
	if before > 0 {
		title = fmt.Sprintf(words.retentionRate, y, ret.Donors*100/before, y-1)
	}
	part := func(n int, c color.RGBA) chart.Part { return chart.Part{Value: int64(n), Color: c} }
	note := func(n int, sum int64) string {
		if n == 1 {
			return fmt.Sprintf(words.noteOne, n, money(sum))
		}
		return fmt.Sprintf(words.note, n, money(sum))
	}
	return &chart.Chart{
		Title: title,
		Bars: []chart.Bar{
			{Label: fmt.Sprintf(words.donorsOf, y-1), Parts: []chart.Part{part(ret.Donors, colorRetained), part(ly.Donors, colorLYBUNT)},
				Note: note(before, ret.LastYear+ly.LastYear)},
			{Label: fmt.Sprintf(words.donorsOf, y), Parts: []chart.Part{part(ret.Donors, colorRetained), part(nw.Donors, colorNew), part(rec.Donors, colorRecovered)},
				Note: note(now, ret.ThisYear+nw.ThisYear+rec.ThisYear)},
			{Label: words.earlier, Parts: []chart.Part{part(sy.Donors, colorSYBUNT)}, Note: strconv.Itoa(sy.Donors)},
		},
		Legend: []chart.Key{
			{Label: fmt.Sprintf(words.retained, ret.Donors), Color: colorRetained},
			{Label: fmt.Sprintf(words.new, nw.Donors), Color: colorNew},
			{Label: fmt.Sprintf(words.recovered, rec.Donors), Color: colorRecovered},
			{Label: fmt.Sprintf(words.lybunt, y, ly.Donors), Color: colorLYBUNT},
			{Label: fmt.Sprintf(words.sybunt, sy.Donors), Color: colorSYBUNT},
		},
	}
}

// chartLanguage holds the words of the donation chart in one language.
type chartLanguage struct {
	months                                   [12]string // abbreviated, under the columns
	monthNames                               [12]string
	monthsTitle, fund                        string
	retentionTitle, retentionRate            string
	donorsOf, earlier, note, noteOne         string
	retained, new, recovered, lybunt, sybunt string
	thousands, decimal                       string
	symbolFirst                              bool
}

func (l chartLanguage) monthName(t time.Time) string {
	return fmt.Sprintf("%s %d", l.monthNames[t.Month()-1], t.Year())
}

var chartWords = map[string]chartLanguage{
	"fr": {
		months: [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		monthNames: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
			"octobre", "novembre", "décembre"},
		monthsTitle:    "Dons reçus par mois, de %s à %s (%s)",
		fund:           ", fonds « %s »",
		retentionTitle: "Donateurs %d",
		retentionRate:  "Donateurs %d\u00a0: %d\u00a0%% des donateurs de %d ont donné de nouveau",
		donorsOf:       "donateurs %d",
		earlier:        "perdus de vue",
		note:           "%d donateurs, %s",
		noteOne:        "%d donateur, %s",
		retained:       "fidèles\u00a0: %d",
		new:            "nouveaux\u00a0: %d",
		recovered:      "revenus\u00a0: %d",
		lybunt:         "pas revenus en %d (LYBUNT)\u00a0: %d",
		sybunt:         "perdus de vue plus tôt (SYBUNT)\u00a0: %d",
		thousands:      "\u00a0",
		decimal:        ",",
	},
	"en": {
		months:         [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		monthNames:     [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		monthsTitle:    "Gifts received per month, %s to %s (%s)",
		fund:           ", fund “%s”",
		retentionTitle: "Donors in %d",
		retentionRate:  "Donors in %d: %d%% of %d's donors gave again",
		donorsOf:       "%d donors",
		earlier:        "lapsed earlier",
		note:           "%d donors, %s",
		noteOne:        "%d donor, %s",
		retained:       "retained: %d",
		new:            "new: %d",
		recovered:      "recovered: %d",
		lybunt:         "did not give again in %d (LYBUNT): %d",
		sybunt:         "lapsed earlier (SYBUNT): %d",
		thousands:      ",",
		decimal:        ".",
		symbolFirst:    true,
	},
}

var chartSymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// formatMoney writes an amount for a chart: grouped thousands, cents
// only when there are some, the currency's symbol where the language
// puts it ("1 234 €", "€1,234.50").
func formatMoney(minor int64, cur, lang string) string {
	l := chartWords[lang]
	s := FormatAmount(minor, cur)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Trim(frac, "0") == "" {
		frac = ""
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(l.thousands)
		}
		b.WriteRune(r)
	}
	n := b.String()
	if frac != "" {
		n += l.decimal + frac
	}
	sign := ""
	if neg {
		sign = "-"
	}
	sym, ok := chartSymbols[cur]
	switch {
	case !ok && l.symbolFirst:
		return sign + cur + " " + n
	case !ok:
		return sign + n + "\u00a0" + cur
	case l.symbolFirst:
		return sign + sym + n
	}
	return sign + n + "\u00a0" + sym
}
