package crm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// The cutoff of crm prune --inactive: a period read from its short form
// and counted back on the calendar.
func TestPeriodCutoff(t *testing.T) {
	now := time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"3y", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}, // no 29 February in 2025
		{" 18M ", time.Date(2026, 8, 29, 10, 0, 0, 0, time.UTC)},
		{"6w", time.Date(2028, 1, 18, 10, 0, 0, 0, time.UTC)},
		{"90d", time.Date(2027, 12, 1, 10, 0, 0, 0, time.UTC)},
	} {
		p, err := crm.ParsePeriod(tt.in)
		if err != nil {
			t.Errorf("ParsePeriod(%q): %v", tt.in, err)
			continue
		}
		if got := p.Before(now); !got.Equal(tt.want) {
			t.Errorf("ParsePeriod(%q).Before(%s) = %s, want %s", tt.in, now, got, tt.want)
		}
	}
	for _, in := range []string{"", "3", "y", "0y", "-2m", "3x", "1.5y", "soon"} {
		_, err := crm.ParsePeriod(in)
		var ve *crm.ValidationError
		if !errors.Is(err, crm.ErrInvalid) || !errors.As(err, &ve) || ve.Field != "period" || ve.Value != in {
			t.Errorf("ParsePeriod(%q) = %v, want a validation error on field period", in, err)
		}
	}
}
