package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// tomorrow is tomorrow's date in the default time zone of the settings.
func tomorrow(t *testing.T) string {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	return time.Now().In(paris).AddDate(0, 0, 1).Format("2006-01-02")
}

// parisZone is the abbreviation of the settings' default time zone on
// day: CET or CEST.
func parisZone(t *testing.T, day string) string {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	d, err := time.ParseInLocation("2006-01-02 15:04", day+" 12:00", paris)
	if err != nil {
		t.Fatal(err)
	}
	return d.Format("MST")
}

// outboxFiles returns the text of the emails in dir.
func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func countContaining(texts []string, part string) int {
	k := 0
	for _, s := range texts {
		if strings.Contains(s, part) {
			k++
		}
	}
	return k
}

// The eviction call from the command line: create the action, take
// answers by phone (one waits: it is full), show who comes with their
// phone, let the waiting list in, remind, cancel, and record attendance.
func TestEventsFromTheCommandLine(t *testing.T) {
	t.Setenv("RESEND_API_KEY", "")
	dir := t.TempDir()
	db := crmtest.Database(t)
	outbox := filepath.Join(dir, "outbox")
	day := tomorrow(t)
	zone := parisZone(t, day)
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "supporters", "add", "--email", "ana@example.org", "--first-name", "Ana", "--phone", "06 11 22 33 44")
	mustRun(t, db, "supporters", "add", "--email", "ben@example.org", "--first-name", "Ben", "--lang", "en")
	mustRun(t, db, "supporters", "add", "--email", "cy@example.org", "--first-name", "Cy")

	out := mustRun(t, db, "events", "create", "expulsion", "--title", "Expulsion rue des Lilas", "--start", day+" 07:30",
		"--end", "09:00", "--place", "12 rue des Lilas", "--city", "Calais", "--postcode", "62100", "--capacity", "2",
		"--kind", "action")
	if !strings.Contains(out, "created action expulsion: Expulsion rue des Lilas, "+day+" 07:30") {
		t.Errorf("create printed %q", out)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"events", "create", "x", "--title", "X", "--start", "demain"}, 2, `--start "demain": want a date and a time`},
		{[]string{"events", "create", "x", "--title", "X", "--start", day}, 2, "--start"},
		{[]string{"events", "create", "x", "--title", "X", "--start", day + " 10:00", "--end", "09:00"}, 1,
			`--end "09:00" (` + day + ` 09:00 ` + zone + `): not after the start, --start "` + day + ` 10:00" (` + day + ` 10:00 ` + zone + `)`},
		{[]string{"events", "edit", "expulsion", "--start", day + " 10:00"}, 1,
			`--start "` + day + ` 10:00" (` + day + ` 10:00 ` + zone + `): not before the end, ` + day + ` 09:00 ` + zone + `: give --end too`},
		{[]string{"events", "edit", "expulsion", "--end", "07:00"}, 1,
			`--end "07:00" (` + day + ` 07:00 ` + zone + `): not after the start, ` + day + ` 07:30 ` + zone},
		{[]string{"events", "create", "x", "--title", "X", "--start", day + " 10:00", "--kind", "fete"}, 1, `--kind "fete": want action or event`},
		{[]string{"events", "create", "x", "--start", day + " 10:00"}, 2, "missing required flag --title"},
		{[]string{"events", "create", "expulsion", "--title", "X", "--start", day + " 10:00"}, 1, "already exists"},
		{[]string{"events", "answer", "expulsion", "ana@example.org", "perhaps"}, 2, `"perhaps": want yes, no or maybe`},
		{[]string{"events", "answer", "expulsion", "ana@example.org", "yes", "--guests", "30"}, 1, `--guests "30"`},
		{[]string{"events", "answer", "expulsion", "nobody@example.org", "yes"}, 1, "no supporter"},
		{[]string{"events", "edit", "expulsion"}, 2, "nothing to change"},
		{[]string{"events", "show", "nope"}, 1, "not found"},
	} {
		code, _, errOut := crmRun(t, db, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("crm %s: exit %d, %q; want %d, %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}

	if out := mustRun(t, db, "events", "answer", "expulsion", "ana@example.org", "yes", "--guests", "1"); !strings.Contains(out, "yes (+1); 2 coming, 0 place(s) left") {
		t.Errorf("answer yes printed %q", out)
	}
	if out := mustRun(t, db, "events", "answer", "expulsion", "ben@example.org", "oui"); !strings.Contains(out, "on the waiting list") {
		t.Errorf("answer of the full event printed %q", out)
	}
	mustRun(t, db, "events", "answer", "expulsion", "cy@example.org", "maybe")
	if out := mustRun(t, db, "events", "list", "--format", "csv"); !strings.Contains(out, "expulsion,"+day+" 07:30") ||
		!strings.Contains(out, ",action,false,scheduled,1,1,1,0,1,0,Expulsion rue des Lilas") {
		t.Errorf("events list:\n%s", out)
	}
	show := mustRun(t, db, "events", "show", "expulsion")
	for _, want := range []string{"places_left  0", "06 11 22 33 44", "ben@example.org", "12 rue des Lilas, 62100 Calais"} {
		if !strings.Contains(show, want) {
			t.Errorf("events show lacks %q:\n%s", want, show)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(mustRun(t, db, "events", "show", "expulsion", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != "answer,waiting,guests,first_name,last_name,email,phone,attendance" ||
		recs[1][0] != "yes" || recs[1][1] != "" || recs[1][6] != "06 11 22 33 44" ||
		recs[2][0] != "yes" || recs[2][1] != "1" || recs[2][5] != "ben@example.org" || recs[3][0] != "maybe" {
		t.Errorf("events show --format csv: %q", recs)
	}
	xlsx := filepath.Join(dir, "people.xlsx")
	mustRun(t, db, "events", "show", "expulsion", "--out", xlsx)
	if b, err := os.ReadFile(xlsx); err != nil || !strings.HasPrefix(string(b), "PK") {
		t.Errorf("events show --out people.xlsx: %v", err)
	}
	var details struct {
		Answers struct {
			Coming, Waiting int
		}
		People []struct{ Email, Phone string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "events", "show", "expulsion", "--format", "json")), &details); err != nil ||
		details.Answers.Coming != 2 || details.Answers.Waiting != 1 || len(details.People) != 3 {
		t.Errorf("events show --format json: %+v %v", details, err)
	}

	// Ana cannot come: Ben is let in, and told at once.
	out = mustRun(t, db, "events", "answer", "expulsion", "ana@example.org", "no", "--outbox", outbox)
	if !strings.Contains(out, "1 party(ies) let in from the waiting list") || !strings.Contains(out, "wrote 1 email to ") {
		t.Errorf("answer no printed %q", out)
	}
	if mails := outboxFiles(t, outbox); len(mails) != 1 || !strings.Contains(mails[0], "A place freed up") {
		t.Fatalf("outbox after the place freed: %q", mails)
	}

	// Reminders: once per reminder.
	out = mustRun(t, db, "events", "remind", "expulsion", "--outbox", outbox)
	if !strings.Contains(out, "reminder 1 of expulsion: 2 email(s) queued") || !strings.Contains(out, "wrote 2 emails to ") {
		t.Errorf("remind printed %q", out)
	}
	if code, _, errOut := crmRun(t, db, "events", "remind", "expulsion", "--outbox", outbox); code != 1 ||
		!strings.Contains(errOut, "reminder 1, made") || !strings.Contains(errOut, "--again") {
		t.Errorf("remind again at once: exit %d, %q", code, errOut)
	}
	tpl := filepath.Join(dir, "rappel.fr.md")
	os.WriteFile(tpl, []byte("---\nsubject: Demain {{.Event.When}}\n---\nOn compte sur vous, {{.FirstName}}.\n"), 0o600)
	out = mustRun(t, db, "events", "remind", "expulsion", "--again", "--template", "fr="+tpl)
	if !strings.Contains(out, "reminder 2 of expulsion: 2 email(s) queued") || !strings.Contains(out, "2 email(s) wait: no sender") {
		t.Errorf("remind --again without a sender printed %q", out)
	}
	// Run again with a sender: reminder 2's emails go, no reminder 3.
	out = mustRun(t, db, "events", "remind", "expulsion", "--outbox", outbox)
	if !strings.Contains(out, "reminder 2 of expulsion was made") || !strings.Contains(out, "wrote 2 emails to ") {
		t.Errorf("remind resumed printed %q", out)
	}
	mails := outboxFiles(t, outbox)
	if len(mails) != 5 || countContaining(mails, "On compte sur vous") != 2 || countContaining(mails, "Subject: Reminder") != 1 {
		t.Errorf("%d emails in the outbox, %d of reminder 2, %d reminder 1 in English", len(mails),
			countContaining(mails, "On compte sur vous"), countContaining(mails, "Subject: Reminder"))
	}
	bad := filepath.Join(dir, "bad.fr.md")
	os.WriteFile(bad, []byte("---\nsubject: x\n---\n{{.Event.Date}}\n"), 0o600)
	if code, _, errOut := crmRun(t, db, "events", "remind", "expulsion", "--again", "--template", "fr="+bad); code != 1 ||
		!strings.Contains(errOut, `bad.fr.md line 4: unknown field "Date" of .Event`) {
		t.Errorf("a bad reminder template: exit %d, %q", code, errOut)
	}

	// Cancellation: once.
	out = mustRun(t, db, "events", "cancel", "expulsion", "--outbox", outbox, "--yes")
	if !strings.Contains(out, "cancelled event expulsion: 2 email(s) queued") || !strings.Contains(out, "wrote 2 emails to ") {
		t.Errorf("cancel printed %q", out)
	}
	if out := mustRun(t, db, "events", "cancel", "expulsion", "--outbox", outbox); !strings.Contains(out, "already cancelled") ||
		strings.Contains(out, "wrote") {
		t.Errorf("cancel again printed %q", out)
	}
	if mails := outboxFiles(t, outbox); len(mails) != 7 || countContaining(mails, "Ne vous d") != 1 ||
		countContaining(mails, "Please do not come") != 1 {
		t.Errorf("%d emails after the cancellation, want 2 more, one in each language", len(mails))
	}
	if code, _, errOut := crmRun(t, db, "events", "answer", "expulsion", "cy@example.org", "yes"); code != 1 ||
		!strings.Contains(errOut, "was cancelled") {
		t.Errorf("an answer to a cancelled event: exit %d, %q", code, errOut)
	}
	if out := mustRun(t, db, "events", "list"); strings.Contains(out, "expulsion") {
		t.Errorf("a cancelled event in the list of events to come:\n%s", out)
	}
	if out := mustRun(t, db, "events", "list", "--all"); !strings.Contains(out, "cancelled") {
		t.Errorf("events list --all:\n%s", out)
	}

	// Attendance, after an event.
	mustRun(t, db, "events", "create", "distribution", "--title", "Distribution", "--start", "2026-01-10 10:00")
	if code, _, errOut := crmRun(t, db, "events", "attendance", "expulsion", "--attended", "ana@example.org"); code != 1 ||
		!strings.Contains(errOut, "has not started") {
		t.Errorf("attendance before the event: exit %d, %q", code, errOut)
	}
	if code, _, errOut := crmRun(t, db, "events", "attendance", "distribution", "--attended", "ana@example.org",
		"--no-show", "nobody@example.org"); code != 1 || !strings.Contains(errOut, "nothing recorded") {
		t.Errorf("attendance of an unknown address: exit %d, %q", code, errOut)
	}
	list := filepath.Join(dir, "presence.csv")
	os.WriteFile(list, []byte("\ufeffNom;Email;Présence\nCy;cy@example.org;présent\nBen;ben@example.org;absent\n;;\n"), 0o600)
	out = mustRun(t, db, "events", "attendance", "distribution", "--attended", "ana@example.org", "--file", list)
	if !strings.Contains(out, "2 attended, 1 no-show recorded") {
		t.Errorf("attendance printed %q", out)
	}
	if got := mustRun(t, db, "supporters", "count", "--segment", "attended.count>=1"); got != "2\n" {
		t.Errorf("attended.count>=1 counts %q", got)
	}
	os.WriteFile(list, []byte("email,status\ncy@example.org,peut-être\n"), 0o600)
	if code, _, errOut := crmRun(t, db, "events", "attendance", "distribution", "--file", list); code != 2 ||
		!strings.Contains(errOut, "line 2: status \"peut-être\"") {
		t.Errorf("a bad status: exit %d, %q", code, errOut)
	}
}

// crm events invite sends the call through the campaign engine, each
// email with its own answer links; a second call to the same event
// invites nobody twice; --at schedules it.
func TestEventsInviteFromTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	db := crmtest.Database(t)
	day := tomorrow(t)
	srv := resendtest.NewServer(resendtest.Options{})
	t.Cleanup(srv.Close)
	t.Setenv("RESEND_BASE_URL", srv.BaseURL())
	t.Setenv("RESEND_API_KEY", "")
	mustRun(t, db, "settings", "set", "from", "Asso <news@asso.example.org>")
	mustRun(t, db, "lists", "create", "alertes")
	for _, p := range [][]string{{"ana@example.org", "62100", "fr"}, {"ben@example.org", "62200", "en"}, {"cy@example.org", "59000", "fr"}} {
		mustRun(t, db, "supporters", "add", "--email", p[0], "--postcode", p[1], "--lang", p[2], "--interest", "terrain")
		mustRun(t, db, "subscribe", p[0], "--list", "alertes")
	}
	mustRun(t, db, "events", "create", "expulsion", "--title", "Expulsion", "--start", day+" 07:30", "--kind", "action")
	t.Setenv("RESEND_API_KEY", resendtest.APIKey)
	fr, en := filepath.Join(dir, "appel.fr.md"), filepath.Join(dir, "appel.en.md")
	os.WriteFile(fr, []byte("---\nsubject: \"{{.Event.Title}} : {{.Event.When}}\"\n---\n[Je viens]({{.RSVPYes}}) [Agenda]({{.CalendarURL}})\n"), 0o600)
	os.WriteFile(en, []byte("---\nsubject: \"{{.Event.Title}}: {{.Event.When}}\"\n---\n[I am coming]({{.RSVPYes}})\n"), 0o600)
	if code, _, errOut := crmRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+fr, "--yes"); code != 2 ||
		!strings.Contains(errOut, "--public-url") {
		t.Errorf("invite without a public URL: exit %d, %q", code, errOut)
	}
	out := mustRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--segment", "interest:terrain AND postcode:62*",
		"--template", "fr="+fr, "--template", "en="+en, "--yes", "--public-url", "https://asso.example.org")
	if !strings.Contains(out, "invitation expulsion-invitation: 2 sent, 0 failed, 0 skipped") {
		t.Errorf("invite printed %q", out)
	}
	emails := srv.Emails()
	if len(emails) != 2 || !strings.Contains(emails[0].Text, "https://asso.example.org/rsvp?token=") ||
		!strings.Contains(emails[0].Text, "/events/expulsion.ics?token=") {
		t.Fatalf("invitations: %+v", emails)
	}
	if emails[1].To[0] != "ben@example.org" || !strings.HasPrefix(emails[1].Subject, "Expulsion: ") {
		t.Errorf("English invitation: %q", emails[1].Subject)
	}
	out = mustRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--segment", "postcode:62*",
		"--template", "fr="+fr, "--yes", "--public-url", "https://asso.example.org")
	if !strings.Contains(out, "nobody to invite") || len(srv.Emails()) != 2 {
		t.Errorf("a second call to the same people printed %q", out)
	}
	out = mustRun(t, db, "events", "invite", "expulsion", "--list", "alertes", "--template", "fr="+fr,
		"--at", day+" 06:00", "--public-url", "https://asso.example.org")
	if !strings.Contains(out, "invitation expulsion-invitation-2 to 1 recipient (fr 1) will be sent at "+day+" 06:00") {
		t.Errorf("invite --at printed %q", out)
	}
	show := mustRun(t, db, "events", "show", "expulsion")
	if !strings.Contains(show, "expulsion-invitation (sent, 2 recipients)") || !strings.Contains(show, "expulsion-invitation-2 (scheduled "+day+" 06:00 ") ||
		!strings.Contains(show, ", 1 recipient)") {
		t.Errorf("events show lists the invitations:\n%s", show)
	}
	if out := mustRun(t, db, "events", "cancel", "expulsion", "--yes", "--public-url", "https://asso.example.org"); !strings.Contains(out, "invitation expulsion-invitation-2 is no longer scheduled") {
		t.Errorf("cancel printed %q", out)
	}
}
