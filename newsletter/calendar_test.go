package newsletter_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// getCalendar fetches a calendar and parses it back with the library.
func (w *web) getCalendar(t *testing.T, path string) *ics.Calendar {
	t.Helper()
	resp, err := http.Get(w.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	cal, err := ics.ParseCalendar(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not a calendar: %v", path, err)
	}
	return cal
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func prop(v *ics.VEvent, p ics.ComponentProperty) string {
	if x := v.GetProperty(p); x != nil {
		return x.Value
	}
	return ""
}

// The public feed holds the upcoming public events, the cancelled ones
// marked so, and nothing else; each VEVENT parses back with its UID,
// times in UTC, texts, URL and a SEQUENCE that grows with edits.
func TestEventCalendars(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	lilas := w.addEvent(t, crm.Event{Name: "distribution", Title: "Distribution, soupe; thé", TitleEN: "Food distribution",
		Description: "Ligne 1\nLigne 2, avec virgule; et point-virgule\\", Address: "Place d'Armes", City: "Calais", Postcode: "62100",
		Public: true})
	w.addEvent(t, crm.Event{Name: "passee", Public: true, StartsAt: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)})
	private := w.addEvent(t, crm.Event{Name: "expulsion", Title: "Expulsion secrète", Kind: crm.KindAction})
	cancelled := w.addEvent(t, crm.Event{Name: "annulee", Public: true, StartsAt: time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC)})
	if _, err := w.db.CancelEvent(ctx, cancelled.Name); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(w.srv.URL + "/nl/events.ics")
	if err != nil {
		t.Fatal(err)
	}
	raw := readBody(t, resp)
	if !strings.HasPrefix(raw, "BEGIN:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") {
		t.Errorf("lines do not all end in CRLF:\n%q", raw)
	}
	if strings.Contains(raw, "secrète") || strings.Contains(raw, "expulsion") || strings.Contains(raw, "passee") {
		t.Errorf("the public feed shows a private or past event:\n%s", raw)
	}
	cal := w.getCalendar(t, "/nl/events.ics")
	evs := cal.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events in the feed, want the distribution and the cancelled one", len(evs))
	}
	v := evs[0]
	if v.Id() != "event-"+itoa(lilas.ID)+"@asso.example.org" || prop(v, ics.ComponentPropertySummary) != "Distribution, soupe; thé" ||
		prop(v, ics.ComponentPropertyLocation) != "Place d'Armes, 62100 Calais" ||
		prop(v, ics.ComponentPropertyDescription) != "Ligne 1\nLigne 2, avec virgule; et point-virgule\\" ||
		prop(v, ics.ComponentPropertyStatus) != "CONFIRMED" ||
		prop(v, ics.ComponentPropertyUrl) != "https://asso.example.org/nl/events#event-distribution" {
		t.Errorf("the distribution parsed back as %s", v.Serialize(nil))
	}
	start, err1 := v.GetStartAt()
	end, err2 := v.GetEndAt()
	stamp, err3 := v.GetDtStampTime()
	if err1 != nil || err2 != nil || err3 != nil || !start.Equal(eventStart) || !end.Equal(eventEnd) || stamp.IsZero() ||
		!strings.Contains(raw, "DTSTART:20260305T073000Z") {
		t.Errorf("times: %v %v %v (%v %v %v)", start, end, stamp, err1, err2, err3)
	}
	// Cancelled: SEQUENCE 1, one change.
	if evs[1].Id() != "event-"+itoa(cancelled.ID)+"@asso.example.org" || prop(evs[1], ics.ComponentPropertyStatus) != "CANCELLED" ||
		atoi(prop(evs[1], ics.ComponentPropertySequence)) != 1 || prop(evs[1], ics.ComponentPropertyUrl) != "" {
		t.Errorf("the cancelled event: %s", evs[1].Serialize(nil))
	}
	seq := prop(v, ics.ComponentPropertySequence)
	// In English, and after an edit: the same UID, the next SEQUENCE
	// (an hour later: it counts edits, not seconds).
	w.clock.Advance(time.Hour)
	later := eventStart.Add(time.Hour)
	if _, _, err := w.n.EditEvent(ctx, "distribution", crm.EventEdit{StartsAt: &later, EndsAt: &time.Time{}}); err != nil {
		t.Fatal(err)
	}
	v = w.getCalendar(t, "/nl/events/distribution.ics?lang=en").Events()[0]
	start, _ = v.GetStartAt()
	end, _ = v.GetEndAt()
	if v.Id() != evs[0].Id() || prop(v, ics.ComponentPropertySummary) != "Food distribution" || !start.Equal(later) ||
		!end.Equal(later.Add(2*time.Hour)) || atoi(prop(v, ics.ComponentPropertySequence)) != atoi(seq)+1 {
		t.Errorf("after the edit: %s (sequence was %s)", v.Serialize(nil), seq)
	}

	// A non-public event: 404 without its calendar token, the same 404 as
	// an unknown event; its own token opens it.
	code404, body404 := w.do(t, "GET", "/nl/events/inconnu.ics", "", nil)
	calLink, _ := url.Parse(w.n.EventCalendarURL(private))
	otherTok := url.Values{"token": {calLink.Query().Get("token")}}
	for _, p := range []string{
		"/nl/events/expulsion.ics",
		"/nl/events/expulsion.ics?token=" + url.QueryEscape(tokenOf(w.n.EventCalendarURL(lilas))), // none: public
		"/nl/events/expulsion.ics?token=" + url.QueryEscape(rsvpToken(w.n.RSVPURL(w.person(t, "a@example.org", "fr"), private, crm.AnswerYes, 0))),
		"/nl/events/distribution.ics?" + otherTok.Encode() + "&x=1", // fine: public
		"/nl/events/expulsion",
		"/nl/events/Expulsion.ics",
	} {
		code, body := w.do(t, "GET", p, "", nil)
		if strings.HasPrefix(p, "/nl/events/distribution.ics") {
			if code != 200 {
				t.Errorf("%s: %d", p, code)
			}
			continue
		}
		if code != 404 || code404 != 404 || body != body404 {
			t.Errorf("%s: %d %q, want the unknown event's %d %q", p, code, body, code404, body404)
		}
	}
	// A calendar token of another event does not open this one.
	forged := newsletter.SignerOf(w.n).Sign(newsletter.Token{Purpose: newsletter.PurposeCalendar, EventID: lilas.ID})
	if code, _ := w.do(t, "GET", "/nl/events/expulsion.ics?token="+forged, "", nil); code != 404 {
		t.Errorf("another event's calendar token: %d", code)
	}
	v = w.getCalendar(t, path(w.n.EventCalendarURL(private))).Events()[0]
	if prop(v, ics.ComponentPropertySummary) != "Expulsion secrète" || prop(v, ics.ComponentPropertyUrl) != "" {
		t.Errorf("the private event's file: %s", v.Serialize(nil))
	}
	resp, err = http.Get(w.srv.URL + path(w.n.EventCalendarURL(private)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("the private event's file is cacheable: %q", cc)
	}
	// Past its link's lifetime, the token opens nothing.
	w.clock.Advance(40 * 24 * time.Hour)
	if code, _ := w.do(t, "GET", "/nl/events/expulsion.ics?"+calLink.RawQuery, "", nil); code != 404 {
		t.Errorf("an expired calendar token: %d", code)
	}
}

// The public events page lists the upcoming public events, in French or
// English, with their calendar files and the feed; no private, past or
// cancelled one, and no script.
func TestEventsPage(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if err := w.db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	w.addEvent(t, crm.Event{Name: "distribution", Title: "Distribution du soir", TitleEN: "Evening distribution",
		Address: "Place d'Armes", City: "Calais", Capacity: 20, Public: true, Description: "Soupe\net thé"})
	w.addEvent(t, crm.Event{Name: "reunion", Title: "Réunion mensuelle", Public: true, StartsAt: time.Date(2026, 4, 1, 16, 0, 0, 0, time.UTC)})
	w.addEvent(t, crm.Event{Name: "passee", Title: "Passée", Public: true, StartsAt: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)})
	w.addEvent(t, crm.Event{Name: "secret", Title: "Expulsion secrète"})
	w.addEvent(t, crm.Event{Name: "annulee", Title: "Annulée", Public: true})
	if _, err := w.db.CancelEvent(ctx, "annulee"); err != nil {
		t.Fatal(err)
	}
	code, body := w.page(t, "GET", "/nl/events", "", nil)
	for _, want := range []string{`<html lang="fr">`, "<h1>Nos prochains rendez-vous</h1>", "Solidarité Calais",
		`<article id="event-distribution">`, "Distribution du soir", "jeudi 5 mars 2026, de 8\u00a0h\u00a030 à 10\u00a0h\u00a030",
		"20 places restantes", `href="events/distribution.ics"`, "Réunion mensuelle", "mercredi 1er avril 2026 à 18\u00a0h",
		`href="events.ics"`, "openstreetmap.org/search?query=Place+d%27Armes%2C+Calais", `lang="en">English</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the events page lacks %q", want)
		}
	}
	for _, not := range []string{"Passée", "secrète", "Annulée", "<script", "<form"} {
		if strings.Contains(body, not) {
			t.Errorf("the events page shows %q", not)
		}
	}
	if code != 200 || strings.Index(body, "Distribution du soir") > strings.Index(body, "Réunion mensuelle") {
		t.Errorf("GET /events: %d, or not in date order", code)
	}
	code, body = w.page(t, "GET", "/nl/events", "", map[string]string{"Accept-Language": "en-GB,en;q=0.9"})
	if code != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Our upcoming events") ||
		!strings.Contains(body, "Evening distribution") || !strings.Contains(body, "Wednesday 1 April 2026 at 6:00\u00a0pm") ||
		!strings.Contains(body, "Réunion mensuelle") {
		t.Errorf("in English: %d\n%s", code, body)
	}
	if _, body := w.page(t, "GET", "/nl/events?lang=en", "", nil); !strings.Contains(body, "Our upcoming events") ||
		!strings.Contains(body, `href="events/distribution.ics?lang=en"`) || !strings.Contains(body, `href="events.ics?lang=en"`) {
		t.Errorf("?lang=en does not switch the page and its calendars to English:\n%s", body)
	}
	// Calendars are in English with ?lang=en only: an app that subscribed
	// fetches them again without the browser's languages.
	for _, tt := range []struct {
		path, lang, want string
	}{
		{"/nl/events.ics?lang=en", "", "Evening distribution"},
		{"/nl/events/distribution.ics?lang=en", "", "Evening distribution"},
		{"/nl/events.ics", "en-GB,en;q=0.9", "Distribution du soir"},
		{"/nl/events/distribution.ics", "", "Distribution du soir"},
	} {
		_, body := w.page(t, "GET", tt.path, "", map[string]string{"Accept-Language": tt.lang})
		if !strings.Contains(body, "SUMMARY:"+tt.want) {
			t.Errorf("%s (Accept-Language %q): want %q in\n%s", tt.path, tt.lang, tt.want, body)
		}
	}
	if code, _ := w.do(t, "HEAD", "/nl/events", "", nil); code != 200 {
		t.Errorf("HEAD /events: %d", code)
	}
	// Nothing planned: it says so.
	w.clock.Advance(60 * 24 * time.Hour)
	if _, body := w.page(t, "GET", "/nl/events", "", nil); !strings.Contains(body, "Aucun rendez-vous public") {
		t.Errorf("no event: %s", body)
	}
}
