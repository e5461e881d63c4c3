package newsletter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// The event pages: the page an answer link opens (GET /rsvp shows the
// event and one button, POST /rsvp records), the public events page
// (GET /events) and the calendars (GET /events.ics, /events/NAME.ics).

// eventTexts is what the event pages say, in one language.
type eventTexts struct {
	When, Where, Places string // the labels of the event's details
	Map                 string // the link to the place on OpenStreetMap
	PlaceLeft           string // one place left
	PlacesLeft          string // %d places left
	Full                string
	CancelledPlaces     string // the places of a cancelled event
	Yes, No, Maybe      string // the buttons
	JoinWaiting         string // the yes button of a full event
	UpdateGuests        string // the yes button of someone already coming
	Guests              string // the label of the guests field
	// The bounds of the guests field: GuestsHint %d is MaxGuests (no
	// capacity, or a full event); GuestsHintLeft %d the most guests that
	// fit the places left, for someone holding none (GuestsHintLeftNone
	// when that is 0); GuestsHintHeld the same for someone holding a
	// place, their own places counted (GuestsHintHeldNone for 0).
	GuestsHint, GuestsHintLeft, GuestsHintLeftNone string
	GuestsHintHeld, GuestsHintHeldNone             string
	// The current answer, on the page a link opens; %s is withGuests.
	CurrentYes, CurrentWaiting, CurrentMaybe, CurrentNo string
	// What an answer did; %s is withGuests, %d the place in line.
	DoneYes, DoneWaiting, DoneMaybe, DoneNo string
	// On the waiting list while places are left. NoFit: the party (%d
	// people) does not fit the places left (%d); %d the place in line.
	// Behind: others wait before them; %s is withGuests, %d the place in
	// line.
	CurrentWaitingNoFit, DoneWaitingNoFit   string
	CurrentWaitingBehind, DoneWaitingBehind string
	WithGuest, WithGuests                   string // " with 1 guest", " with %d guests"
	FullNotice                              string
	Cancelled                               string
	Started                                 string
	Change                                  string
	ErrorGuests                             string // %d: the places left for the person
	ErrorGuestsRange                        string // %d: MaxGuests
	ExpiredTitle, ExpiredBody               string
	AddToCalendar                           string
	EventsTitle                             string
	NoEvents                                string
	Subscribe                               string
	OtherLanguage                           string
}

var eventTextsByLang = map[string]eventTexts{
	"fr": {
		When: "Quand", Where: "Où", Places: "Places",
		Map:                "voir sur la carte (OpenStreetMap)",
		PlaceLeft:          "1 place restante",
		PlacesLeft:         "%d places restantes",
		Full:               "Complet",
		CancelledPlaces:    "Annulé",
		Yes:                "Oui, je viens",
		No:                 "Non, je ne viens pas",
		Maybe:              "Peut-être",
		JoinWaiting:        "M'inscrire sur la liste d'attente",
		UpdateGuests:       "Changer le nombre de personnes",
		Guests:             "Personnes qui viennent avec moi",
		GuestsHint:         "(de 0 à %d)",
		GuestsHintLeft:     "(de 0 à %d pour tenir dans les places restantes ; au-delà, liste d'attente)",
		GuestsHintLeftNone: "(il ne reste que votre place : avec d'autres personnes, liste d'attente)",
		GuestsHintHeld:     "(de 0 à %d : les places restantes)",
		GuestsHintHeldNone: "(il ne reste plus d'autre place)",
		CurrentYes:         "Votre réponse actuelle : oui, vous venez%s.",
		CurrentWaiting: "Votre réponse actuelle : oui, mais l'événement est complet : vous êtes sur la liste d'attente%s, " +
			"en position %d.",
		CurrentMaybe: "Votre réponse actuelle : peut-être.",
		CurrentNo:    "Votre réponse actuelle : non, vous ne venez pas.",
		DoneYes:      "C'est noté : vous venez%s. Merci !",
		DoneWaiting: "L'événement est complet : vous êtes sur la liste d'attente%s, en position %d. " +
			"Si une place se libère, elle vous sera donnée dans cet ordre et nous vous écrirons.",
		CurrentWaitingNoFit: "Votre réponse actuelle : oui, mais votre groupe de %d personnes ne tient pas dans les places restantes (%d) : " +
			"vous êtes sur la liste d'attente, en position %d.",
		DoneWaitingNoFit: "Votre groupe de %d personnes ne tient pas dans les places restantes (%d) : vous êtes sur la liste d'attente, " +
			"en position %d. Si des places se libèrent, elles seront données dans cet ordre et nous vous écrirons.",
		CurrentWaitingBehind: "Votre réponse actuelle : oui ; d'autres personnes attendent une place avant vous : vous êtes sur la liste " +
			"d'attente%s, en position %d.",
		DoneWaitingBehind: "D'autres personnes attendent une place avant vous : vous êtes sur la liste d'attente%s, en position %d. " +
			"Si des places se libèrent, elles seront données dans cet ordre et nous vous écrirons.",
		DoneMaybe:  "C'est noté : peut-être. Vous pouvez confirmer plus tard avec ce lien.",
		DoneNo:     "C'est noté : vous ne venez pas. Merci de nous avoir prévenus.",
		WithGuest:  " avec 1 personne",
		WithGuests: " avec %d personnes",
		FullNotice: "Complet : il ne reste plus de place. Avec ce bouton, vous vous inscrivez sur la liste d'attente ; " +
			"si une place se libère, elle vous sera donnée dans l'ordre des inscriptions.",
		Cancelled:        "Cet événement est annulé.",
		Started:          "Cet événement a commencé : il n'est plus possible de répondre.",
		Change:           "Changer ma réponse",
		ErrorGuests:      "Il ne reste que %d place(s), la vôtre comprise : indiquez moins de personnes avec vous. Votre réponse n'a pas changé.",
		ErrorGuestsRange: "Le nombre de personnes qui viennent avec vous va de 0 à %d. Votre réponse n'a pas changé.",
		ExpiredTitle:     "Lien expiré",
		ExpiredBody:      "Ce lien de réponse ne fonctionne plus : l'événement est passé.",
		AddToCalendar:    "Ajouter à mon agenda (.ics)",
		EventsTitle:      "Nos prochains rendez-vous",
		NoEvents:         "Aucun rendez-vous public n'est prévu pour le moment.",
		Subscribe:        "Tous nos rendez-vous dans votre agenda (abonnement .ics)",
		OtherLanguage:    "English",
	},
	"en": {
		When: "When", Where: "Where", Places: "Places",
		Map:                "see on the map (OpenStreetMap)",
		PlaceLeft:          "1 place left",
		PlacesLeft:         "%d places left",
		Full:               "Full",
		CancelledPlaces:    "Cancelled",
		Yes:                "Yes, I'm coming",
		No:                 "No, I can't come",
		Maybe:              "Maybe",
		JoinWaiting:        "Put me on the waiting list",
		UpdateGuests:       "Change the number of people",
		Guests:             "People coming with me",
		GuestsHint:         "(0 to %d)",
		GuestsHintLeft:     "(0 to %d to fit the places left; more goes on the waiting list)",
		GuestsHintLeftNone: "(only your place is left: with others, the waiting list)",
		GuestsHintHeld:     "(0 to %d: the places left)",
		GuestsHintHeldNone: "(no other place is left)",
		CurrentYes:         "Your current answer: yes, you are coming%s.",
		CurrentWaiting:     "Your current answer: yes, but the event is full: you are on the waiting list%s, in position %d.",
		CurrentMaybe:       "Your current answer: maybe.",
		CurrentNo:          "Your current answer: no, you are not coming.",
		DoneYes:            "Noted: you are coming%s. Thank you!",
		DoneWaiting: "The event is full: you are on the waiting list%s, in position %d. " +
			"If a place frees up, places are given in that order and we will write to you.",
		CurrentWaitingNoFit: "Your current answer: yes, but your party of %d does not fit the places left (%d): " +
			"you are on the waiting list, in position %d.",
		DoneWaitingNoFit: "Your party of %d does not fit the places left (%d): you are on the waiting list, in position %d. " +
			"If places free up, they are given in that order and we will write to you.",
		CurrentWaitingBehind: "Your current answer: yes; others are waiting for a place before you: you are on the waiting list%s, " +
			"in position %d.",
		DoneWaitingBehind: "Others are waiting for a place before you: you are on the waiting list%s, in position %d. " +
			"If places free up, they are given in that order and we will write to you.",
		DoneMaybe:  "Noted: maybe. You can confirm later with this link.",
		DoneNo:     "Noted: you are not coming. Thank you for letting us know.",
		WithGuest:  " with 1 guest",
		WithGuests: " with %d guests",
		FullNotice: "Full: no place is left. This button puts you on the waiting list; " +
			"if a place frees up, places are given in the order people asked.",
		Cancelled:        "This event is cancelled.",
		Started:          "This event has started: answers are closed.",
		Change:           "Change my answer",
		ErrorGuests:      "Only %d place(s) left, yours included: bring fewer people. Your answer did not change.",
		ErrorGuestsRange: "The number of people coming with you goes from 0 to %d. Your answer did not change.",
		ExpiredTitle:     "Expired link",
		ExpiredBody:      "This answer link no longer works: the event is over.",
		AddToCalendar:    "Add to my calendar (.ics)",
		EventsTitle:      "Our upcoming events",
		NoEvents:         "No public event is planned at the moment.",
		Subscribe:        "All our events in your calendar (.ics subscription)",
		OtherLanguage:    "Français",
	},
}

// eventLanguage picks an event page's language: explicit (?lang= or the
// form's lang) when fr or en, else the supporter's, else the browser's,
// else French.
func eventLanguage(r *http.Request, explicit, supporterLang string) string {
	if l := strings.ToLower(strings.TrimSpace(explicit)); l == "fr" || l == "en" {
		return l
	}
	return pageLanguage(supporterLang, r.Header.Get("Accept-Language"))
}

func otherLanguage(lang string) string {
	if lang == "en" {
		return "fr"
	}
	return "en"
}

// eventDay is a date as people write it: "samedi 1er mars 2026",
// "Saturday 1 March 2026".
func eventDay(t time.Time, lang string) string {
	if lang == "en" {
		return t.Format("Monday 2 January 2006")
	}
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return frenchDays[t.Weekday()] + " " + day + " " + frenchMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// eventClock is a time of day: "7 h 30", "9 h"; "7:30 am".
func eventClock(t time.Time, lang string) string {
	if lang == "en" {
		return t.Format("3:04\u00a0pm")
	}
	if t.Minute() == 0 {
		return fmt.Sprintf("%d\u00a0h", t.Hour())
	}
	return fmt.Sprintf("%d\u00a0h\u00a0%02d", t.Hour(), t.Minute())
}

// eventWhen says when an event takes place, in loc (the settings' time
// zone) and lang: its day and start, and its end when one was set.
func eventWhen(e *crm.Event, loc *time.Location, lang string) string {
	start := e.StartsAt.In(loc)
	if e.EndsAt.IsZero() {
		if lang == "en" {
			return eventDay(start, lang) + " at " + eventClock(start, lang)
		}
		return eventDay(start, lang) + " à " + eventClock(start, lang)
	}
	end := e.EndsAt.In(loc)
	sameDay := start.Year() == end.Year() && start.YearDay() == end.YearDay()
	switch {
	case sameDay && lang == "en":
		return eventDay(start, lang) + ", " + eventClock(start, lang) + " to " + eventClock(end, lang)
	case sameDay:
		return eventDay(start, lang) + ", de " + eventClock(start, lang) + " à " + eventClock(end, lang)
	case lang == "en":
		return "from " + eventDay(start, lang) + " at " + eventClock(start, lang) + " to " + eventDay(end, lang) +
			" at " + eventClock(end, lang)
	}
	return "du " + eventDay(start, lang) + " à " + eventClock(start, lang) + " au " + eventDay(end, lang) +
		" à " + eventClock(end, lang)
}

// mapURL is the place's search on OpenStreetMap, "" without a place.
func mapURL(place string) string {
	if place == "" {
		return ""
	}
	return "https://www.openstreetmap.org/search?query=" + url.QueryEscape(place)
}

// eventView is an event as the pages show it.
type eventView struct {
	Anchor      string // the id of its entry on the events page
	Title       string
	When        string
	Place       string
	MapURL      string
	Description string // plain text; the page keeps its line breaks
	Places      string // "3 places left", "Full"; "" without a capacity
	ICS         string // the link to its calendar file (events page)
}

func newEventView(e *crm.Event, c crm.EventCounts, loc *time.Location, lang string) eventView {
	et := eventTextsByLang[lang]
	v := eventView{Anchor: "event-" + e.Name, Title: e.TitleFor(lang), When: eventWhen(e, loc, lang), Place: e.Place(),
		Description: e.DescriptionFor(lang)}
	v.MapURL = mapURL(v.Place)
	switch {
	case e.Capacity == 0:
	case e.Status == crm.EventCancelled:
		v.Places = et.CancelledPlaces
	case c.PlacesLeft == 0:
		v.Places = et.Full
	case c.PlacesLeft == 1:
		v.Places = et.PlaceLeft
	default:
		v.Places = fmt.Sprintf(et.PlacesLeft, c.PlacesLeft)
	}
	return v
}

// answerForm is one button of the answer page, with its hidden fields.
type answerForm struct {
	Token      string
	Lang       string
	Answer     crm.Answer
	Button     string
	Guests     bool // the guests field, for yes
	GuestsVal  int
	GuestsMax  int    // the field's bound: more could never be let in
	GuestsHint string // the bound that matters, in words
	Secondary  bool
}

// rsvpView is the page an answer link opens, and the page after an
// answer.
type rsvpView struct {
	T         pageTexts
	ET        eventTexts
	Lang      string
	PageTitle string
	Org       string
	OtherLang string // the link to the page in the other language; "" after a POST
	Event     eventView
	Current   string // the current answer
	Done      string // what the answer just did
	Notice    string // cancelled, started, full
	Error     string
	Change    bool // the forms are the ways to change an answer
	Forms     []answerForm
}

// withGuests is " with 2 guests", "" for none.
func withGuests(et eventTexts, n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return et.WithGuest
	}
	return fmt.Sprintf(et.WithGuests, n)
}

// answerText says the person's answer: their current one (done false)
// or the one they just gave.
func answerText(et eventTexts, st *RSVPState, done bool) string {
	r := st.RSVP
	if r == nil {
		return ""
	}
	pick := func(current, now string) string {
		if done {
			return now
		}
		return current
	}
	switch {
	case r.Waiting && st.Counts.PlacesLeft > 0 && 1+r.Guests > st.Counts.PlacesLeft:
		return fmt.Sprintf(pick(et.CurrentWaitingNoFit, et.DoneWaitingNoFit), 1+r.Guests, st.Counts.PlacesLeft, st.Position)
	case r.Waiting && st.Counts.PlacesLeft > 0:
		return fmt.Sprintf(pick(et.CurrentWaitingBehind, et.DoneWaitingBehind), withGuests(et, r.Guests), st.Position)
	case r.Waiting:
		return fmt.Sprintf(pick(et.CurrentWaiting, et.DoneWaiting), withGuests(et, r.Guests), st.Position)
	case r.Answer == crm.AnswerYes:
		return fmt.Sprintf(pick(et.CurrentYes, et.DoneYes), withGuests(et, r.Guests))
	case r.Answer == crm.AnswerMaybe:
		return pick(et.CurrentMaybe, et.DoneMaybe)
	}
	return pick(et.CurrentNo, et.DoneNo)
}

// fullFor reports whether a yes from the person goes on the waiting list
// for want of a single place: the event is full and they hold none.
func fullFor(st *RSVPState) bool {
	return st.Counts.Full() && !st.RSVP.Coming()
}

// answerButton is the form giving answer, labelled for the person.
func answerButton(et eventTexts, st *RSVPState, token, lang string, answer crm.Answer) answerForm {
	f := answerForm{Token: token, Lang: lang, Answer: answer}
	switch answer {
	case crm.AnswerYes:
		f.Button, f.Guests = et.Yes, true
		f.GuestsMax, f.GuestsHint = guestsBound(et, st)
		if st.RSVP != nil && st.RSVP.Answer == crm.AnswerYes {
			f.Button, f.GuestsVal = et.UpdateGuests, st.RSVP.Guests
		} else if fullFor(st) {
			f.Button = et.JoinWaiting
		}
	case crm.AnswerMaybe:
		f.Button = et.Maybe
	default:
		f.Button = et.No
	}
	return f
}

// guestsBound returns the most guests the person's yes can bring (the
// guests field's max) and the bound that matters to them, in words: with
// a capacity, the guests that fit the places left (their own places
// counted when they hold some; beyond it, someone holding a place is
// refused, someone else waits), or for a full event those that could
// ever fit.
func guestsBound(et eventTexts, st *RSVPState) (int, string) {
	c := st.Event.Capacity
	if c == 0 {
		return crm.MaxGuests, fmt.Sprintf(et.GuestsHint, crm.MaxGuests)
	}
	ever := min(crm.MaxGuests, c-1)
	left := st.Counts.PlacesLeft
	if st.RSVP.Coming() {
		left += 1 + st.RSVP.Guests
		bound := min(ever, left-1)
		if bound == 0 {
			return 0, et.GuestsHintHeldNone
		}
		return bound, fmt.Sprintf(et.GuestsHintHeld, bound)
	}
	switch {
	case left <= 0:
		return ever, fmt.Sprintf(et.GuestsHint, ever)
	case left == 1:
		return ever, et.GuestsHintLeftNone
	}
	return ever, fmt.Sprintf(et.GuestsHintLeft, min(ever, left-1))
}

// closedNotice says why an event takes no answers, "" when it does.
func closedNotice(et eventTexts, e *crm.Event, now time.Time) string {
	switch {
	case e.Status == crm.EventCancelled:
		return et.Cancelled
	case !e.Open(now):
		return et.Started
	}
	return ""
}

// newRSVPView is the answer page of st in lang: the event, the person's
// current answer, and no button when the event is closed.
func (h *handler) newRSVPView(ctx context.Context, st *RSVPState, lang string) (*rsvpView, error) {
	set, err := h.n.db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	et := eventTextsByLang[lang]
	v := &rsvpView{T: texts[lang], ET: et, Lang: lang, Org: set.Name,
		Event: newEventView(st.Event, st.Counts, set.Location(), lang)}
	v.PageTitle = v.Event.Title
	if set.Name != "" {
		v.PageTitle += " · " + set.Name
	}
	v.Notice = closedNotice(et, st.Event, h.n.clock())
	return v, nil
}

// rsvpError answers a bad answer link: the pages of the other links, and
// for an expired one a page saying the event is over.
func (h *handler) rsvpError(w http.ResponseWriter, r *http.Request, err error, lang string) {
	if errors.Is(err, ErrTokenExpired) {
		t, et := texts[lang], eventTextsByLang[lang]
		h.write(w, http.StatusGone, page{T: t, Title: et.ExpiredTitle, Message: et.ExpiredBody})
		return
	}
	if !h.tokenError(w, r, err, lang) {
		h.fail(w, r, err)
	}
}

// supporterLanguage is the language of the state's supporter, "" when
// there is none.
func supporterLanguage(st *RSVPState) string {
	if st == nil || st.Supporter == nil {
		return ""
	}
	return st.Supporter.Language
}

// rsvpPage is GET /rsvp?token=&answer=: the event and one button giving
// the link's answer (all three when the link names none). It records
// nothing: mail scanners open every link.
func (h *handler) rsvpPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("token")
	st, err := h.n.CheckRSVPToken(r.Context(), token)
	lang := eventLanguage(r, q.Get("lang"), supporterLanguage(st))
	if err != nil {
		h.rsvpError(w, r, err, lang)
		return
	}
	v, err := h.newRSVPView(r.Context(), st, lang)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Current = answerText(v.ET, st, false)
	other := url.Values{"token": {token}, "lang": {otherLanguage(lang)}}
	answer, aerr := crm.ParseAnswer(q.Get("answer"))
	if aerr == nil {
		other.Set("answer", string(answer))
	}
	v.OtherLang = "?" + other.Encode()
	if v.Notice == "" {
		if aerr == nil {
			v.Forms = []answerForm{answerButton(v.ET, st, token, lang, answer)}
			if answer == crm.AnswerYes && fullFor(st) && (st.RSVP == nil || st.RSVP.Answer != crm.AnswerYes) {
				v.Notice = v.ET.FullNotice
			}
		} else {
			v.Forms = changeForms(v.ET, st, token, lang)
		}
	}
	h.writeEventPage(w, http.StatusOK, "rsvp", v)
}

// changeForms are the buttons that change an answer: every other answer,
// and yes again to change the guests.
func changeForms(et eventTexts, st *RSVPState, token, lang string) []answerForm {
	var fs []answerForm
	for _, a := range []crm.Answer{crm.AnswerYes, crm.AnswerMaybe, crm.AnswerNo} {
		if st.RSVP != nil && st.RSVP.Answer == a && a != crm.AnswerYes {
			continue
		}
		f := answerButton(et, st, token, lang, a)
		f.Secondary = a != crm.AnswerYes
		fs = append(fs, f)
	}
	return fs
}

// rsvp is POST /rsvp, the answer page's buttons: token, answer, guests
// and lang from the form. It records the answer, sends the emails of
// those it let in from the waiting list (when the handler has a sender),
// and shows what it did with the ways to change it.
func (h *handler) rsvp(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		t := h.textsFor(r, "")
		h.badRequest(w, r, false, t, &crm.ValidationError{Field: "form", Reason: err.Error()})
		return
	}
	f := r.PostForm
	token := f.Get("token")
	if !h.allow("rsvp " + clientIP(r)) {
		t := texts[eventLanguage(r, f.Get("lang"), "")]
		w.Header().Set("Retry-After", "60")
		h.write(w, http.StatusTooManyRequests, page{T: t, Title: t.TooManyTitle, Message: t.TooManyBody})
		return
	}
	st, err := h.n.CheckRSVPToken(r.Context(), token)
	lang := eventLanguage(r, f.Get("lang"), supporterLanguage(st))
	if err != nil {
		h.rsvpError(w, r, err, lang)
		return
	}
	answer, err := crm.ParseAnswer(f.Get("answer"))
	if err != nil {
		h.badRequest(w, r, false, texts[lang], &crm.ValidationError{Field: "answer", Reason: "want yes, no or maybe"})
		return
	}
	guests := 0
	if s := strings.TrimSpace(f.Get("guests")); s != "" && answer == crm.AnswerYes {
		if guests, err = strconv.Atoi(s); err != nil || guests < 0 || guests > crm.MaxGuests {
			h.rsvpAgain(w, r, st, lang, token, answer, 0, fmt.Sprintf(eventTextsByLang[lang].ErrorGuestsRange, crm.MaxGuests))
			return
		}
	}
	before := *st
	st, res, err := h.n.AnswerRSVPToken(r.Context(), token, answer, guests)
	var ve *crm.ValidationError
	switch {
	case err == nil:
	case errors.Is(err, crm.ErrEventClosed):
		// Cancelled or started since the page was shown: say so.
		v, verr := h.newRSVPView(r.Context(), st, lang)
		if verr != nil {
			h.fail(w, r, verr)
			return
		}
		if v.Notice == "" { // a clock between the two reads
			v.Notice = v.ET.Started
		}
		v.Current = answerText(v.ET, st, false)
		h.writeEventPage(w, http.StatusConflict, "rsvp", v)
		return
	case errors.As(err, &ve) && ve.Field == "guests":
		left := before.Counts.PlacesLeft
		if before.RSVP.Coming() {
			left += 1 + before.RSVP.Guests
		}
		h.rsvpAgain(w, r, &before, lang, token, answer, guests, fmt.Sprintf(eventTextsByLang[lang].ErrorGuests, left))
		return
	default:
		h.rsvpError(w, r, err, lang)
		return
	}
	for _, p := range res.Promoted {
		h.sendNotices(r.Context(), p.SupporterID)
	}
	v, err := h.newRSVPView(r.Context(), st, lang)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Done = answerText(v.ET, st, true)
	if v.Notice == "" {
		v.Change, v.Forms = true, changeForms(v.ET, st, token, lang)
	}
	h.writeEventPage(w, http.StatusOK, "rsvp", v)
}

// rsvpAgain shows the answer page again with a message, after an answer
// refused for a value the person can fix; nothing was recorded.
func (h *handler) rsvpAgain(w http.ResponseWriter, r *http.Request, st *RSVPState, lang, token string, answer crm.Answer,
	guests int, message string) {
	v, err := h.newRSVPView(r.Context(), st, lang)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Current, v.Error = answerText(v.ET, st, false), message
	f := answerButton(v.ET, st, token, lang, answer)
	f.GuestsVal = guests
	v.Forms = []answerForm{f}
	h.writeEventPage(w, http.StatusBadRequest, "rsvp", v)
}

// eventsView is the public events page.
type eventsView struct {
	T         pageTexts
	ET        eventTexts
	PageTitle string
	Org       string
	OtherLang string
	Events    []eventView
	Feed      string // the link to the calendar of them all
}

// eventsPage is GET /events: the upcoming public events, in French or
// English (?lang=, else the browser's language), each with its calendar
// file, and the calendar of them all.
func (h *handler) eventsPage(w http.ResponseWriter, r *http.Request) {
	lang := formLanguage(r)
	ctx := r.Context()
	set, err := h.n.db.Settings(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	es, err := h.n.db.Events(ctx, crm.EventFilter{From: h.n.clock(), PublicOnly: true, Scheduled: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	et := eventTextsByLang[lang]
	v := &eventsView{T: texts[lang], ET: et, Org: set.Name, PageTitle: et.EventsTitle,
		OtherLang: "?" + url.Values{"lang": {otherLanguage(lang)}}.Encode(), Feed: "events.ics" + calendarQuery(lang)}
	if set.Name != "" {
		v.PageTitle += " · " + set.Name
	}
	for _, e := range es {
		c, err := h.n.db.CountAnswers(ctx, e)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ev := newEventView(e, c, set.Location(), lang)
		ev.ICS = "events/" + url.PathEscape(e.Name) + ".ics" + calendarQuery(lang)
		v.Events = append(v.Events, ev)
	}
	h.writeEventPage(w, http.StatusOK, "events", v)
}

// calendarQuery is what the links to calendars add for lang: ?lang=en in
// English, nothing in French (their default).
func calendarQuery(lang string) string {
	if lang == "en" {
		return "?lang=en"
	}
	return ""
}

// eventsFeed is GET /events.ics: the upcoming public events, the
// cancelled ones marked so, for calendars to subscribe to; in French, or
// in English with ?lang=en (as the event files).
func (h *handler) eventsFeed(w http.ResponseWriter, r *http.Request) {
	es, err := h.n.db.Events(r.Context(), crm.EventFilter{From: h.n.clock(), PublicOnly: true})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeCalendar(w, r, "events.ics", false, es)
}

// eventFile is GET /events/NAME.ics: a public event's calendar file, or a
// non-public one's with a valid calendar token for it (EventCalendarURL).
// Anything else is the same 404 as an unknown event: the page never
// tells whether a non-public event exists.
func (h *handler) eventFile(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || name == "" {
		http.NotFound(w, r)
		return
	}
	e, err := h.n.db.GetEvent(r.Context(), name)
	if errors.Is(err, crm.ErrNotFound) || (err == nil && e.Name != name) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if !e.Public {
		t, err := h.n.signer.Verify(r.URL.Query().Get("token"), PurposeCalendar, h.n.clock())
		if err != nil || t.EventID != e.ID {
			http.NotFound(w, r)
			return
		}
	}
	h.writeCalendar(w, r, e.Name+".ics", !e.Public, []*crm.Event{e})
}

// calendarLanguage is a calendar's language: English with ?lang=en, else
// French. Not the browser's: a calendar app that subscribed fetches the
// feed again without the headers of the browser that found it.
func calendarLanguage(r *http.Request) string {
	if strings.EqualFold(strings.TrimSpace(r.URL.Query().Get("lang")), "en") {
		return "en"
	}
	return "fr"
}

func (h *handler) writeCalendar(w http.ResponseWriter, r *http.Request, filename string, private bool, es []*crm.Event) {
	var b bytes.Buffer
	if err := h.n.WriteEventCalendar(r.Context(), &b, calendarLanguage(r), es...); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+filename+`"`)
	if private {
		w.Header().Set("Cache-Control", "private, no-store")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(b.Bytes())
}

func (h *handler) writeEventPage(w http.ResponseWriter, status int, name string, v any) {
	var b bytes.Buffer
	if err := eventTemplate.ExecuteTemplate(&b, name, v); err != nil {
		b.Reset()
		b.WriteString("error")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// eventTemplate adds the event pages to the signup form's templates,
// whose head and style sheet they share.
var eventTemplate = template.Must(template.Must(formTemplate.Clone()).Funcs(template.FuncMap{
	"eventDetails": func(et eventTexts, e eventView) any {
		return struct {
			ET    eventTexts
			Event eventView
		}{et, e}
	},
}).Parse(`{{define "details"}}<dl>
<dt>{{.ET.When}}</dt><dd>{{.Event.When}}</dd>
{{if .Event.Place}}<dt>{{.ET.Where}}</dt><dd>{{.Event.Place}}{{if .Event.MapURL}} · <a href="{{.Event.MapURL}}" rel="noopener noreferrer">{{.ET.Map}}</a>{{end}}</dd>{{end}}
{{if .Event.Places}}<dt>{{.ET.Places}}</dt><dd>{{.Event.Places}}</dd>{{end}}
</dl>
{{if .Event.Description}}<p class="text">{{.Event.Description}}</p>{{end}}
{{end}}{{define "rsvp"}}{{template "head" (head .T .PageTitle)}}
{{if .OtherLang}}<p class="lang"><a href="{{.OtherLang}}" lang="{{if eq .Lang "fr"}}en{{else}}fr{{end}}">{{.ET.OtherLanguage}}</a></p>{{end}}
{{if .Org}}<p class="org">{{.Org}}</p>{{end}}
<h1>{{.Event.Title}}</h1>
{{if .Done}}<p class="status" role="status">{{.Done}}</p>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{template "details" .}}
{{if .Current}}<p class="current">{{.Current}}</p>{{end}}
{{if .Notice}}<p class="notice">{{.Notice}}</p>{{end}}
{{if .Forms}}<div class="answers">{{if .Change}}<h2>{{.ET.Change}}</h2>{{end}}
{{range .Forms}}<form method="post" action="rsvp">
<input type="hidden" name="token" value="{{.Token}}"><input type="hidden" name="lang" value="{{.Lang}}"><input type="hidden" name="answer" value="{{.Answer}}">
{{if .Guests}}<div class="field"><label for="guests">{{$.ET.Guests}} <span class="note">{{.GuestsHint}}</span></label>
<input id="guests" name="guests" type="number" min="0" max="{{.GuestsMax}}" inputmode="numeric" value="{{.GuestsVal}}"></div>{{end}}
<button type="submit"{{if .Secondary}} class="secondary"{{end}}>{{.Button}}</button>
</form>
{{end}}</div>{{end}}
</main>
</body>
</html>
{{end}}{{define "events"}}{{template "head" (head .T .PageTitle)}}
<p class="lang"><a href="{{.OtherLang}}" lang="{{if eq .T.Lang "fr"}}en{{else}}fr{{end}}">{{.ET.OtherLanguage}}</a></p>
{{if .Org}}<p class="org">{{.Org}}</p>{{end}}
<h1>{{.ET.EventsTitle}}</h1>
{{range .Events}}<article id="{{.Anchor}}">
<h2>{{.Title}}</h2>
{{template "details" (eventDetails $.ET .)}}
<p><a href="{{.ICS}}">{{$.ET.AddToCalendar}}</a></p>
</article>
{{else}}<p>{{.ET.NoEvents}}</p>
{{end}}
<p class="feed"><a href="{{.Feed}}">{{.ET.Subscribe}}</a></p>
</main>
</body>
</html>
{{end}}`))
