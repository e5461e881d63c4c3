package newsletter

import (
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// eventWhen writes dates as people do, in the settings' time zone: the
// first of the month is "1er" in French, and an end on another day
// names both days.
func TestEventWhen(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		start, end time.Time
		fr, en     string
	}{
		{utc(3, 1, 6, 30), time.Time{}, "dimanche 1er mars 2026 à 7\u00a0h\u00a030", "Sunday 1 March 2026 at 7:30\u00a0am"},
		// Summer time: UTC+2.
		{utc(7, 14, 16, 0), utc(7, 14, 20, 45), "mardi 14 juillet 2026, de 18\u00a0h à 22\u00a0h\u00a045",
			"Tuesday 14 July 2026, 6:00\u00a0pm to 10:45\u00a0pm"},
		{utc(12, 5, 18, 0), utc(12, 6, 11, 0), "du samedi 5 décembre 2026 à 19\u00a0h au dimanche 6 décembre 2026 à 12\u00a0h",
			"from Saturday 5 December 2026 at 7:00\u00a0pm to Sunday 6 December 2026 at 12:00\u00a0pm"},
		// Ends at midnight in Paris: the next day.
		{utc(3, 7, 20, 0), utc(3, 7, 23, 0), "du samedi 7 mars 2026 à 21\u00a0h au dimanche 8 mars 2026 à 0\u00a0h",
			"from Saturday 7 March 2026 at 9:00\u00a0pm to Sunday 8 March 2026 at 12:00\u00a0am"},
	} {
		e := &crm.Event{StartsAt: c.start, EndsAt: c.end}
		if got := eventWhen(e, paris, "fr"); got != c.fr {
			t.Errorf("fr: %q, want %q", got, c.fr)
		}
		if got := eventWhen(e, paris, "en"); got != c.en {
			t.Errorf("en: %q, want %q", got, c.en)
		}
	}
}
