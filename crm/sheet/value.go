package sheet

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/currency"
)

// Kind is the type of a cell, which decides how each format writes it:
// text is neutralised (see Neutralize), numbers, amounts and dates are
// written as numbers and dates.
type Kind uint8

// The kinds of cells.
const (
	KindText     Kind = iota // any text, neutralised
	KindInteger              // a whole number
	KindDecimal              // a number with a fraction
	KindMoney                // an amount in minor units with its ISO 4217 currency
	KindDate                 // a calendar day
	KindDateTime             // a moment, written as the wall clock of its location
	KindBoolean              // true or false
)

var kindNames = [...]string{"text", "integer", "decimal", "money", "date", "date-time", "boolean"}

// String returns the kind's name: "text", "integer", "decimal", "money",
// "date", "date-time" or "boolean".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one typed cell of a row given to a Writer. The zero Value is
// an empty cell (of kind text).
type Value struct {
	kind Kind
	text string    // text; money: the currency; date-time: the layout
	n    int64     // integer; money: minor units; boolean: 1 for true
	f    float64   // decimal
	t    time.Time // date, date-time
}

// Text returns a text cell. A text that begins like a formula is
// neutralised when written (see Neutralize); the empty text is an empty
// cell.
func Text(s string) Value { return Value{kind: KindText, text: s} }

// Int returns a whole-number cell.
func Int(n int64) Value { return Value{kind: KindInteger, n: n} }

// Decimal returns a number cell with a fraction.
func Decimal(f float64) Value { return Value{kind: KindDecimal, f: f} }

// Money returns an amount of minor units (cents) of currency, an upper-case
// ISO 4217 code; the number of decimals is the currency's (2 for EUR, 0
// for JPY, 3 for KWD; 2 for a code unknown to ISO 4217).
func Money(minor int64, currency string) Value {
	return Value{kind: KindMoney, n: minor, text: currency}
}

// Date returns the calendar day of t in t's location, as a date cell.
func Date(t time.Time) Value { return Value{kind: KindDate, t: t} }

// DateTime returns the moment t as a date-time cell. CSV and String write
// it in t's location with layout (time.RFC3339 if layout is ""); Excel
// CSV and xlsx, which know no time zones, write the wall clock of t's
// location.
func DateTime(t time.Time, layout string) Value {
	if layout == "" {
		layout = time.RFC3339
	}
	return Value{kind: KindDateTime, t: t, text: layout}
}

// Bool returns a true-or-false cell.
func Bool(b bool) Value {
	v := Value{kind: KindBoolean}
	if b {
		v.n = 1
	}
	return v
}

// Kind returns the kind of the cell.
func (v Value) Kind() Kind { return v.kind }

// IsEmpty reports whether the cell is empty: the zero Value or an empty
// text.
func (v Value) IsEmpty() bool { return v.kind == KindText && v.text == "" }

// String returns the cell as CSV writes it before neutralisation, and as
// a table on a terminal shows it: integers in digits, amounts in major
// units with a dot and the currency's decimals ("1234.56"), dates as
// 2006-01-02, date-times with their layout, booleans as true or false.
func (v Value) String() string {
	switch v.kind {
	case KindInteger:
		return strconv.FormatInt(v.n, 10)
	case KindDecimal:
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case KindMoney:
		return formatMinor(v.n, currencyScale(v.text))
	case KindDate:
		return v.t.Format(time.DateOnly)
	case KindDateTime:
		return v.t.Format(v.text)
	case KindBoolean:
		return strconv.FormatBool(v.n == 1)
	}
	return v.text
}

// excelText is the cell as French Excel reads it from a CSV file: decimal
// commas, dates and date-times in ISO 8601 order with a space before the
// time (Excel does not read the T and zone of RFC 3339), booleans as VRAI
// and FAUX. Text is returned as it is, not yet neutralised.
//
// ISO dates (2026-12-05) rather than 05/12/2026: Excel reads an ISO date
// as a date whatever the computer's regional settings, and shows it in
// the reader's own short date format (05/12/2026 in France); the same
// file opened with other settings (fr-CA, en-US) could read 05/12/2026 as
// the 12th of May, silently. LibreOffice reads ISO dates in every locale
// too.
func (v Value) excelText() string {
	switch v.kind {
	case KindDecimal, KindMoney:
		return strings.Replace(v.String(), ".", ",", 1)
	case KindDate:
		return v.t.Format(time.DateOnly)
	case KindDateTime:
		return v.t.Format(time.DateTime)
	case KindBoolean:
		if v.n == 1 {
			return "VRAI"
		}
		return "FAUX"
	}
	return v.String()
}

// currencyScale is the number of minor-unit digits of an ISO 4217 code:
// 2 for EUR, 0 for JPY, 3 for KWD, and 2 for a code it does not know. It
// is the rule of crm.FormatAmount, which this package cannot import.
func currencyScale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// formatMinor writes minor units in major units with a dot and scale
// decimals: "25.50" for 2550 and scale 2, "300" for 300 and scale 0.
func formatMinor(minor int64, scale int) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
