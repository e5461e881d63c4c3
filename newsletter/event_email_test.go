package newsletter_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// The eviction: Monday 2 March 2026 at 7:30 in Paris, the day after the
// test clock's start.
var evictionStart = time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC)

const inviteFR = `---
subject: "Expulsion : {{.Event.Title}}, {{.Event.When}}"
---
Bonjour {{.FirstName}},

{{.Event.Title}} : {{.Event.When}}, {{.Event.Place}} ({{.Event.MapURL}}).

Oui : {{.RSVPYes}}
Non : {{.RSVPNo}}
Peut-être : {{.RSVPMaybe}}
Agenda : {{.CalendarURL}}
`

const inviteEN = `---
subject: "Eviction: {{.Event.Title}}, {{.Event.When}}"
---
Hello {{.FirstName}},

{{.Event.Title}}: {{.Event.When}}, {{.Event.Place}}.

Yes: {{.RSVPYes}}
No: {{.RSVPNo}}
Maybe: {{.RSVPMaybe}}
Calendar: {{.CalendarURL}}
`

// eventEnv is an association with a list "alertes" of five volunteers
// (ben and eve in English; cy without the interest terrain; dan outside
// the Pas-de-Calais) and the eviction tomorrow morning.
func eventEnv(t *testing.T) (*env, *newsletter.Newsletter, *crm.Event) {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	n := e.newsletter(t)
	if err := e.db.CreateList(ctx, &crm.List{Name: "alertes"}); err != nil {
		t.Fatal(err)
	}
	csv := "email,first_name,language,postcode,interests,phone\n" +
		"ana@example.org,Ana,fr,62100,terrain,06 01 02 03 04\n" +
		"ben@example.org,Ben,en,62200,terrain,\n" +
		"cy@example.org,Cy,fr,62100,,\n" +
		"dan@example.org,Dan,fr,59000,terrain,\n" +
		"eve@example.org,Eve,en,62100,terrain,\n"
	if _, err := e.db.ImportSupporters(ctx, strings.NewReader(csv), crm.ImportOptions{List: "alertes", Consent: "test"}); err != nil {
		t.Fatal(err)
	}
	ev := &crm.Event{Name: "expulsion-lilas", Title: "Expulsion rue des Lilas", TitleEN: "Eviction in rue des Lilas",
		StartsAt: evictionStart, Address: "12 rue des Lilas", City: "Calais", Postcode: "62100", Kind: crm.KindAction}
	if err := e.db.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	return e, n, ev
}

func (e *env) supporterID(t *testing.T, email string) int64 {
	t.Helper()
	id, err := e.db.SupporterID(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func answer(t *testing.T, n *newsletter.Newsletter, e *env, event, email string, a crm.Answer) *crm.RSVPResult {
	t.Helper()
	res, err := n.AnswerEvent(context.Background(), crm.RSVPRequest{Event: event, SupporterID: e.supporterID(t, email),
		Answer: a, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var rsvpRE = regexp.MustCompile(`https://asso\.example\.org/nl/rsvp\?token=([A-Za-z0-9_-]+)&answer=(yes|no|maybe)`)

// An invitation goes to the list's volunteers the segment selects, each
// with their own answer links, signed and bound to them and the event and
// carrying the campaign, and the event told in their language.
func TestInvitationCarriesBoundAnswerLinks(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	c, err := n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: "expulsion-lilas", List: "alertes",
		Segment: "interest:terrain AND postcode:62*", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}, {Language: "en", Source: inviteEN}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "expulsion-lilas-invitation" || c.Event != "expulsion-lilas" {
		t.Fatalf("invitation %q of event %q", c.Name, c.Event)
	}
	rep, err := n.Send(ctx, c.Name, e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("send: %+v %v", rep, err)
	}
	assertOnce(t, e.srv.Emails(), []string{"ana@example.org", "ben@example.org", "eve@example.org"})
	signer := newsletter.SignerOf(n)
	for _, m := range e.srv.Emails() {
		links := rsvpRE.FindAllStringSubmatch(m.Text, -1)
		if len(links) != 3 || links[0][2] != "yes" || links[1][2] != "no" || links[2][2] != "maybe" {
			t.Fatalf("answer links of %s: %q", m.To[0], links)
		}
		tok, err := signer.Verify(links[0][1], newsletter.PurposeRSVP, e.clock.Now())
		if err != nil || tok.SupporterID != e.supporterID(t, m.To[0]) || tok.EventID != ev.ID || tok.CampaignID != c.ID {
			t.Errorf("the yes link of %s verifies to %+v, %v", m.To[0], tok, err)
		}
		if _, err := signer.Verify(links[0][1], newsletter.PurposeUnsubscribe, e.clock.Now()); err == nil {
			t.Error("an answer token passes for an unsubscribe one")
		}
		if !strings.Contains(m.HTML, `href="https://asso.example.org/nl/rsvp?token=`) && !strings.Contains(m.HTML, "/nl/rsvp?token=") {
			t.Errorf("no answer link in the HTML of %s", m.To[0])
		}
		if !strings.Contains(m.Text, "https://asso.example.org/nl/events/expulsion-lilas.ics?token=") {
			t.Errorf("no calendar link (signed: the event is not public) in %q", m.Text)
		}
		switch m.To[0] {
		case "ana@example.org":
			if m.Subject != "Expulsion : Expulsion rue des Lilas, lundi 2 mars 2026 à 7 h 30" ||
				!strings.Contains(m.Text, "12 rue des Lilas, 62100 Calais (https://www.openstreetmap.org/search?query=12+rue+des+Lilas%2C+62100+Calais)") {
				t.Errorf("French invitation: %q\n%s", m.Subject, m.Text)
			}
		case "ben@example.org":
			if m.Subject != "Eviction: Eviction in rue des Lilas, Monday 2 March 2026 at 7:30 am" {
				t.Errorf("English invitation: %q", m.Subject)
			}
		}
	}
	// Links of two people differ; a link tampered with is refused.
	a, b := rsvpRE.FindStringSubmatch(e.srv.Emails()[0].Text)[1], rsvpRE.FindStringSubmatch(e.srv.Emails()[1].Text)[1]
	if a == b {
		t.Error("two people got the same answer link")
	}
	tampered := []byte(a)
	tampered[5] ^= 1
	if _, err := signer.Verify(string(tampered), newsletter.PurposeRSVP, e.clock.Now()); !errors.Is(err, newsletter.ErrTokenInvalid) {
		t.Errorf("a tampered link: %v", err)
	}
	if st, err := n.CampaignStats(ctx, c.Name); err != nil || st.Campaign.Event != "expulsion-lilas" {
		t.Errorf("campaign stats: %+v %v", st, err)
	}
}

// A second invitation to the same event, to a wider segment, goes only
// to those the first did not invite; and none can be made while the
// first is unfinished.
func TestSecondInvitationSkipsThoseInvited(t *testing.T) {
	ctx := context.Background()
	e, n, _ := eventEnv(t)
	spec := newsletter.CampaignSpec{Event: "expulsion-lilas", List: "alertes", Segment: "interest:terrain AND postcode:62*",
		From: from, Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}}}
	c1, err := n.CreateInvitation(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFaults(resendtest.FaultDailyQuota)
	if _, err := n.Send(ctx, c1.Name, e.sender(t), newsletter.SendOptions{}); !errors.Is(err, newsletter.ErrQuota) {
		t.Fatalf("send against a quota: %v", err)
	}
	spec.Segment = ""
	if _, err := n.CreateInvitation(ctx, spec); !errors.Is(err, newsletter.ErrInvitationUnfinished) {
		t.Fatalf("a second invitation while the first is unfinished: %v", err)
	}
	if rep, err := n.Send(ctx, c1.Name, e.sender(t), newsletter.SendOptions{}); err != nil || rep.Sent != 3 {
		t.Fatalf("the first invitation resumed: %+v %v", rep, err)
	}
	c2, err := n.CreateInvitation(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Name != "expulsion-lilas-invitation-2" {
		t.Errorf("second invitation named %q", c2.Name)
	}
	if st, err := n.CampaignStats(ctx, c2.Name); err != nil || st.Recipients != 2 {
		t.Errorf("the second invitation would go to %+v (%v), want the 2 not invited yet", st, err)
	}
	if rep, err := n.Send(ctx, c2.Name, e.sender(t), newsletter.SendOptions{}); err != nil || rep.Sent != 2 {
		t.Fatalf("second invitation: %+v %v", rep, err)
	}
	assertOnce(t, e.srv.Emails(), []string{"ana@example.org", "ben@example.org", "cy@example.org", "dan@example.org",
		"eve@example.org"})
}

// An invitation's event, edited while it is being sent, stays as it was
// when the send started (a resumed send sends the same bytes); a scheduled
// invitation to an event cancelled since is not sent, and no longer due.
func TestInvitationFreezesItsEvent(t *testing.T) {
	ctx := context.Background()
	e, n, _ := eventEnv(t)
	c, err := n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: "expulsion-lilas", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}}})
	if err != nil {
		t.Fatal(err)
	}
	// The provider takes the batch and the answer is lost, then it
	// fails: the send stops with the batch in flight.
	e.srv.InjectFaults(resendtest.FaultLostAnswer, resendtest.FaultServerError)
	if _, err := n.Send(ctx, c.Name, e.sender(t), newsletter.SendOptions{MaxRetries: 1}); err == nil {
		t.Fatal("the send should stop")
	}
	title := "Autre titre"
	if _, _, err := n.EditEvent(ctx, "expulsion-lilas", crm.EventEdit{Title: &title}); err != nil {
		t.Fatal(err)
	}
	// Resumed, it sends the same bytes under the same key: the provider
	// answers without sending again.
	if rep, err := n.Send(ctx, c.Name, e.sender(t), newsletter.SendOptions{}); err != nil || rep.Sent != 5 || rep.Uncertain != 0 {
		t.Fatalf("resumed send: %+v %v", rep, err)
	}
	if len(e.srv.Emails()) != 5 {
		t.Fatalf("%d emails, want 5", len(e.srv.Emails()))
	}
	for _, m := range e.srv.Emails() {
		if !strings.Contains(m.Subject, "Expulsion rue des Lilas") {
			t.Errorf("subject %q: the event changed during the send", m.Subject)
		}
	}

	if err := e.db.CreateEvent(ctx, &crm.Event{Name: "soiree", StartsAt: evictionStart.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c2, err := n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: "soiree", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ScheduleCampaign(ctx, c2.Name, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res, err := n.CancelEvent(ctx, "soiree", newsletter.CancelOptions{})
	if err != nil || len(res.Unscheduled) != 1 || res.Unscheduled[0] != c2.Name {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	if _, err := n.Send(ctx, c2.Name, e.sender(t), newsletter.SendOptions{}); !errors.Is(err, crm.ErrEventClosed) {
		t.Errorf("an invitation to a cancelled event: %v", err)
	}
	if len(e.srv.Emails()) != 5 {
		t.Errorf("%d emails, want the 5 of the first invitation", len(e.srv.Emails()))
	}
}

// A template that uses an event's fields needs an event; a field of the
// event that does not exist is named.
func TestEventFieldsAreChecked(t *testing.T) {
	ctx := context.Background()
	_, n, _ := eventEnv(t)
	_, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "x", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}}})
	var te *newsletter.TemplateError
	if !errors.As(err, &te) || !strings.Contains(te.Reason, "invitation to an event") {
		t.Errorf("event fields in a campaign without event: %v", err)
	}
	_, err = n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: "expulsion-lilas", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: "---\nsubject: x\n---\n\n{{.Event.Date}}\n"}}})
	if !errors.As(err, &te) || te.Line != 5 || !strings.Contains(te.Reason, `"Date" of .Event`) {
		t.Errorf("an unknown field of the event: %v", err)
	}
	if _, err := n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: "nope", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}}}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("an unknown event: %v", err)
	}
	_, err = n.RemindEvent(ctx, "expulsion-lilas", newsletter.ReminderOptions{Templates: []newsletter.TemplateSource{
		{Language: "en", Source: "Hello {{.Event.Title}}\n"}}})
	if !errors.As(err, &te) || te.Language != "en" || !strings.Contains(te.Reason, "no subject") {
		t.Errorf("a reminder without subject: %v", err)
	}
}

func TestFormatEventTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tt := range []struct {
		t      time.Time
		lang   string
		want   string
		reason string
	}{
		{time.Date(2026, 12, 5, 6, 30, 0, 0, time.UTC), "fr", "samedi 5 décembre 2026 à 7\u00a0h\u00a030", "winter time"},
		{time.Date(2026, 12, 5, 6, 30, 0, 0, time.UTC), "en", "Saturday 5 December 2026 at 7:30\u00a0am", ""},
		{time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC), "fr", "mercredi 1er juillet 2026 à 19\u00a0h", "summer time, the 1st"},
		{time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC), "en", "Wednesday 1 July 2026 at 7:00\u00a0pm", ""},
		{time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC), "de", "mercredi 1er juillet 2026 à 19\u00a0h", "French by default"},
	} {
		if got := newsletter.FormatEventTime(tt.t, tt.lang, paris); got != tt.want {
			t.Errorf("%s %s (%s): %q, want %q", tt.t, tt.lang, tt.reason, got, tt.want)
		}
	}
}

// byKind returns the emails whose subject starts with prefix, by
// recipient.
func byRecipient(srv *resendtest.Server, prefix string) map[string]int {
	out := map[string]int{}
	for _, m := range srv.Emails() {
		if strings.HasPrefix(m.Subject, prefix) {
			out[m.To[0]]++
		}
	}
	return out
}

// Each reminder goes once to those who answered yes (holding a place) or
// maybe: running the command again after a run that stopped before
// sending resumes that reminder, and makes no second one; after the
// hour, or when asked, a new reminder goes.
func TestReminderOncePerReminder(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	one := 2
	if _, _, err := n.EditEvent(ctx, ev.Name, crm.EventEdit{Capacity: &one}); err != nil {
		t.Fatal(err)
	}
	answer(t, n, e, ev.Name, "ana@example.org", crm.AnswerYes)
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerMaybe)
	answer(t, n, e, ev.Name, "cy@example.org", crm.AnswerNo)
	answer(t, n, e, ev.Name, "dan@example.org", crm.AnswerYes)
	if res := answer(t, n, e, ev.Name, "eve@example.org", crm.AnswerYes); !res.RSVP.Waiting {
		t.Fatal("eve should wait: the event is full")
	}
	rem, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{})
	if err != nil || rem.Number != 1 || len(rem.Notices) != 3 || rem.Resumed {
		t.Fatalf("first reminder: %+v %v", rem, err)
	}
	// The run stops before its emails went: the provider is down.
	e.srv.InjectFaults(resendtest.FaultUnavailable, resendtest.FaultUnavailable, resendtest.FaultUnavailable,
		resendtest.FaultUnavailable)
	rep, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from, IDs: rem.Notices[:1], MaxRetries: 1})
	if err != nil || rep.Waiting != 1 || rep.Sent != 0 {
		t.Fatalf("send with the provider down: %+v %v", rep, err)
	}
	// The same command again: the same reminder, resumed.
	again, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{})
	if err != nil || !again.Resumed || again.Number != 1 || again.Waiting != 3 || len(again.Notices) != 0 {
		t.Fatalf("the command run again: %+v %v", again, err)
	}
	rep, err = n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from, EventID: ev.ID, Occasion: again.Occasion()})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("resumed reminder: %+v %v", rep, err)
	}
	if got := byRecipient(e.srv, "Rappel"); len(got) != 2 || got["ana@example.org"] != 1 || got["dan@example.org"] != 1 {
		t.Errorf("French reminders: %v", got)
	}
	if got := byRecipient(e.srv, "Reminder"); len(got) != 1 || got["ben@example.org"] != 1 {
		t.Errorf("English reminders: %v", got)
	}
	if _, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{}); !errors.Is(err, newsletter.ErrReminderTooSoon) {
		t.Errorf("a third run within the hour: %v", err)
	}
	e.clock.Advance(2 * time.Hour)
	tpl := "---\nsubject: Dernier rappel {{.Event.Title}}\n---\nÀ demain {{.FirstName}}, {{.Event.When}}.\n"
	rem2, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{Templates: []newsletter.TemplateSource{{Language: "fr", Source: tpl}}})
	if err != nil || rem2.Number != 2 || len(rem2.Notices) != 3 {
		t.Fatalf("second reminder: %+v %v", rem2, err)
	}
	rep, err = n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from, IDs: rem2.Notices})
	if err != nil || rep.Sent != 3 {
		t.Fatalf("second reminder sent: %+v %v", rep, err)
	}
	if got := byRecipient(e.srv, "Dernier rappel"); len(got) != 3 || got["ben@example.org"] != 1 {
		t.Errorf("the organiser's template, the first for English readers too: %v", got)
	}
	if got := byRecipient(e.srv, "Rappel"); len(got) != 2 {
		t.Errorf("reminder 1 sent again: %v", got)
	}
}

// The cancellation goes once to each person who answered yes (waiting
// list included) or maybe, whoever sends it and however often, even at
// once; a reminder still waiting is no longer sent.
func TestCancellationOnce(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	one := 1
	if _, _, err := n.EditEvent(ctx, ev.Name, crm.EventEdit{Capacity: &one}); err != nil {
		t.Fatal(err)
	}
	answer(t, n, e, ev.Name, "ana@example.org", crm.AnswerYes)
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerYes) // waiting
	answer(t, n, e, ev.Name, "cy@example.org", crm.AnswerNo)
	answer(t, n, e, ev.Name, "dan@example.org", crm.AnswerMaybe)
	rem, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{})
	if err != nil || len(rem.Notices) != 2 {
		t.Fatalf("reminder: %+v %v", rem, err)
	}
	var wg sync.WaitGroup
	results := make([]*newsletter.Cancellation, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = n.CancelEvent(ctx, ev.Name, newsletter.CancelOptions{})
		}()
	}
	wg.Wait()
	var res *newsletter.Cancellation
	for i := range 2 {
		switch {
		case errs[i] == nil && res == nil:
			res = results[i]
		case !errors.Is(errs[i], crm.ErrEventClosed):
			t.Fatalf("two cancellations at once: %v, %v", errs[0], errs[1])
		}
	}
	if res == nil || len(res.Notices) != 3 || res.Event.Status != crm.EventCancelled {
		t.Fatalf("cancellation: %+v", res)
	}
	// Two senders at once, then the queue swept again.
	sender := e.sender(t)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.SendNotices(ctx, sender, newsletter.NoticeOptions{From: from, IDs: res.Notices}); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	rep, err := n.SendNotices(ctx, sender, newsletter.NoticeOptions{From: from})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != 2 {
		t.Errorf("the reminders of a cancelled event: %+v", rep)
	}
	got := byRecipient(e.srv, "Annulé")
	if len(got) != 2 || got["ana@example.org"] != 1 || got["dan@example.org"] != 1 {
		t.Errorf("French cancellations: %v", got)
	}
	if got := byRecipient(e.srv, "Cancelled"); len(got) != 1 || got["ben@example.org"] != 1 {
		t.Errorf("English cancellations (ben waited): %v", got)
	}
	if n := len(e.srv.Emails()); n != 3 {
		t.Errorf("%d emails, want the 3 cancellations", n)
	}
	for _, m := range e.srv.Emails() {
		if m.To[0] == "ana@example.org" && !strings.Contains(m.Text, "L'événement « Expulsion rue des Lilas », prévu lundi 2 mars 2026 à 7\u00a0h\u00a030, est annulé.") {
			t.Errorf("cancellation: %s", m.Text)
		}
	}
}

// The place freed goes once to the person let in from the waiting list,
// and not at all if they answered again before it went.
func TestPlaceFreedOnce(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	one := 1
	if _, _, err := n.EditEvent(ctx, ev.Name, crm.EventEdit{Capacity: &one}); err != nil {
		t.Fatal(err)
	}
	answer(t, n, e, ev.Name, "ana@example.org", crm.AnswerYes)
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerYes)
	answer(t, n, e, ev.Name, "eve@example.org", crm.AnswerYes)
	if res := answer(t, n, e, ev.Name, "ana@example.org", crm.AnswerNo); len(res.Promoted) != 1 {
		t.Fatalf("ana leaves: %+v", res)
	}
	for range 2 {
		if _, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from}); err != nil {
			t.Fatal(err)
		}
	}
	emails := e.srv.Emails()
	if len(emails) != 1 || emails[0].To[0] != "ben@example.org" ||
		emails[0].Subject != "A place freed up: you are in for Eviction in rue des Lilas" ||
		!strings.Contains(emails[0].Text, "When: Monday 2 March 2026 at 7:30\u00a0am") || !rsvpRE.MatchString(emails[0].Text) {
		t.Fatalf("place freed: %+v", emails)
	}
	link := rsvpRE.FindStringSubmatch(emails[0].Text)
	tok, err := newsletter.SignerOf(n).Verify(link[1], newsletter.PurposeRSVP, e.clock.Now())
	if err != nil || tok.SupporterID != e.supporterID(t, "ben@example.org") || tok.EventID != ev.ID || link[2] != "no" {
		t.Errorf("the link of the place freed: %+v %v", tok, err)
	}
	// Ben leaves: Eve gets his place, and leaves before her email goes.
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerNo)
	answer(t, n, e, ev.Name, "eve@example.org", crm.AnswerNo)
	rep, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || rep.Skipped != 1 || rep.Sent != 0 {
		t.Errorf("a place freed for someone who left since: %+v %v", rep, err)
	}
}

// An erased person's emails about an event are not sent: dropped by the
// erasure, or skipped when erased by crm alone.
func TestErasedPersonsEventNoticesSkipped(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	for _, who := range []string{"ana@example.org", "ben@example.org", "dan@example.org"} {
		answer(t, n, e, ev.Name, who, crm.AnswerYes)
	}
	rem, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{})
	if err != nil || len(rem.Notices) != 3 {
		t.Fatalf("reminder: %+v %v", rem, err)
	}
	if _, err := n.Forget(ctx, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Forget(ctx, "ben@example.org"); err != nil {
		t.Fatal(err)
	}
	rep, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || rep.Sent != 1 {
		t.Fatalf("send: %+v %v", rep, err)
	}
	assertOnce(t, e.srv.Emails(), []string{"dan@example.org"})
	if got := strings.Join(noticeStatuses(t, e.db), " "); got != "skipped skipped sent" {
		t.Errorf("notices: %s", got)
	}
}

// The answer links of an email about an event work for the page: their
// query holds the token and the answer.
func TestEventNoticeLinksParse(t *testing.T) {
	_, n, ev := eventEnv(t)
	u, err := url.Parse(n.RSVPURL(7, ev, crm.AnswerMaybe, 3))
	if err != nil || u.Query().Get("answer") != "maybe" || u.Path != "/nl/rsvp" {
		t.Fatalf("%v %v", u, err)
	}
	tok, err := newsletter.SignerOf(n).Verify(u.Query().Get("token"), newsletter.PurposeRSVP, ev.StartsAt.Add(-time.Hour))
	if err != nil || tok.SupporterID != 7 || tok.EventID != ev.ID || tok.CampaignID != 3 {
		t.Errorf("%+v %v", tok, err)
	}
}
