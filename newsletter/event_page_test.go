package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

// The tests' clock starts on 2026-03-01 at 9:00 UTC (newEnv); events are
// shown in Europe/Paris (UTC+1 in March).
var (
	eventStart = time.Date(2026, 3, 5, 7, 30, 0, 0, time.UTC) // jeudi 5 mars, 8 h 30 in Paris
	eventEnd   = time.Date(2026, 3, 5, 9, 30, 0, 0, time.UTC)
)

// addEvent creates an event on w's database.
func (w *web) addEvent(t *testing.T, e crm.Event) *crm.Event {
	t.Helper()
	if e.StartsAt.IsZero() {
		e.StartsAt, e.EndsAt = eventStart, eventEnd
	}
	if err := w.db.CreateEvent(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// person creates a supporter and returns their id.
func (w *web) person(t *testing.T, email, lang string) int64 {
	t.Helper()
	s := &crm.Supporter{Email: email, Language: lang}
	if err := w.db.CreateSupporter(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// page requests a page and returns its status and its text with the
// HTML escapes undone (so that "I'm" reads as typed).
func (w *web) page(t *testing.T, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	code, b := w.do(t, method, path, body, header)
	return code, html.UnescapeString(b)
}

// rsvpToken is the token of an answer link.
func rsvpToken(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

// answer posts the answer page's form.
func (w *web) answer(t *testing.T, token string, answer crm.Answer, guests string) (int, string) {
	t.Helper()
	form := url.Values{"token": {token}, "answer": {string(answer)}}
	if guests != "" {
		form.Set("guests", guests)
	}
	return w.page(t, "POST", "/nl/rsvp", form.Encode(), nil)
}

// rsvpOf is the person's current answer, "none" when they gave none.
func (w *web) rsvpOf(t *testing.T, e *crm.Event, id int64) string {
	t.Helper()
	r, err := w.db.GetRSVP(context.Background(), e.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return "none"
	}
	s := fmt.Sprintf("%s+%d", r.Answer, r.Guests)
	if r.Waiting {
		s += " waiting"
	}
	return s
}

// allAnswers counts every answer ever recorded, to any event.
func (w *web) allAnswers(t *testing.T) int {
	t.Helper()
	n, err := dbutil.DB(w.db).NewSelect().Table("event_rsvp_history").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// The answer link opens the event and one button; GET and HEAD record
// nothing; the button's POST records, and the page after it changes the
// answer; the history keeps every answer.
func TestRSVPPageAndAnswer(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	if err := w.db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	e := w.addEvent(t, crm.Event{Name: "expulsion-lilas", Title: "Expulsion rue des Lilas", TitleEN: "Eviction on rue des Lilas",
		Description: "Rendez-vous devant le n° 12.\nApportez <du café> & des thermos.", Address: "12 rue des Lilas",
		City: "Calais", Postcode: "62100", Capacity: 3, Kind: crm.KindAction})
	lea := w.person(t, "lea@example.org", "fr")
	link := w.n.RSVPURL(lea, e, crm.AnswerYes, 0)
	if !strings.HasPrefix(link, "https://asso.example.org/nl/rsvp?token=") || !strings.HasSuffix(link, "&answer=yes") {
		t.Fatalf("RSVPURL = %s", link)
	}
	code, raw := w.do(t, "GET", path(link), "", nil)
	body := html.UnescapeString(raw)
	for _, want := range []string{
		`<html lang="fr">`, "<h1>Expulsion rue des Lilas</h1>", "Solidarité Calais",
		"jeudi 5 mars 2026, de 8\u00a0h\u00a030 à 10\u00a0h\u00a030",
		"12 rue des Lilas, 62100 Calais", `href="https://www.openstreetmap.org/search?query=12+rue+des+Lilas%2C+62100+Calais"`,
		"3 places restantes", "Oui, je viens", `name="guests"`, `<label for="guests">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the answer page lacks %q", want)
		}
	}
	// The description is text: escaped, its line break kept by the style.
	if !strings.Contains(raw, "Apportez &lt;du café&gt; &amp; des thermos.") || !strings.Contains(raw, `<p class="text">Rendez-vous devant le n° 12.`+"\n") {
		t.Errorf("the description is not shown as escaped text:\n%s", raw)
	}
	if code != 200 || strings.Count(body, "<button") != 1 || strings.Contains(body, "<script") {
		t.Fatalf("GET: %d, %d buttons\n%s", code, strings.Count(body, "<button"), body)
	}
	if code, _ := w.do(t, "HEAD", path(link), "", nil); code != 200 {
		t.Errorf("HEAD: %d", code)
	}
	if got := w.rsvpOf(t, e, lea); got != "none" || w.allAnswers(t) != 0 {
		t.Fatalf("opening the link recorded %s", got)
	}
	// Switch to English: the same page, the same single button.
	code, body = w.page(t, "GET", path(link)+"&lang=en", "", nil)
	if code != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Eviction on rue des Lilas") ||
		!strings.Contains(body, "Thursday 5 March 2026, 8:30\u00a0am to 10:30\u00a0am") || !strings.Contains(body, "Yes, I'm coming") ||
		strings.Count(body, "<button") != 1 {
		t.Errorf("?lang=en: %d\n%s", code, body)
	}

	// The button: yes with a guest.
	code, body = w.answer(t, rsvpToken(link), crm.AnswerYes, "1")
	if code != 200 || !strings.Contains(body, "C'est noté : vous venez avec 1 personne. Merci !") ||
		!strings.Contains(body, "1 place restante") || !strings.Contains(body, "Changer ma réponse") {
		t.Fatalf("POST yes: %d\n%s", code, body)
	}
	// The page after it offers the other answers and the guests.
	for _, want := range []string{"Changer le nombre de personnes", "Peut-être", "Non, je ne viens pas"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after the answer lacks %q", want)
		}
	}
	if got := w.rsvpOf(t, e, lea); got != "yes+1" {
		t.Fatalf("after yes with a guest: %s", got)
	}
	// The link opened again shows the answer.
	if _, body := w.page(t, "GET", path(link), "", nil); !strings.Contains(body, "Votre réponse actuelle : oui, vous venez avec 1 personne.") {
		t.Errorf("the page does not show the current answer:\n%s", body)
	}
	// A no link of an English speaker, then a change from the page.
	sam := w.person(t, "sam@example.org", "en")
	no := w.n.RSVPURL(sam, e, crm.AnswerNo, 0)
	if code, body := w.page(t, "GET", path(no), "", nil); code != 200 || !strings.Contains(body, "No, I can't come") ||
		strings.Count(body, "<button") != 1 || strings.Contains(body, `name="guests"`) {
		t.Errorf("no link: %d\n%s", code, body)
	}
	if code, body := w.answer(t, rsvpToken(no), crm.AnswerNo, ""); code != 200 || !strings.Contains(body, "Noted: you are not coming.") {
		t.Errorf("POST no: %d\n%s", code, body)
	}
	if code, body := w.answer(t, rsvpToken(no), crm.AnswerMaybe, "3"); code != 200 || !strings.Contains(body, "Noted: maybe.") {
		t.Errorf("POST maybe: %d\n%s", code, body)
	}
	if code, _ := w.answer(t, rsvpToken(link), crm.AnswerNo, ""); code != 200 {
		t.Errorf("POST no: %d", code)
	}
	hist, err := w.db.RSVPHistory(ctx, e.ID, lea)
	if err != nil || len(hist) != 2 || hist[0].Answer != crm.AnswerYes || hist[0].Guests != 1 || hist[0].Source != "web" ||
		hist[1].Answer != crm.AnswerNo {
		t.Errorf("Léa's history = %+v, %v", hist, err)
	}
	hist, _ = w.db.RSVPHistory(ctx, e.ID, sam)
	if len(hist) != 2 || hist[0].Answer != crm.AnswerNo || hist[1].Answer != crm.AnswerMaybe || hist[1].Guests != 0 {
		t.Errorf("Sam's history = %+v (a maybe brings no guests)", hist)
	}
}

// A link that is not a genuine answer link for this person and event
// gets a 4xx page and records nothing, by GET or POST; the form cannot
// name another person or event.
func TestRSVPLinksAreSignedAndBound(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	e := w.addEvent(t, crm.Event{Name: "distribution", Capacity: 10})
	other := w.addEvent(t, crm.Event{Name: "reunion"})
	lea := w.person(t, "lea@example.org", "fr")
	sam := w.person(t, "sam@example.org", "fr")
	good := rsvpToken(w.n.RSVPURL(lea, e, crm.AnswerYes, 0))
	foreign, err := newsletter.NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	signer := newsletter.SignerOf(w.n)
	bad := map[string]string{
		"empty":              "",
		"tampered":           good[:len(good)-2] + map[bool]string{true: "AA", false: "AB"}[strings.HasSuffix(good, "AB")],
		"truncated":          good[:len(good)/2],
		"garbage":            "%%%not-base64",
		"another key":        foreign.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, SupporterID: lea, EventID: e.ID}),
		"unsubscribe token":  signer.Sign(newsletter.Token{Purpose: newsletter.PurposeUnsubscribe, SupporterID: lea, ListID: int64(e.ID)}),
		"calendar token":     rsvpToken(w.n.EventCalendarURL(&crm.Event{ID: e.ID, Name: e.Name, StartsAt: e.StartsAt})),
		"no event":           signer.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, SupporterID: lea}),
		"no such event":      signer.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, SupporterID: lea, EventID: 9999}),
		"no such supporter":  signer.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, SupporterID: 9999, EventID: e.ID}),
		"supporter id zero":  signer.Sign(newsletter.Token{Purpose: newsletter.PurposeRSVP, EventID: e.ID}),
		"preferences token":  signer.Sign(newsletter.Token{Purpose: newsletter.PurposePreferences, SupporterID: lea}),
		"confirmation token": signer.Sign(newsletter.Token{Purpose: newsletter.PurposeConfirm, SupporterID: lea, ListID: 1}),
	}
	for name, tok := range bad {
		code, body := w.page(t, "GET", "/nl/rsvp?"+url.Values{"token": {tok}, "answer": {"yes"}}.Encode(), "", nil)
		if code != 400 || !strings.Contains(body, "Lien invalide") || strings.Contains(body, "<button") {
			t.Errorf("GET with %s: %d\n%s", name, code, body)
		}
		code, body = w.answer(t, tok, crm.AnswerYes, "")
		if code != 400 || !strings.Contains(body, "Lien invalide") {
			t.Errorf("POST with %s: %d\n%s", name, code, body)
		}
	}
	if n := w.allAnswers(t); n != 0 {
		t.Fatalf("bad links recorded %d answers", n)
	}
	// Fields naming another person or event are not read: the answer is
	// the token's person's, to the token's event.
	samTok := rsvpToken(w.n.RSVPURL(sam, e, crm.AnswerYes, 0))
	form := url.Values{"token": {samTok}, "answer": {"yes"}, "event": {"reunion"}, "supporter_id": {fmt.Sprint(lea)},
		"email": {"lea@example.org"}}
	if code, _ := w.page(t, "POST", "/nl/rsvp?token="+good, form.Encode(), nil); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	if w.rsvpOf(t, e, sam) != "yes+0" || w.rsvpOf(t, e, lea) != "none" || w.rsvpOf(t, other, sam) != "none" {
		t.Errorf("answers: sam %s, léa %s, sam to the other event %s", w.rsvpOf(t, e, sam), w.rsvpOf(t, e, lea), w.rsvpOf(t, other, sam))
	}
	// An unknown answer is refused, nothing recorded.
	if code, body := w.answer(t, good, "perhaps", ""); code != 400 || !strings.Contains(body, "answer") {
		t.Errorf("POST perhaps: %d\n%s", code, body)
	}
	// A link of an erased person: the generic 410 page.
	link := w.n.RSVPURL(lea, e, crm.AnswerYes, 0)
	if _, err := w.n.Forget(ctx, "lea@example.org"); err != nil {
		t.Fatal(err)
	}
	if code, body := w.page(t, "GET", path(link), "", nil); code != http.StatusGone || !strings.Contains(body, "Lien inactif") {
		t.Errorf("an erased person's link: %d\n%s", code, body)
	}
	if code, _ := w.answer(t, rsvpToken(link), crm.AnswerYes, ""); code != http.StatusGone {
		t.Errorf("an erased person's POST: %d", code)
	}
	if w.rsvpOf(t, e, lea) != "none" {
		t.Error("an erased person's link recorded an answer")
	}
	// A link past its time (30 days after the event's end): a clear page.
	samLink := w.n.RSVPURL(sam, e, crm.AnswerNo, 0)
	w.clock.Advance(40 * 24 * time.Hour)
	if code, body := w.page(t, "GET", path(samLink), "", nil); code != http.StatusGone || !strings.Contains(body, "Lien expiré") ||
		!strings.Contains(body, "l'événement est passé") {
		t.Errorf("expired link: %d\n%s", code, body)
	}
	if code, _ := w.answer(t, rsvpToken(samLink), crm.AnswerNo, ""); code != http.StatusGone || w.rsvpOf(t, e, sam) != "yes+0" {
		t.Errorf("expired link's POST: %d, Sam %s", code, w.rsvpOf(t, e, sam))
	}
}

// A full event: the yes link says so and its button puts the person on
// the waiting list, with their place in line; a place freed goes to the
// first in line, whose email is queued.
func TestRSVPFullEventWaitingList(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	e := w.addEvent(t, crm.Event{Name: "maraude", Capacity: 3})
	a, b, c := w.person(t, "a@example.org", "fr"), w.person(t, "b@example.org", "fr"), w.person(t, "c@example.org", "en")
	if code, _ := w.answer(t, rsvpToken(w.n.RSVPURL(a, e, crm.AnswerYes, 0)), crm.AnswerYes, "2"); code != 200 {
		t.Fatal(code)
	}
	bLink := w.n.RSVPURL(b, e, crm.AnswerYes, 0)
	code, body := w.page(t, "GET", path(bLink), "", nil)
	if code != 200 || !strings.Contains(body, "<dd>Complet</dd>") || !strings.Contains(body, "Complet : il ne reste plus de place.") ||
		!strings.Contains(body, "M'inscrire sur la liste d'attente") || strings.Contains(body, "Oui, je viens") {
		t.Fatalf("the yes link of a full event: %d\n%s", code, body)
	}
	code, body = w.answer(t, rsvpToken(bLink), crm.AnswerYes, "")
	if code != 200 || !strings.Contains(body, "vous êtes sur la liste d'attente, en position 1.") {
		t.Fatalf("POST on a full event: %d\n%s", code, body)
	}
	code, body = w.answer(t, rsvpToken(w.n.RSVPURL(c, e, crm.AnswerYes, 0)), crm.AnswerYes, "2")
	if code != 200 || !strings.Contains(body, "you are on the waiting list with 2 guests, in position 2.") {
		t.Fatalf("the second in line: %d\n%s", code, body)
	}
	// Opened again: the place in line, and no offer to join the list.
	if _, body := w.page(t, "GET", path(bLink), "", nil); !strings.Contains(body, "vous êtes sur la liste d'attente, en position 1.") ||
		strings.Contains(body, "M'inscrire sur la liste d'attente") || strings.Contains(body, "Avec ce bouton") {
		t.Errorf("the link opened again does not say the place in line:\n%s", body)
	}
	// A leaves: B is in, C (a party of 3) still waits, now first.
	if code, _ := w.answer(t, rsvpToken(w.n.RSVPURL(a, e, crm.AnswerNo, 0)), crm.AnswerNo, ""); code != 200 {
		t.Fatal(code)
	}
	if w.rsvpOf(t, e, b) != "yes+0" || w.rsvpOf(t, e, c) != "yes+2 waiting" {
		t.Errorf("after A left: B %s, C %s", w.rsvpOf(t, e, b), w.rsvpOf(t, e, c))
	}
	if _, body := w.page(t, "GET", path(w.n.RSVPURL(c, e, crm.AnswerYes, 0)), "", nil); !strings.Contains(body, "in position 1.") {
		t.Errorf("C's place in line after B got in:\n%s", body)
	}
	var kinds []string
	if err := dbutil.DB(w.db).NewSelect().Table("newsletter_notices").Column("kind").Where("supporter_id = ?", b).
		Scan(ctx, &kinds); err != nil || len(kinds) != 1 || kinds[0] != string(newsletter.NoticeEventPlace) {
		t.Errorf("B's notices: %v, %v", kinds, err)
	}
}

// Someone holding a place who asks for more guests than the places left
// gets the page again with the message and keeps their answer; so does
// a guests value out of bounds.
func TestRSVPGuestsBeyondPlaces(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	e := w.addEvent(t, crm.Event{Name: "distribution", Capacity: 3})
	a, b := w.person(t, "a@example.org", "fr"), w.person(t, "b@example.org", "en")
	aTok, bTok := rsvpToken(w.n.RSVPURL(a, e, crm.AnswerYes, 0)), rsvpToken(w.n.RSVPURL(b, e, crm.AnswerYes, 0))
	w.answer(t, aTok, crm.AnswerYes, "")
	w.answer(t, bTok, crm.AnswerYes, "")
	code, body := w.answer(t, aTok, crm.AnswerYes, "2")
	if code != 400 || !strings.Contains(body, "Il ne reste que 2 place(s), la vôtre comprise") || !strings.Contains(body, `role="alert"`) ||
		!strings.Contains(body, `value="2"`) || strings.Count(body, "<button") != 1 {
		t.Errorf("too many guests: %d\n%s", code, body)
	}
	for _, bad := range []string{"-1", "21", "deux", "1e3"} {
		code, body := w.answer(t, bTok, crm.AnswerYes, bad)
		if code != 400 || !strings.Contains(body, "goes from 0 to 20") {
			t.Errorf("guests %q: %d\n%s", bad, code, body)
		}
	}
	if w.rsvpOf(t, e, a) != "yes+0" || w.rsvpOf(t, e, b) != "yes+0" || w.allAnswers(t) != 2 {
		t.Errorf("refused answers changed something: A %s, B %s, %d answers", w.rsvpOf(t, e, a), w.rsvpOf(t, e, b), w.allAnswers(t))
	}
	if code, body := w.answer(t, aTok, crm.AnswerYes, "1"); code != 200 || !strings.Contains(body, "Complet") {
		t.Errorf("one guest, the last place: %d\n%s", code, body)
	}
}

// A cancelled or started event shows the event and says so, without a
// button; a POST records nothing.
func TestRSVPClosedEvent(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	e := w.addEvent(t, crm.Event{Name: "rassemblement"})
	soon := w.addEvent(t, crm.Event{Name: "demain", StartsAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	a := w.person(t, "a@example.org", "fr")
	link := w.n.RSVPURL(a, e, crm.AnswerYes, 0)
	w.answer(t, rsvpToken(link), crm.AnswerMaybe, "")
	if _, err := w.db.CancelEvent(ctx, e.Name); err != nil {
		t.Fatal(err)
	}
	code, body := w.page(t, "GET", path(link), "", nil)
	if code != 200 || !strings.Contains(body, "Cet événement est annulé.") || strings.Contains(body, "<button") ||
		!strings.Contains(body, "Votre réponse actuelle : peut-être.") {
		t.Errorf("cancelled: %d\n%s", code, body)
	}
	if code, body := w.answer(t, rsvpToken(link), crm.AnswerYes, ""); code != http.StatusConflict ||
		!strings.Contains(body, "annulé") || strings.Contains(body, "<button") {
		t.Errorf("POST to a cancelled event: %d\n%s", code, body)
	}
	w.clock.Advance(4 * time.Hour) // 13:00 UTC: "demain" started at 12:00
	soonLink := w.n.RSVPURL(a, soon, crm.AnswerYes, 0)
	if code, body := w.page(t, "GET", path(soonLink), "", nil); code != 200 || !strings.Contains(body, "Cet événement a commencé") ||
		strings.Contains(body, "<button") {
		t.Errorf("started: %d\n%s", code, body)
	}
	if code, _ := w.answer(t, rsvpToken(soonLink), crm.AnswerYes, ""); code != http.StatusConflict {
		t.Errorf("POST to a started event: %d", code)
	}
	if w.rsvpOf(t, e, a) != "maybe+0" || w.rsvpOf(t, soon, a) != "none" {
		t.Errorf("closed events took answers: %s %s", w.rsvpOf(t, e, a), w.rsvpOf(t, soon, a))
	}
}

// Two people press yes at the same instant for the last place: one gets
// it, the other is first on the waiting list (on PostgreSQL too, when
// CRM_TEST_POSTGRES is set).
func TestRSVPLastPlaceOnce(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(100))
	for round := range 4 {
		e := w.addEvent(t, crm.Event{Name: fmt.Sprintf("derniere-place-%d", round), Capacity: 2})
		first := w.person(t, fmt.Sprintf("first%d@example.org", round), "fr")
		w.answer(t, rsvpToken(w.n.RSVPURL(first, e, crm.AnswerYes, 0)), crm.AnswerYes, "")
		ids := []int64{w.person(t, fmt.Sprintf("x%d@example.org", round), "fr"), w.person(t, fmt.Sprintf("y%d@example.org", round), "fr")}
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, 2)
		bodies := make([]string, 2)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"token": {rsvpToken(w.n.RSVPURL(id, e, crm.AnswerYes, 0))}, "answer": {"yes"}}.Encode()
				req, _ := http.NewRequest("POST", w.srv.URL+"/nl/rsvp", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				codes[i], bodies[i] = resp.StatusCode, html.UnescapeString(string(b))
			}()
		}
		close(start)
		wg.Wait()
		got := []string{w.rsvpOf(t, e, ids[0]), w.rsvpOf(t, e, ids[1])}
		coming, waiting := 0, 0
		for i := range ids {
			switch {
			case codes[i] == 200 && got[i] == "yes+0" && strings.Contains(bodies[i], "C'est noté : vous venez."):
				coming++
			case codes[i] == 200 && got[i] == "yes+0 waiting" && strings.Contains(bodies[i], "en position 1."):
				waiting++
			default:
				t.Errorf("round %d, person %d: %d, %s\n%s", round, i, codes[i], got[i], bodies[i])
			}
		}
		c, err := w.db.CountAnswers(context.Background(), e)
		if coming != 1 || waiting != 1 || err != nil || c.Coming != 2 || c.Waiting != 1 {
			t.Errorf("round %d: %d coming, %d waiting; counts %+v, %v", round, coming, waiting, c, err)
		}
	}
}

// POST /rsvp shares the per-address limit of the other forms.
func TestRSVPRateLimit(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(2))
	e := w.addEvent(t, crm.Event{Name: "reunion"})
	tok := rsvpToken(w.n.RSVPURL(w.person(t, "a@example.org", "fr"), e, crm.AnswerYes, 0))
	var codes []int
	for range 3 {
		code, _ := w.answer(t, tok, crm.AnswerMaybe, "")
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("codes = %v, want [200 200 429]", codes)
	}
	// The answer page itself is not limited: opening a link changes
	// nothing.
	if code, _ := w.page(t, "GET", path(w.n.RSVPURL(1, e, crm.AnswerYes, 0)), "", nil); code != 200 {
		t.Errorf("GET after the limit: %d", code)
	}
}

// Answers keep erroring cleanly when the database check finds no event
// for a calendar or answer token's id.
func TestRSVPStateErrors(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	_, err := w.n.CheckRSVPToken(ctx, "nope")
	if !errors.Is(err, newsletter.ErrTokenInvalid) {
		t.Errorf("CheckRSVPToken(nope) = %v", err)
	}
	e := w.addEvent(t, crm.Event{Name: "reunion", Capacity: 1})
	a := w.person(t, "a@example.org", "fr")
	st, res, err := w.n.AnswerRSVPToken(ctx, rsvpToken(w.n.RSVPURL(a, e, crm.AnswerYes, 7)), crm.AnswerYes, 0)
	if err != nil || !res.Changed || st.CampaignID != 7 || !st.RSVP.Coming() || st.Counts.PlacesLeft != 0 || st.Position != 0 {
		t.Errorf("AnswerRSVPToken: %+v, %+v, %v", st, res, err)
	}
}
