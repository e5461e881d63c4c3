package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// What a new user's walkthrough found (issue 17): a change of time or
// place is told to those who answered, at once with a sender, else
// queued; --no-notify tells nobody.
func TestEventsEditTellsThoseWhoAnswered(t *testing.T) {
	t.Setenv("RESEND_API_KEY", "")
	dir := t.TempDir()
	db := crmtest.Database(t)
	outbox := filepath.Join(dir, "outbox")
	day := tomorrow(t)
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	for _, p := range [][]string{{"ana@example.org", "fr", "yes"}, {"ben@example.org", "en", "maybe"}, {"cy@example.org", "fr", "no"}} {
		mustRun(t, db, "supporters", "add", "--email", p[0], "--lang", p[1])
	}
	mustRun(t, db, "events", "create", "expulsion", "--title", "Expulsion", "--title-en", "Eviction", "--start", day+" 07:30",
		"--place", "12 rue des Lilas", "--city", "Calais")
	mustRun(t, db, "events", "answer", "expulsion", "ana@example.org", "yes")
	mustRun(t, db, "events", "answer", "expulsion", "ben@example.org", "maybe")
	mustRun(t, db, "events", "answer", "expulsion", "cy@example.org", "no")

	if out := mustRun(t, db, "events", "edit", "expulsion", "--title", "Expulsion rue des Lilas"); strings.Contains(out, "new ") ||
		strings.Contains(out, "email") {
		t.Errorf("a new title told people: %q", out)
	}
	out := mustRun(t, db, "events", "edit", "expulsion", "--start", day+" 08:00")
	if !strings.Contains(out, "new time: 2 email(s) queued to those who answered yes, maybe or wait") ||
		!strings.Contains(out, "2 email(s) wait: no sender") {
		t.Errorf("a new time without a sender: %q", out)
	}
	out = mustRun(t, db, "events", "edit", "expulsion", "--place", "Place d'Armes", "--outbox", outbox)
	if !strings.Contains(out, "new place: 2 email(s) queued") || !strings.Contains(out, "wrote 2 emails to ") {
		t.Errorf("a new place with --outbox: %q", out)
	}
	mails := outboxFiles(t, outbox)
	// The first change was never sent: the second tells both.
	if len(mails) != 2 || countContaining(mails, "Subject: Changement d'horaire et de lieu : Expulsion rue des Lilas") != 1 ||
		countContaining(mails, "Subject: New time and place: Eviction") != 1 || countContaining(mails, "cy@example.org") != 0 {
		t.Errorf("the change emails: %q", mails)
	}
	if out := mustRun(t, db, "events", "edit", "expulsion", "--city", "Coquelles", "--no-notify"); !strings.Contains(out, "new place: nobody was told (--no-notify)") {
		t.Errorf("--no-notify: %q", out)
	}
	// The first change's emails, superseded, are never sent.
	out = mustRun(t, db, "send", "--due", "--outbox", outbox)
	if len(outboxFiles(t, outbox)) != 2 || !strings.Contains(out, "2 no longer called for") {
		t.Errorf("send --due after the change: %q, %d emails", out, len(outboxFiles(t, outbox)))
	}
}

// crm events invite --outbox writes the invitation to look at and sends
// nothing; a second invitation waits for the first; a template without
// answer links is refused; campaign list and show say the same status.
func TestEventsInviteOutbox(t *testing.T) {
	t.Setenv("RESEND_API_KEY", "")
	dir := t.TempDir()
	db := crmtest.Database(t)
	day := tomorrow(t)
	srv := resendtest.NewServer(resendtest.Options{})
	t.Cleanup(srv.Close)
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "alertes")
	for _, email := range []string{"ana@example.org", "ben@example.org"} {
		mustRun(t, db, "supporters", "add", "--email", email)
		mustRun(t, db, "subscribe", email, "--list", "alertes")
	}
	mustRun(t, db, "events", "create", "expulsion", "--title", "Expulsion", "--start", day+" 07:30")
	tpl, noLinks := filepath.Join(dir, "appel.fr.md"), filepath.Join(dir, "appel.md")
	os.WriteFile(tpl, []byte("---\nsubject: \"{{.Event.Title}}\"\n---\n[Je viens]({{.RSVPYes}})\n"), 0o600)
	os.WriteFile(noLinks, []byte("---\nsubject: \"{{.Event.Title}}\"\n---\nVenez {{.Event.When}}.\n"), 0o600)

	outbox := filepath.Join(dir, "outbox")
	code, _, errOut := crmRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+noLinks,
		"--outbox", outbox)
	if code != 1 || !strings.Contains(errOut, "appel.md (fr): no answer link: an invitation's email must carry {{.RSVPYes}}, {{.RSVPNo}} or {{.RSVPMaybe}}") {
		t.Errorf("an invitation without answer links: exit %d, %q", code, errOut)
	}
	out := mustRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+tpl, "--outbox", outbox)
	if !strings.Contains(out, "2 emails of invitation expulsion-invitation written to ") ||
		!strings.Contains(out, "nothing was sent: it stays a draft: send it with crm send expulsion-invitation, "+
			"or remove it with crm campaign delete expulsion-invitation") {
		t.Errorf("invite --outbox printed %q", out)
	}
	if mails := outboxFiles(t, outbox); len(mails) != 2 || countContaining(mails, "/rsvp?token=") != 2 || len(srv.Emails()) != 0 {
		t.Errorf("invite --outbox wrote %d emails, sent %d", len(mails), len(srv.Emails()))
	}
	code, _, errOut = crmRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+tpl, "--outbox", outbox)
	if code != 1 || !strings.Contains(errOut, "invitation expulsion-invitation to event expulsion is a draft, not sent: "+
		"send it (crm send expulsion-invitation), or delete it (crm campaign delete expulsion-invitation)") {
		t.Errorf("a second invitation while the first is a draft: exit %d, %q", code, errOut)
	}
	mustRun(t, db, "campaign", "delete", "expulsion-invitation")
	out = mustRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+tpl, "--outbox", outbox,
		"--at", day+" 06:00", "--public-url", "https://asso.example.org")
	if !strings.Contains(out, "will be sent at "+day+" 06:00") || !strings.Contains(out, "nothing was sent: it stays scheduled") {
		t.Errorf("invite --at --outbox printed %q", out)
	}
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "campaign", "list", "--format", "csv"))).ReadAll()
	if err != nil || len(recs) != 2 || recs[1][3] != "scheduled" {
		t.Errorf("campaign list: %q %v", recs, err)
	}
	if show := mustRun(t, db, "campaign", "show", "expulsion-invitation"); !strings.Contains(show, "status        scheduled") {
		t.Errorf("campaign show says another status than list:\n%s", show)
	}
}

// Attendance shows in events show (counts and a column, in every
// format), the people in the order they answered; a no-show who never
// said yes is recorded with a note; an unknown address in a CSV names
// its line; supporters show names the events.
func TestEventsAttendanceShown(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	ctx := context.Background()
	// The answers were given before the event, which is over now: made
	// with the library at a clock before it.
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	before := crm.WithClock(func() time.Time { return start.Add(-24 * time.Hour) })
	cdb, err := crm.Open(ctx, db, before)
	if err != nil {
		t.Fatal(err)
	}
	if err := cdb.CreateEvent(ctx, &crm.Event{Name: "distribution", Title: "Distribution", StartsAt: start, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		email, last string
		answer      crm.Answer
		guests      int
	}{
		{"ana@example.org", "Zola", crm.AnswerYes, 0}, {"ben@example.org", "Abel", crm.AnswerYes, 1},
		{"cy@example.org", "Cohen", crm.AnswerMaybe, 0}, {"dan@example.org", "Diop", crm.AnswerNo, 0},
		{"eve@example.org", "Eyre", "", 0}, {"zed@example.org", "Zeller", "", 0},
	} {
		s := &crm.Supporter{Email: p.email, LastName: p.last}
		if err := cdb.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		if p.answer != "" {
			if _, err := cdb.AnswerEvent(ctx, crm.RSVPRequest{Event: "distribution", SupporterID: s.ID, Answer: p.answer,
				Guests: p.guests}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cdb.Close()

	list := filepath.Join(dir, "presence.csv")
	os.WriteFile(list, []byte("email,status\nana@example.org,present\nnobody@example.org,present\n"), 0o600)
	if code, _, errOut := crmRun(t, db, "events", "attendance", "distribution", "--file", list); code != 1 ||
		!strings.Contains(errOut, "--file "+list+` line 3: no supporter with email "nobody@example.org"`) ||
		!strings.Contains(errOut, "nothing recorded") {
		t.Errorf("an unknown address in the CSV: exit %d, %q", code, errOut)
	}
	code, out, errOut := crmRun(t, db, "events", "attendance", "distribution", "--attended", "ana@example.org",
		"--attended", "eve@example.org", "--no-show", "ben@example.org", "--no-show", "zed@example.org")
	if code != 0 || !strings.Contains(out, "2 attended, 2 no-show recorded") ||
		!strings.Contains(errOut, "note: zed@example.org (--no-show) never answered yes or maybe to distribution: recorded as no-show all the same") ||
		strings.Contains(errOut, "ben@example.org") {
		t.Errorf("attendance: exit %d, %q, %q", code, out, errOut)
	}

	show := mustRun(t, db, "events", "show", "distribution")
	for _, want := range []string{"attended     2", "no_show      2", "ATTENDANCE"} {
		if !strings.Contains(show, want) {
			t.Errorf("events show lacks %q:\n%s", want, show)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "events", "show", "distribution", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, strings.Join([]string{r[0], r[1], r[5], r[7]}, " "))
	}
	want := []string{"yes  ana@example.org attended", "yes 1 ben@example.org no-show", "maybe  cy@example.org ",
		"no  dan@example.org ", "  eve@example.org attended", "  zed@example.org no-show"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events show --format csv:\n%q\nwant\n%q", got, want)
	}
	var details struct {
		Attendance struct {
			Attended int `json:"attended"`
			NoShow   int `json:"no_show"`
		}
		People []struct {
			Email           string
			Attendance      string
			WaitingPosition int `json:"waiting_position"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "events", "show", "distribution", "--format", "json")), &details); err != nil ||
		details.Attendance.Attended != 2 || details.Attendance.NoShow != 2 || len(details.People) != 6 ||
		details.People[1].WaitingPosition != 1 || details.People[4].Attendance != "attended" {
		t.Errorf("events show --format json: %+v %v", details, err)
	}
	xlsx := filepath.Join(dir, "people.xlsx")
	mustRun(t, db, "events", "show", "distribution", "--out", xlsx)
	if b, err := os.ReadFile(xlsx); err != nil || !strings.HasPrefix(string(b), "PK") {
		t.Errorf("events show --out people.xlsx: %v", err)
	}

	if out := mustRun(t, db, "supporters", "show", "ben@example.org"); !strings.Contains(out, "event.distribution") ||
		!strings.Contains(out, "Distribution: yes (+1) waiting, no-show") {
		t.Errorf("supporters show:\n%s", out)
	}
	var profile struct {
		Events struct {
			Answers    []struct{ Event, EventTitle string } `json:"answers"`
			Attendance []struct {
				Event      string `json:"event"`
				EventTitle string `json:"event_title"`
			} `json:"attendance"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "supporters", "show", "eve@example.org", "--format", "json")), &profile); err != nil ||
		len(profile.Events.Attendance) != 1 || profile.Events.Attendance[0].Event != "distribution" ||
		profile.Events.Attendance[0].EventTitle != "Distribution" {
		t.Errorf("supporters show --format json: %+v %v", profile, err)
	}
}
