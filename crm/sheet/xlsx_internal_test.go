package sheet

import "testing"

func TestSerialText(t *testing.T) {
	for _, c := range []struct {
		in       string
		date1904 bool
		want     string
	}{
		{dateMarker + "D1.000000", false, "1900-01-01"},
		{dateMarker + "D59.000000", false, "1900-02-28"},
		{dateMarker + "D61.000000", false, "1900-03-01"},
		{dateMarker + "D45671.000000", false, "2025-01-14"},
		{dateMarker + "T45671.312500", false, "2025-01-14 07:30:00"},
		{dateMarker + "T45671.999999", false, "2025-01-15 00:00:00"},
		{dateMarker + "H0.312500", false, "07:30:00"},
		{dateMarker + "D0.000000", true, "1904-01-01"},
		{dateMarker + "D44209.000000", true, "2025-01-14"},
		{dateMarker + "D99999999.000000", false, "99999999.000000"},
	} {
		if got := serialText(c.in, c.date1904); got != c.want {
			t.Errorf("serialText(%q, %v) = %q, want %q", c.in, c.date1904, got, c.want)
		}
	}
	for code, want := range map[string]string{
		"General": plainFormat, "0": plainFormat, "0.00": plainFormat, `#,##0.00\ [$€-40C]`: plainFormat, "0%": plainFormat, "@": plainFormat,
		"dd/mm/yyyy": isoDate, "[$-40C]d mmmm yyyy": isoDate, "mm:ss": isoTime, "[h]:mm:ss": isoTime, "h:mm AM/PM": isoTime,
		"dd/mm/yyyy hh:mm": isoDateTime, `[Red]"neg"0;0`: plainFormat,
		"0000000000": "0000000000", `\0General`: `"0"0`, `00" "00" "00" "00" "00`: `00" "00" "00" "00" "00`, "00000": "00000",
	} {
		if got := cellFormat(code); got != want {
			t.Errorf("cellFormat(%q) = %q, want %q", code, got, want)
		}
	}
}
