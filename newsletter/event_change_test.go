package newsletter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// A change of an event's time or place is told once per edit to those
// who answered yes (waiting list included) or maybe, in their language,
// with what it was before and their answer links; other edits, and quiet
// ones, tell nobody. Several changes not sent yet go as one email, the
// last, telling everything that changed since what the person knew.
func TestEventChangeNotices(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	one := 1
	edit := func(ed crm.EventEdit, opts newsletter.EditOptions) *newsletter.EventEdited {
		t.Helper()
		res, err := n.EditEventWith(ctx, ev.Name, ed, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	send := func() *newsletter.NoticeReport {
		t.Helper()
		rep, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	edit(crm.EventEdit{Capacity: &one}, newsletter.EditOptions{})
	answer(t, n, e, ev.Name, "ana@example.org", crm.AnswerYes)
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerYes) // waiting: the event is full
	answer(t, n, e, ev.Name, "cy@example.org", crm.AnswerNo)
	answer(t, n, e, ev.Name, "dan@example.org", crm.AnswerMaybe)

	title := "Expulsion, rue des Lilas"
	if res := edit(crm.EventEdit{Title: &title}, newsletter.EditOptions{}); res.Occasion != "" || len(res.Notices) != 0 ||
		res.TimeChanged || res.PlaceChanged {
		t.Errorf("a new title is no change of time or place: %+v", res)
	}
	tuesday := ev.StartsAt.Add(24 * time.Hour)
	res := edit(crm.EventEdit{StartsAt: &tuesday}, newsletter.EditOptions{})
	if !res.TimeChanged || res.PlaceChanged || res.Occasion != "change-3" || len(res.Notices) != 3 || res.Event.Sequence != 3 {
		t.Fatalf("the start moved: %+v", res)
	}
	if rep := send(); rep.Sent != 3 {
		t.Fatalf("change sent: %+v", rep)
	}
	if rep := send(); rep.Sent+rep.Skipped != 0 {
		t.Errorf("sent again: %+v", rep)
	}
	for _, m := range e.srv.Emails() {
		switch m.To[0] {
		case "ana@example.org", "dan@example.org":
			if m.Subject != "Changement d'horaire : Expulsion, rue des Lilas" ||
				!strings.Contains(m.Text, "Nouvel horaire : mardi 3 mars 2026 à 7\u00a0h\u00a030") ||
				!strings.Contains(m.Text, "(au lieu de lundi 2 mars 2026 à 7\u00a0h\u00a030)") ||
				!strings.Contains(m.Text, "Où : 12 rue des Lilas, 62100 Calais") || !rsvpRE.MatchString(m.Text) {
				t.Errorf("French change to %s: %q\n%s", m.To[0], m.Subject, m.Text)
			}
		case "ben@example.org":
			if m.Subject != "New time: Eviction in rue des Lilas" ||
				!strings.Contains(m.Text, "New time: Tuesday 3 March 2026 at 7:30\u00a0am") ||
				!strings.Contains(m.Text, "/events/expulsion-lilas.ics?token=") || !strings.Contains(m.Text, "&lang=en") {
				t.Errorf("English change to ben (waiting): %q\n%s", m.Subject, m.Text)
			}
		default:
			t.Errorf("a change told to %s, who answered no", m.To[0])
		}
	}

	// Quiet: nobody is told.
	armes := "Place d'Armes"
	if res := edit(crm.EventEdit{Address: &armes}, newsletter.EditOptions{Quiet: true}); !res.PlaceChanged ||
		res.Occasion != "" || len(res.Notices) != 0 {
		t.Errorf("a quiet edit: %+v", res)
	}
	// Two changes before anything is sent: one email each, the last,
	// telling both; dan said no meanwhile.
	royale, wednesday := "Rue Royale", tuesday.Add(24*time.Hour)
	edit(crm.EventEdit{Address: &royale}, newsletter.EditOptions{})
	tpl := "---\nsubject: Attention {{.Event.Title}}\n---\n{{if .Change.Time}}Heure : {{.Event.When}}.{{end}} " +
		"{{if .Change.Place}}Lieu : {{.Event.Place}}, avant {{.Change.PreviousPlace}}.{{end}} Réponse : {{.RSVP.Answer}}.\n"
	res = edit(crm.EventEdit{StartsAt: &wednesday}, newsletter.EditOptions{
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: tpl}}})
	if res.Occasion != "change-6" || len(res.Notices) != 3 {
		t.Fatalf("the second change: %+v", res)
	}
	answer(t, n, e, ev.Name, "dan@example.org", crm.AnswerNo)
	before := len(e.srv.Emails())
	if rep := send(); rep.Sent != 2 || rep.Skipped != 4 {
		t.Errorf("two changes at once: %+v, want 2 sent (ana, ben), 4 skipped (3 superseded, dan)", rep)
	}
	got := e.srv.Emails()[before:]
	for _, m := range got {
		want := "Heure : mercredi 4 mars 2026 à 7\u00a0h\u00a030. Lieu : Rue Royale, 62100 Calais, avant Place d'Armes, 62100 Calais. Réponse : yes."
		if !strings.Contains(m.Text, want) || m.Subject != "Attention Expulsion, rue des Lilas" {
			t.Errorf("the change to %s: %q\n%s", m.To[0], m.Subject, m.Text)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d emails for two changes, want one each for ana and ben", len(got))
	}

	// Moved and moved back before anything went: nothing to tell.
	thursday := wednesday.Add(24 * time.Hour)
	edit(crm.EventEdit{StartsAt: &thursday}, newsletter.EditOptions{})
	edit(crm.EventEdit{StartsAt: &wednesday}, newsletter.EditOptions{})
	if rep := send(); rep.Sent != 0 || rep.Skipped != 4 {
		t.Errorf("moved back: %+v", rep)
	}
	// The calendar's revision counts the edits.
	if got, err := e.db.GetEvent(ctx, ev.Name); err != nil || got.Sequence != 8 {
		t.Errorf("sequence after 8 edits: %+v %v", got, err)
	}
}

// The default emails of an event say what the person answered, the
// event's description, and its cancellation in a sentence right for any
// event.
func TestEventNoticeWording(t *testing.T) {
	ctx := context.Background()
	e, n, ev := eventEnv(t)
	desc := "Venez avec un gilet jaune."
	if _, err := n.EditEventWith(ctx, ev.Name, crm.EventEdit{Description: &desc}, newsletter.EditOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AnswerEvent(ctx, crm.RSVPRequest{Event: ev.Name, SupporterID: e.supporterID(t, "ana@example.org"),
		Answer: crm.AnswerYes, Guests: 2}); err != nil {
		t.Fatal(err)
	}
	answer(t, n, e, ev.Name, "ben@example.org", crm.AnswerMaybe)
	if _, err := n.RemindEvent(ctx, ev.Name, newsletter.ReminderOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.CancelEvent(ctx, ev.Name, newsletter.CancelOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"ana Rappel":    {"Votre réponse : oui, vous venez avec 2 personnes.", desc},
		"ben Reminder":  {"Your answer: maybe.", desc},
		"ana Annulé":    {"L'événement « Expulsion rue des Lilas », prévu lundi 2 mars 2026 à 7\u00a0h\u00a030, est annulé."},
		"ben Cancelled": {`The event "Eviction in rue des Lilas" (Monday 2 March 2026 at 7:30` + "\u00a0am) is cancelled."},
	}
	seen := 0
	for _, m := range e.srv.Emails() {
		who, _, _ := strings.Cut(m.To[0], "@")
		kind, _, _ := strings.Cut(m.Subject, ":")
		parts, ok := want[who+" "+strings.TrimSpace(kind)]
		if !ok {
			t.Errorf("unexpected email to %s: %q", m.To[0], m.Subject)
			continue
		}
		seen++
		for _, p := range parts {
			if !strings.Contains(m.Text, p) {
				t.Errorf("%s %q lacks %q:\n%s", m.To[0], m.Subject, p, m.Text)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of the %d emails", seen, len(want))
	}
}

// An invitation's templates must each carry an answer link; and while an
// invitation to an event is a draft (scheduled or not), no other can be
// made, however it is made: the error names it and how to remove it.
func TestInvitationRules(t *testing.T) {
	ctx := context.Background()
	e, n, _ := eventEnv(t)
	noLinks := "---\nsubject: \"{{.Event.Title}}\"\n---\nVenez : {{.Event.When}}, {{.CalendarURL}}\n"
	spec := newsletter.CampaignSpec{Event: "expulsion-lilas", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: inviteFR}, {Language: "en", Source: noLinks}}}
	_, err := n.CreateInvitation(ctx, spec)
	var te *newsletter.TemplateError
	if !errors.As(err, &te) || te.Language != "en" || !strings.Contains(te.Reason, "{{.RSVPYes}}, {{.RSVPNo}} or {{.RSVPMaybe}}") {
		t.Fatalf("an invitation without answer links: %v", err)
	}
	spec.Templates = spec.Templates[:1]
	c1, err := n.CreateInvitation(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.EditCampaign(ctx, c1.Name, newsletter.CampaignEdit{Templates: []newsletter.TemplateSource{{Language: "fr",
		Source: noLinks}}}); !errors.As(err, &te) || te.Language != "fr" {
		t.Errorf("an invitation edited to carry no answer link: %v", err)
	}
	other := spec
	other.Name = "appel-2"
	for what, try := range map[string]func() error{
		"CreateInvitation": func() error { _, err := n.CreateInvitation(ctx, spec); return err },
		"CreateCampaign":   func() error { _, err := n.CreateCampaign(ctx, other); return err },
		"CopyCampaign":     func() error { _, err := n.CopyCampaign(ctx, c1.Name, "copie"); return err },
	} {
		err := try()
		if !errors.Is(err, newsletter.ErrInvitationUnfinished) || !errors.Is(err, crm.ErrConflict) ||
			!strings.Contains(err.Error(), "invitation expulsion-lilas-invitation to event expulsion-lilas is a draft") ||
			!strings.Contains(err.Error(), "crm campaign delete expulsion-lilas-invitation") {
			t.Errorf("%s while a draft invitation waits: %v", what, err)
		}
	}
	if _, err := n.ScheduleCampaign(ctx, c1.Name, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateInvitation(ctx, spec); !errors.Is(err, newsletter.ErrInvitationUnfinished) ||
		!strings.Contains(err.Error(), "is scheduled, not sent yet") {
		t.Errorf("while an invitation is scheduled: %v", err)
	}
	if err := n.DeleteCampaign(ctx, c1.Name); err != nil {
		t.Fatal(err)
	}
	if c, err := n.CreateInvitation(ctx, spec); err != nil || c.Name != "expulsion-lilas-invitation" {
		t.Errorf("once the draft is deleted: %+v %v", c, err)
	}
	// A campaign that is no invitation is not concerned.
	if _, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "lettre", List: "alertes", From: from,
		Templates: []newsletter.TemplateSource{{Language: "fr", Source: "---\nsubject: Lettre\n---\nBonjour\n"}}}); err != nil {
		t.Errorf("a newsletter beside a draft invitation: %v", err)
	}
}
