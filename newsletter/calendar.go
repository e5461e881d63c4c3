package newsletter

import (
	"context"
	"fmt"
	"io"
	"strings"

	ics "github.com/arran4/golang-ical"

	"github.com/assocrm/assocrm/crm"
)

// WriteEventCalendar writes the events as one iCalendar file (RFC 5545)
// to w, titles and descriptions in lang (fr or en): one VEVENT per event
// with a UID that stays the same for the event's life (event-ID@host of
// the public URL), its times in UTC, STATUS:CANCELLED once cancelled, and
// a SEQUENCE that counts its changes (crm.Event.Sequence: one per edit and
// one for the cancellation), so that calendars that imported it replace
// their copy. A public event still scheduled links to its entry on the
// public events page. It returns the error of the database or of w.
func (n *Newsletter) WriteEventCalendar(ctx context.Context, w io.Writer, lang string, events ...*crm.Event) error {
	st, err := n.db.Settings(ctx)
	if err != nil {
		return err
	}
	cal := ics.NewCalendar()
	cal.SetProductId("-//assocrm//events//" + strings.ToUpper(pageLanguage(lang, "")))
	cal.SetMethod(ics.MethodPublish)
	name := calendarTexts[pageLanguage(lang, "")]
	if st.Name != "" {
		name += " · " + st.Name
	}
	cal.SetXWRCalName(name)
	cal.SetXWRTimezone(st.Location().String())
	host := n.publicURL.Hostname()
	for _, e := range events {
		v := cal.AddEvent(fmt.Sprintf("event-%d@%s", e.ID, host))
		v.SetDtStampTime(e.UpdatedAt)
		v.SetCreatedTime(e.CreatedAt)
		v.SetModifiedAt(e.UpdatedAt)
		v.SetSequence(e.Sequence)
		v.SetStartAt(e.StartsAt)
		v.SetEndAt(e.End())
		v.SetSummary(calendarText(e.TitleFor(lang)))
		if place := e.Place(); place != "" {
			v.SetLocation(calendarText(place))
		}
		if d := e.DescriptionFor(lang); d != "" {
			v.SetDescription(calendarText(d))
		}
		if e.Public && e.Status == crm.EventScheduled {
			v.SetURL(n.eventsPageURL(e))
		}
		if e.Status == crm.EventCancelled {
			v.SetStatus(ics.ObjectStatusCancelled)
		} else {
			v.SetStatus(ics.ObjectStatusConfirmed)
		}
	}
	// RFC 5545 lines end in CRLF; the library's default is the system's.
	return cal.SerializeTo(w, ics.WithNewLineWindows)
}

// calendarTexts names the calendar, by language.
var calendarTexts = map[string]string{"fr": "Événements", "en": "Events"}

// calendarText keeps a text's line breaks as iCalendar's \n (the library
// escapes them) and drops carriage returns, which it does not.
func calendarText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// eventsPageURL is the event's entry on the public events page.
func (n *Newsletter) eventsPageURL(e *crm.Event) string {
	u := *n.publicURL
	u.Path = strings.TrimRight(u.Path, "/") + "/events"
	u.RawQuery, u.Fragment = "", "event-"+e.Name
	return u.String()
}
