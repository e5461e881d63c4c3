package crm

import "testing"

func TestFormatMoney(t *testing.T) {
	for _, tt := range []struct {
		minor int64
		cur   string
		lang  string
		want  string
	}{
		{0, "EUR", "fr", "0\u00a0€"},
		{123456, "EUR", "fr", "1\u00a0234,56\u00a0€"},
		{100000, "EUR", "fr", "1\u00a0000\u00a0€"},
		{123456789, "EUR", "fr", "1\u00a0234\u00a0567,89\u00a0€"},
		{100000, "EUR", "en", "€1,000"},
		{50, "EUR", "en", "€0.50"},
		{300, "JPY", "fr", "300\u00a0¥"},
		{5000, "CHF", "en", "CHF 50"},
		{5000, "CHF", "fr", "50\u00a0CHF"},
		{-2500, "USD", "en", "-$25"},
	} {
		if got := formatMoney(tt.minor, tt.cur, tt.lang); got != tt.want {
			t.Errorf("formatMoney(%d, %s, %s) = %q, want %q", tt.minor, tt.cur, tt.lang, got, tt.want)
		}
	}
}
