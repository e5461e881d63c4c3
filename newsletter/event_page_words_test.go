package newsletter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// The answer page says what is true: a party that does not fit the
// places left waits for want of places for all of them (not "full"); the
// guests field says the bound that matters to the person; a cancelled
// event's places say it is cancelled.
func TestRSVPPageSaysTheBoundsThatMatter(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(1000))
	ctx := context.Background()
	e := w.addEvent(t, crm.Event{Name: "maraude", Capacity: 3})
	a, b, c := w.person(t, "a@example.org", "fr"), w.person(t, "b@example.org", "fr"), w.person(t, "c@example.org", "en")
	aLink, bLink := w.n.RSVPURL(a, e, crm.AnswerYes, 0), w.n.RSVPURL(b, e, crm.AnswerYes, 0)
	if code, _ := w.answer(t, rsvpToken(aLink), crm.AnswerYes, ""); code != 200 {
		t.Fatal(code)
	}
	// 2 places left: B, holding none, fits with 1 guest; a party can
	// never be more than the 3 places.
	_, body := w.page(t, "GET", path(bLink), "", nil)
	if !strings.Contains(body, "(de 0 à 1 pour tenir dans les places restantes ; au-delà, liste d'attente)") ||
		!strings.Contains(body, `max="2"`) || strings.Contains(body, "de 0 à 20") {
		t.Errorf("the guests field of someone holding no place:\n%s", body)
	}
	// A, holding one place: their own counts.
	if _, body := w.page(t, "GET", path(aLink), "", nil); !strings.Contains(body, "(de 0 à 2 : les places restantes)") ||
		!strings.Contains(body, `max="2"`) {
		t.Errorf("the guests field of someone holding a place:\n%s", body)
	}
	// B asks for 2 guests: 3 people for 2 places.
	code, body := w.answer(t, rsvpToken(bLink), crm.AnswerYes, "2")
	want := "Votre groupe de 3 personnes ne tient pas dans les places restantes (2) : vous êtes sur la liste d'attente, en position 1."
	if code != 200 || !strings.Contains(body, want) || strings.Contains(body, "complet") || !strings.Contains(body, "2 places restantes") {
		t.Errorf("a party that does not fit: %d\n%s", code, body)
	}
	if _, body := w.page(t, "GET", path(bLink), "", nil); !strings.Contains(body,
		"Votre réponse actuelle : oui, mais votre groupe de 3 personnes ne tient pas dans les places restantes (2)") {
		t.Errorf("the link opened again:\n%s", body)
	}
	_, body = w.page(t, "GET", path(w.n.RSVPURL(c, e, crm.AnswerYes, 0)), "", nil)
	if !strings.Contains(body, "(0 to 1 to fit the places left; more goes on the waiting list)") {
		t.Errorf("in English:\n%s", body)
	}
	// No capacity: the package's bound.
	open := w.addEvent(t, crm.Event{Name: "rassemblement"})
	if _, body := w.page(t, "GET", path(w.n.RSVPURL(b, open, crm.AnswerYes, 0)), "", nil); !strings.Contains(body, "(de 0 à 20)") ||
		!strings.Contains(body, `max="20"`) {
		t.Errorf("without a capacity:\n%s", body)
	}
	// Full, then cancelled: the places say cancelled.
	small := w.addEvent(t, crm.Event{Name: "atelier", Capacity: 1})
	smallLink := w.n.RSVPURL(a, small, crm.AnswerYes, 0)
	w.answer(t, rsvpToken(smallLink), crm.AnswerYes, "")
	if _, body := w.page(t, "GET", path(smallLink), "", nil); !strings.Contains(body, "<dd>Complet</dd>") ||
		!strings.Contains(body, "(il ne reste plus d'autre place)") {
		t.Errorf("full:\n%s", body)
	}
	if _, err := w.db.CancelEvent(ctx, small.Name); err != nil {
		t.Fatal(err)
	}
	if _, body := w.page(t, "GET", path(smallLink), "", nil); !strings.Contains(body, "<dd>Annulé</dd>") || strings.Contains(body, "Complet") {
		t.Errorf("cancelled:\n%s", body)
	}
	if _, body := w.page(t, "GET", path(smallLink)+"&lang=en", "", nil); !strings.Contains(body, "<dd>Cancelled</dd>") {
		t.Errorf("cancelled, in English:\n%s", body)
	}
}
