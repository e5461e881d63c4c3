package crm

import (
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// NormalizeCurrency returns the upper-case ISO 4217 code of c ("eur" gives
// "EUR"), or a *ValidationError (field "currency") if it is not one.
func NormalizeCurrency(c string) (string, error) {
	code := strings.ToUpper(CleanText(c))
	if len(code) != 3 {
		return "", invalid("currency", c, "not an ISO 4217 code such as EUR")
	}
	if _, err := currency.ParseISO(code); err != nil {
		return "", invalid("currency", c, "not an ISO 4217 code such as EUR")
	}
	return code, nil
}

// currencyScale is the number of minor-unit digits of an ISO 4217 code:
// 2 for EUR, 0 for JPY, 3 for KWD.
func currencyScale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// ParseAmount reads an amount written by a person or a spreadsheet in the
// major units of cur ("25.50", "25,50", "1 234,56", "1,234.56", "25 €")
// and returns it in minor units (2550 cents). It returns a
// *ValidationError (field "amount") for text that is not a positive
// amount, has more decimals than the currency has, or overflows.
func ParseAmount(s, cur string) (int64, error) {
	code, err := NormalizeCurrency(cur)
	if err != nil {
		return 0, err
	}
	scale := currencyScale(code)
	v := strings.TrimSpace(s)
	for _, sym := range []string{"€", "$", "£", code, strings.ToLower(code)} {
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, sym), sym))
	}
	// Thousands may be grouped with spaces, no-break spaces or apostrophes.
	v = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '\'':
			return -1
		}
		return r
	}, v)
	if v == "" {
		return 0, invalid("amount", s, "missing")
	}
	if strings.HasPrefix(v, "-") {
		return 0, invalid("amount", s, "must be positive")
	}
	v = strings.TrimPrefix(v, "+")
	// The last of '.' or ',' is the decimal separator; the other groups
	// thousands.
	intPart, frac := v, ""
	if i := strings.LastIndexAny(v, ".,"); i >= 0 {
		intPart, frac = v[:i], v[i+1:]
		sep := v[i]
		other := byte(',')
		if sep == ',' {
			other = '.'
		}
		if strings.IndexByte(intPart, sep) >= 0 {
			return 0, invalid("amount", s, "not a number (two decimal separators)")
		}
		intPart = strings.ReplaceAll(intPart, string(other), "")
	}
	if intPart == "" {
		intPart = "0"
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, invalid("amount", s, "not a number")
	}
	if len(frac) > scale {
		return 0, invalid("amount", s, "more decimals than "+code+" has ("+strconv.Itoa(scale)+")")
	}
	frac += strings.Repeat("0", scale-len(frac))
	minor, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil || minor > math.MaxInt64/100 {
		return 0, invalid("amount", s, "too large")
	}
	if minor == 0 {
		return 0, invalid("amount", s, "must be positive")
	}
	return minor, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatAmount writes minor units of cur in major units with a dot, as
// "25.50" for 2550 EUR or "300" for 300 JPY.
func FormatAmount(minor int64, cur string) string {
	scale := currencyScale(cur)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
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
