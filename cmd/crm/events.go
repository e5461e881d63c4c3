package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

// eventsCommand is crm events: actions and planned events, the calls to
// them, the answers, reminders, cancellation and attendance.
func eventsCommand() *cli.Command {
	outbox := &cli.StringFlag{Name: "outbox", Usage: "write the emails to this folder as .eml files instead of sending them through Resend"}
	from := &cli.StringFlag{Name: "from", EnvVars: []string{"CRM_FROM"}, Usage: "sender of the emails (default: the from setting)"}
	template := &cli.StringSliceFlag{Name: "template", Usage: "[LANG=]FILE, the email as a Markdown template per language " +
		"(repeatable; the first is for other languages; default: the built-in email)"}
	yes := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:    "events",
		Aliases: []string{"event"},
		Usage:   "actions and events: create, invite, follow the answers, remind, cancel, record attendance",
		Description: "Times are read and shown in the time zone of the settings (crm settings set time-zone).\n" +
			"Emails about an event (a place freed, a new time or place, reminders, the cancellation) go through Resend (RESEND_API_KEY)\n" +
			"or into --outbox DIR at once; without either they wait, and crm serve, or crm send --due with\n" +
			"RESEND_API_KEY or --outbox DIR, sends them.",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create an action (urgent) or a planned event",
				ArgsUsage: "NAME",
				Flags:     eventFlags(true),
				Action:    withDB(1, 1, createEvent),
			},
			{
				Name:      "edit",
				Usage:     "change an event; a new time or place is told to those who answered yes, maybe or wait; a larger capacity lets the waiting list in, and tells them",
				ArgsUsage: "NAME",
				Description: "A change of --start, --end, --place, --city or --postcode queues one email to each person who\n" +
					"answered yes (waiting list included) or maybe, saying the new time or place and what it was, with\n" +
					"their answer links; --no-notify tells nobody. Several changes not sent yet go as one email, the last.",
				Flags: append(eventFlags(false), outbox, from, publicURLFlag(),
					&cli.BoolFlag{Name: "no-notify", Aliases: []string{"quiet"}, Usage: "tell nobody of a new time or place"},
					&cli.StringSliceFlag{Name: "template", Usage: "[LANG=]FILE, the email telling of a new time or place as a " +
						"Markdown template per language (repeatable; the first is for other languages; default: the built-in email)"}),
				Action: withDB(1, 1, editEvent),
			},
			{
				Name:  "list",
				Usage: "list the events to come (name, when, kind, answers, places left)",
				Flags: append(outputFlags(),
					&cli.BoolFlag{Name: "all", Usage: "also the past and cancelled events"}),
				Action: withReadDB(0, 0, listEvents),
			},
			{
				Name: "show",
				Usage: "show an event: details, answers, places left, attendance, and the people: coming (with their phone), " +
					"waiting, maybe, no, each in the order they answered",
				ArgsUsage: "NAME",
				Description: "--format csv, excel-csv and xlsx (and --out) give the people only, one row each, to call or print:\n" +
					"answer (yes, maybe, no; empty for someone recorded at the event without answering), waiting (the place\n" +
					"on the waiting list of a yes that waits), guests, names, email, phone, attendance (attended, no-show).\n" +
					"json gives everything.",
				Flags:  outputFlags(),
				Action: withReadDB(1, 1, showEvent),
			},
			{
				Name:      "invite",
				Usage:     "send the call to the event to a list's subscribers: a campaign whose emails carry answer links",
				ArgsUsage: "NAME",
				Description: "Templates may use {{.Event.Title}}, {{.Event.When}}, {{.Event.Place}}, {{.Event.MapURL}},\n" +
					"{{.RSVPYes}}, {{.RSVPNo}}, {{.RSVPMaybe}} (each person's own answer links) and {{.CalendarURL}}.\n" +
					"Each template must carry at least one answer link.\n" +
					"Nobody is invited twice to one event: a second invitation skips those of the first, and is refused\n" +
					"while another is a draft, scheduled or being sent (crm send NAME sends it, crm campaign delete NAME removes it).\n" +
					"It is sent at once (after a question on a terminal, unless --yes), or at --at by crm serve or crm send --due.\n" +
					"--outbox DIR writes the emails to DIR as .eml files to look at, sends nothing and leaves the invitation\n" +
					"a draft (or scheduled, with --at): crm send NAME sends it.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "list", Usage: "the list whose subscribers are invited", Required: true},
					&cli.StringFlag{Name: "segment", Usage: "only subscribers matching this expression, e.g. 'interest:terrain AND postcode:62*'"},
					&cli.StringSliceFlag{Name: "template", Usage: "[LANG=]FILE, a Markdown template per language (repeatable; the first is the default)", Required: true},
					&cli.StringFlag{Name: "from", Usage: `sender, e.g. "Asso <news@asso.org>" (default: the from setting)`},
					&cli.StringFlag{Name: "subject", Usage: "subject (default: the templates' subject: lines)"},
					&cli.StringFlag{Name: "at", Usage: `send it at this time instead of now: "2026-12-05 06:00"`},
					&cli.StringFlag{Name: "name", Usage: "the invitation's campaign name (default: NAME-invitation, then NAME-invitation-2...)"},
					&cli.StringFlag{Name: "outbox", Usage: "write the emails to this folder as .eml files instead of sending them; " +
						"nothing is sent or recorded: the invitation stays a draft (or scheduled)"},
					yes,
					publicURLFlag(),
				},
				Action: withDB(1, 1, inviteToEvent),
			},
			{
				Name:      "answer",
				Usage:     "record a person's answer, given by phone or in person",
				ArgsUsage: "NAME EMAIL yes|no|maybe",
				Flags: []cli.Flag{&cli.IntFlag{Name: "guests", Usage: "people coming with them (with yes)"},
					outbox, from, publicURLFlag()},
				Action: withDB(3, 3, answerEvent),
			},
			{
				Name:      "remind",
				Usage:     "remind those who answered yes or maybe (each reminder once per person)",
				ArgsUsage: "NAME",
				Description: "Run again within the hour, it sends what the last reminder has left to send and makes\n" +
					"no new one; --again makes a new one.",
				Flags: []cli.Flag{template, &cli.BoolFlag{Name: "again", Usage: "make a new reminder even if the last is less than an hour old"},
					yes, outbox, from, publicURLFlag()},
				Action: withDB(1, 1, remindEvent),
			},
			{
				Name:      "cancel",
				Usage:     "cancel an event and tell those who answered yes (waiting list included) or maybe, once",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{template, yes, outbox, from, publicURLFlag()},
				Action:    withDB(1, 1, cancelEvent),
			},
			{
				Name:      "attendance",
				Usage:     "record, after the event, who came and who did not",
				ArgsUsage: "NAME",
				Description: "--file reads a CSV with an email column and, optionally, a status column\n" +
					"(attended or no-show; present/absent and oui/non too); without one, everyone in it came.",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "attended", Usage: "EMAIL of someone who came (repeatable)"},
					&cli.StringSliceFlag{Name: "no-show", Usage: "EMAIL of someone who said yes and did not come (repeatable)"},
					&cli.StringFlag{Name: "file", Usage: "a CSV `FILE` with an email column and an optional status column"},
				},
				Action: withDB(1, 1, recordAttendance),
			},
		},
	}
}

// eventFlags are the flags of an event's fields; create requires a title
// and a start.
func eventFlags(create bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "title", Usage: "title (French, and the default)", Required: create},
		&cli.StringFlag{Name: "title-en", Usage: "title in English"},
		&cli.StringFlag{Name: "start", Usage: `when it starts: "2026-12-05 07:30" or "05/12/2026 07:30"`, Required: create},
		&cli.StringFlag{Name: "end", Usage: `when it ends: "2026-12-05 09:30", or "09:30" the same day (edit: "" removes it)`},
		&cli.StringFlag{Name: "description", Usage: "what to know or bring (French)"},
		&cli.StringFlag{Name: "description-en", Usage: "description in English"},
		&cli.StringFlag{Name: "place", Usage: `street address: "12 rue des Lilas"`},
		&cli.StringFlag{Name: "city", Usage: "city"},
		&cli.StringFlag{Name: "postcode", Usage: "postcode"},
		&cli.IntFlag{Name: "capacity", Usage: "places, guests included (0: no limit); past it, yes answers wait on a list"},
		&cli.StringFlag{Name: "kind", Usage: "action (urgent) or event (planned)", Value: defaultKind(create)},
		&cli.BoolFlag{Name: "public", Usage: "show it on the public events page and calendar (edit: --public=false hides it)"},
	}
}

func defaultKind(create bool) string {
	if create {
		return string(crm.KindEvent)
	}
	return ""
}

// settingsLocation returns the time zone of the settings.
func settingsLocation(c *cli.Context, db *crm.DB) (*time.Location, error) {
	st, err := db.Settings(c.Context)
	if err != nil {
		return nil, err
	}
	return st.Location(), nil
}

// clockRE is a time of day alone: 09:30, 9h30.
var clockRE = regexp.MustCompile(`^(\d{1,2})\s*[:hH]\s*(\d{2})$`)

// eventTime reads the time of flag in loc: a date with a time, or for
// --end a time of day alone, on the day of start.
func eventTime(c *cli.Context, flag string, loc *time.Location, start time.Time) (time.Time, error) {
	v := strings.TrimSpace(c.String(flag))
	if m := clockRE.FindStringSubmatch(v); m != nil && flag == "end" && !start.IsZero() {
		h, _ := strconv.Atoi(m[1])
		min, _ := strconv.Atoi(m[2])
		if h < 24 && min < 60 {
			d := start.In(loc)
			return time.Date(d.Year(), d.Month(), d.Day(), h, min, 0, 0, loc).UTC(), nil
		}
	}
	t, err := crm.ParseDate(v, loc)
	if err != nil || !strings.Contains(v, ":") {
		return time.Time{}, usagef("--%s %q: want a date and a time such as \"2026-12-05 07:30\"", flag, c.String(flag))
	}
	return t, nil
}

// checkEventTimes refuses an end that is not after the start, saying
// both as typed (the flag's value, or the stored time) and in loc: the
// library would say them in UTC.
func checkEventTimes(c *cli.Context, loc *time.Location, start, end time.Time) error {
	if end.IsZero() || end.After(start) {
		return nil
	}
	said := func(flag string, t time.Time) string {
		if c.IsSet(flag) {
			return fmt.Sprintf("--%s %q (%s)", flag, c.String(flag), localTime(t, loc))
		}
		return localTime(t, loc)
	}
	if !c.IsSet("end") {
		return fmt.Errorf("%s: not before the end, %s: give --end too", said("start", start), said("end", end))
	}
	return fmt.Errorf("%s: not after the start, %s", said("end", end), said("start", start))
}

// localTime shows t in loc as the other commands do.
func localTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func createEvent(c *cli.Context, db *crm.DB) error {
	loc, err := settingsLocation(c, db)
	if err != nil {
		return err
	}
	e := &crm.Event{Name: c.Args().First(), Title: c.String("title"), TitleEN: c.String("title-en"),
		Description: c.String("description"), DescriptionEN: c.String("description-en"), Address: c.String("place"),
		City: c.String("city"), Postcode: c.String("postcode"), Capacity: c.Int("capacity"),
		Kind: crm.EventKind(c.String("kind")), Public: c.Bool("public")}
	if e.StartsAt, err = eventTime(c, "start", loc, time.Time{}); err != nil {
		return err
	}
	if c.String("end") != "" {
		if e.EndsAt, err = eventTime(c, "end", loc, e.StartsAt); err != nil {
			return err
		}
	}
	if err := checkEventTimes(c, loc, e.StartsAt, e.EndsAt); err != nil {
		return err
	}
	if err := db.CreateEvent(c.Context, e); err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "created %s %s: %s, %s", e.Kind, e.Name, e.Title, localTime(e.StartsAt, loc))
	if p := e.Place(); p != "" {
		fmt.Fprintf(w, ", %s", p)
	}
	fmt.Fprintf(w, "\ninvite with: crm events invite %s --list LIST --template fr=FILE\n", e.Name)
	if !e.StartsAt.After(time.Now()) {
		fmt.Fprintln(c.App.ErrWriter, "note: it starts in the past: it takes no answers, only attendance")
	}
	return nil
}

func editEvent(c *cli.Context, db *crm.DB) error {
	loc, err := settingsLocation(c, db)
	if err != nil {
		return err
	}
	var edit crm.EventEdit
	stringFlags(c, map[string]**string{"title": &edit.Title, "title-en": &edit.TitleEN, "description": &edit.Description,
		"description-en": &edit.DescriptionEN, "place": &edit.Address, "city": &edit.City, "postcode": &edit.Postcode})
	var cur *crm.Event // as stored: the times not given stay
	if c.IsSet("start") || c.IsSet("end") {
		if cur, err = db.GetEvent(c.Context, c.Args().First()); err != nil {
			return err
		}
	}
	if c.IsSet("start") {
		t, err := eventTime(c, "start", loc, time.Time{})
		if err != nil {
			return err
		}
		edit.StartsAt = &t
	}
	if c.IsSet("end") {
		var t time.Time
		if c.String("end") != "" {
			start := cur.StartsAt
			if edit.StartsAt != nil {
				start = *edit.StartsAt
			}
			if t, err = eventTime(c, "end", loc, start); err != nil {
				return err
			}
		}
		edit.EndsAt = &t
	}
	if cur != nil {
		start, end := cur.StartsAt, cur.EndsAt
		if edit.StartsAt != nil {
			start = *edit.StartsAt
		}
		if edit.EndsAt != nil {
			end = *edit.EndsAt
		}
		if err := checkEventTimes(c, loc, start, end); err != nil {
			return err
		}
	}
	if c.IsSet("capacity") {
		v := c.Int("capacity")
		edit.Capacity = &v
	}
	if c.IsSet("kind") {
		v := crm.EventKind(c.String("kind"))
		edit.Kind = &v
	}
	if c.IsSet("public") {
		v := c.Bool("public")
		edit.Public = &v
	}
	if edit == (crm.EventEdit{}) {
		return usagef("events edit: nothing to change: give --title, --start, --end, --place, --capacity... (see --help)")
	}
	tpls, err := readTemplates(c)
	if err != nil {
		return err
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, from, err := eventSender(c, db, n, "events edit")
	if err != nil {
		return err
	}
	res, err := n.EditEventWith(c.Context, c.Args().First(), edit, newsletter.EditOptions{Quiet: c.Bool("no-notify"),
		Templates: tpls})
	if err != nil {
		return campaignError(c, err)
	}
	e, w := res.Event, c.App.Writer
	fmt.Fprintf(w, "changed event %s: %s, %s", e.Name, e.Title, localTime(e.StartsAt, loc))
	if p := e.Place(); p != "" {
		fmt.Fprintf(w, ", %s", p)
	}
	fmt.Fprintln(w)
	what := "" // what people are told changed
	switch {
	case res.TimeChanged && res.PlaceChanged:
		what = "time and place"
	case res.TimeChanged:
		what = "time"
	case res.PlaceChanged:
		what = "place"
	}
	switch {
	case what == "":
	case c.Bool("no-notify"):
		fmt.Fprintf(w, "new %s: nobody was told (--no-notify)\n", what)
	case len(res.Notices) == 0:
		fmt.Fprintf(w, "new %s: nobody has answered yes, maybe or waits: nobody to tell\n", what)
	default:
		fmt.Fprintf(w, "new %s: %d email(s) queued to those who answered yes, maybe or wait\n", what, len(res.Notices))
	}
	if len(res.Promoted) > 0 {
		fmt.Fprintf(w, "%d party(ies) let in from the waiting list\n", len(res.Promoted))
	}
	return sendEventNotices(c, n, sender, from, e, res.Promoted, res.Notices)
}

// eventSender returns the sender of a command's emails about an event
// (the --outbox folder, else Resend when RESEND_API_KEY is set, else nil)
// and their from address.
func eventSender(c *cli.Context, db *crm.DB, n *newsletter.Newsletter, command string) (newsletter.Sender, string, error) {
	sender, err := noticeSender(c, n, command)
	if err != nil || sender == nil {
		return nil, "", err
	}
	if c.String("outbox") != "" {
		warnNoPublicURL(c, n)
	}
	from, err := fromSetting(c, db, command, "emails")
	return sender, from, err
}

// notSentYet says that emails were queued with no sender to send them.
func notSentYet(c *cli.Context, k int) {
	fmt.Fprintf(c.App.Writer, "%d email(s) wait: no sender (RESEND_API_KEY, or --outbox DIR); crm serve, or crm send --due "+
		"with RESEND_API_KEY or --outbox DIR, sends them\n", k)
}

// tellPromoted sends the emails of those a change let in from the
// waiting list, or says they wait.
func tellPromoted(c *cli.Context, n *newsletter.Newsletter, sender newsletter.Sender, from string, e *crm.Event,
	promoted []crm.RSVP) error {
	if len(promoted) > 0 {
		fmt.Fprintf(c.App.Writer, "%d party(ies) let in from the waiting list\n", len(promoted))
	}
	return sendEventNotices(c, n, sender, from, e, promoted, nil)
}

// sendEventNotices sends the emails a change queued (those let in from
// the waiting list, and the notices ids) and says what it did in one
// report, or says they wait when there is no sender.
func sendEventNotices(c *cli.Context, n *newsletter.Newsletter, sender newsletter.Sender, from string, e *crm.Event,
	promoted []crm.RSVP, ids []int64) error {
	if len(promoted)+len(ids) == 0 {
		return nil
	}
	if sender == nil {
		notSentYet(c, len(promoted)+len(ids))
		return nil
	}
	total := &newsletter.NoticeReport{}
	add := func(rep *newsletter.NoticeReport) {
		total.Sent += rep.Sent
		total.Failed += rep.Failed
		total.Skipped += rep.Skipped
		total.Uncertain += rep.Uncertain
		total.Waiting += rep.Waiting
		total.Errors = append(total.Errors, rep.Errors...)
	}
	for _, r := range promoted {
		rep, err := n.SendNotices(c.Context, sender, newsletter.NoticeOptions{From: from, EventID: e.ID, SupporterID: r.SupporterID})
		if err != nil {
			return err
		}
		add(rep)
	}
	if len(ids) > 0 {
		rep, err := n.SendNotices(c.Context, sender, newsletter.NoticeOptions{From: from, IDs: ids})
		if err != nil {
			return err
		}
		add(rep)
	}
	return printNotices(c, total, c.String("outbox"))
}

// eventRow is an event with its answers, as list prints it.
type eventRow struct {
	Event   *crm.Event      `json:"event"`
	Answers crm.EventCounts `json:"answers"`
}

func listEvents(c *cli.Context, db *crm.DB) error {
	loc, err := settingsLocation(c, db)
	if err != nil {
		return err
	}
	f := crm.EventFilter{From: time.Now(), Scheduled: true}
	if c.Bool("all") {
		f = crm.EventFilter{}
	}
	es, err := db.Events(c.Context, f)
	if err != nil {
		return err
	}
	recs := records{columns: []sheet.Column{{Name: "name"}, {Name: "starts_at", Kind: sheet.KindDateTime}, {Name: "kind"},
		{Name: "public", Kind: sheet.KindBoolean}, {Name: "status"}, {Name: "yes", Kind: sheet.KindInteger},
		{Name: "guests", Kind: sheet.KindInteger}, {Name: "maybe", Kind: sheet.KindInteger}, {Name: "no", Kind: sheet.KindInteger},
		{Name: "waiting", Kind: sheet.KindInteger}, {Name: "places_left", Kind: sheet.KindInteger}, {Name: "title"}}}
	rows := []eventRow{}
	for _, e := range es {
		counts, err := db.CountAnswers(c.Context, e)
		if err != nil {
			return err
		}
		rows = append(rows, eventRow{Event: e, Answers: counts})
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(e.Name), localCell(e.StartsAt, loc), sheet.Text(string(e.Kind)),
			sheet.Bool(e.Public), sheet.Text(string(e.Status)), sheet.Int(int64(counts.Yes)), sheet.Int(int64(counts.Guests)),
			sheet.Int(int64(counts.Maybe)), sheet.Int(int64(counts.No)), sheet.Int(int64(counts.Waiting)), placesLeft(counts),
			sheet.Text(e.Title)})
	}
	recs.json = rows
	return printRecords(c, recs)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// comingCount is the yes answers, with their guests: "3 (+2)".
func comingCount(k crm.EventCounts) string {
	if k.Guests > 0 {
		return fmt.Sprintf("%d (+%d)", k.Yes, k.Guests)
	}
	return strconv.Itoa(k.Yes)
}

// placesLeft is the places left, an empty cell without a capacity.
func placesLeft(k crm.EventCounts) sheet.Value {
	if k.PlacesLeft < 0 {
		return sheet.Text("")
	}
	return sheet.Int(int64(k.PlacesLeft))
}

// localCell is the time t in loc as a cell, empty for a zero time.
func localCell(t time.Time, loc *time.Location) sheet.Value {
	if t.IsZero() {
		return sheet.Text("")
	}
	return sheet.DateTime(t.In(loc), "2006-01-02 15:04 MST")
}

// eventDetails is what show prints as JSON.
type eventDetails struct {
	Event       *crm.Event           `json:"event"`
	Answers     crm.EventCounts      `json:"answers"`
	Attendance  crm.AttendanceCounts `json:"attendance"`
	Invitations []eventInvitation    `json:"invitations"`
	People      []eventPerson        `json:"people"`
}

// eventPerson is a person of show's listing: their answer, its place on
// the waiting list, and their attendance.
type eventPerson struct {
	crm.EventAnswer
	// WaitingPosition is the place on the waiting list (from 1) of a yes
	// that waits, else 0.
	WaitingPosition int `json:"waiting_position,omitempty"`
}

type eventInvitation struct {
	Campaign   string `json:"campaign"`
	Status     string `json:"status"`
	Recipients int    `json:"recipients"`
}

func showEvent(c *cli.Context, db *crm.DB) error {
	loc, err := settingsLocation(c, db)
	if err != nil {
		return err
	}
	e, err := db.GetEvent(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	counts, err := db.CountAnswers(c.Context, e)
	if err != nil {
		return err
	}
	attendance, err := db.CountAttendance(c.Context, e)
	if err != nil {
		return err
	}
	people, err := db.EventPeople(c.Context, e)
	if err != nil {
		return err
	}
	d := eventDetails{Event: e, Answers: counts, Attendance: attendance, Invitations: []eventInvitation{},
		People: []eventPerson{}}
	position := 0
	for _, p := range people {
		ep := eventPerson{EventAnswer: p}
		if p.Waiting {
			position++
			ep.WaitingPosition = position
		}
		d.People = append(d.People, ep)
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	cs, err := n.Campaigns(c.Context)
	if err != nil {
		return err
	}
	for i := len(cs) - 1; i >= 0; i-- {
		if cp := cs[i]; cp.Event == e.Name {
			inv := eventInvitation{Campaign: cp.Name, Status: string(cp.Status), Recipients: cp.Recipients}
			if cp.Status == newsletter.StatusDraft {
				// As campaign list says: who would receive it now.
				st, err := n.CampaignStats(c.Context, cp.Name)
				if err != nil {
					return err
				}
				inv.Recipients = st.Recipients
				if !cp.ScheduledAt.IsZero() {
					inv.Status = "scheduled " + localTime(cp.ScheduledAt, loc)
				}
			}
			d.Invitations = append(d.Invitations, inv)
		}
	}
	peopleRecs := records{columns: []sheet.Column{{Name: "answer"}, {Name: "waiting", Kind: sheet.KindInteger},
		{Name: "guests", Kind: sheet.KindInteger}, {Name: "first_name"}, {Name: "last_name"}, {Name: "email"}, {Name: "phone"},
		{Name: "attendance"}}, json: d}
	for _, p := range d.People {
		waiting := sheet.Text("")
		if p.WaitingPosition > 0 {
			waiting = sheet.Int(int64(p.WaitingPosition))
		}
		peopleRecs.rows = append(peopleRecs.rows, []sheet.Value{sheet.Text(string(p.Answer)), waiting, sheet.Int(int64(p.Guests)),
			sheet.Text(p.FirstName), sheet.Text(p.LastName), sheet.Text(p.Email), sheet.Text(p.Phone), sheet.Text(p.Attendance)})
	}
	if c.String("format") != "table" || c.String("out") != "" {
		// One listing: the people (or, as JSON, everything).
		return printRecords(c, peopleRecs)
	}
	details := records{columns: textColumns("field", "value")}
	for _, kv := range []struct {
		field string
		value string
	}{
		{"name", e.Name}, {"title", e.Title}, {"title_en", e.TitleEN}, {"kind", string(e.Kind)},
		{"status", string(e.Status)}, {"public", yesNo(e.Public)}, {"starts_at", localTime(e.StartsAt, loc)},
		{"ends_at", localTime(e.EndsAt, loc)}, {"place", e.Place()}, {"description", e.Description},
		{"capacity", capacity(e.Capacity)}, {"yes", comingCount(counts)}, {"coming", strconv.Itoa(counts.Coming)},
		{"places_left", placesLeft(counts).String()}, {"waiting", strconv.Itoa(counts.Waiting)},
		{"maybe", strconv.Itoa(counts.Maybe)}, {"no", strconv.Itoa(counts.No)},
		{"attended", countIf(attendance.Attended+attendance.NoShow > 0, attendance.Attended)},
		{"no_show", countIf(attendance.Attended+attendance.NoShow > 0, attendance.NoShow)},
	} {
		if kv.value != "" {
			details.rows = append(details.rows, []sheet.Value{sheet.Text(kv.field), sheet.Text(kv.value)})
		}
	}
	for _, inv := range d.Invitations {
		details.rows = append(details.rows, []sheet.Value{sheet.Text("invitation"), sheet.Text(fmt.Sprintf("%s (%s, %s)",
			inv.Campaign, inv.Status, recipients(inv.Recipients)))})
	}
	if err := printRecords(c, details); err != nil {
		return err
	}
	if len(people) == 0 {
		fmt.Fprintln(c.App.Writer, "\nnobody has answered yet")
		return nil
	}
	fmt.Fprintln(c.App.Writer)
	return printRecords(c, peopleRecs)
}

// countIf is k as a detail's value when shown, else "" (left out).
func countIf(shown bool, k int) string {
	if !shown {
		return ""
	}
	return strconv.Itoa(k)
}

func capacity(k int) string {
	if k == 0 {
		return "no limit"
	}
	return strconv.Itoa(k)
}

func inviteToEvent(c *cli.Context, db *crm.DB) error {
	event := c.Args().First()
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	from, err := fromSetting(c, db, "events invite", "the invitation")
	if err != nil {
		return err
	}
	var at time.Time
	var sender newsletter.Sender
	outboxDir := c.String("outbox")
	if c.IsSet("at") {
		loc, err := settingsLocation(c, db)
		if err != nil {
			return err
		}
		if at, err = crm.ParseDate(c.String("at"), loc); err != nil {
			return usagef("--at %q: want a time such as \"2026-12-05 06:00\"", c.String("at"))
		}
		if errors.Is(n.CheckSender((*newsletter.ResendSender)(nil)), newsletter.ErrNoPublicURL) {
			return usagef("events invite: --public-url (or CRM_PUBLIC_URL, or crm settings set public-url) is required: its answer links must work")
		}
	} else if outboxDir == "" {
		if sender, err = resendSender(n, "events invite", "mail: its answer links must work",
			"or give --at TIME for crm serve to send it, or --outbox DIR to look at the emails"); err != nil {
			return err
		}
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	warnSegment(c, db, c.String("segment"))
	spec := newsletter.CampaignSpec{Name: c.String("name"), Event: event, List: c.String("list"),
		Segment: c.String("segment"), From: from, ReplyTo: st.ReplyTo, Subject: c.String("subject")}
	if spec.Templates, err = readTemplates(c); err != nil {
		return err
	}
	cp, err := n.CreateInvitation(c.Context, spec)
	if err != nil {
		return campaignError(c, err)
	}
	w := c.App.Writer
	stats, err := n.CampaignStats(c.Context, cp.Name)
	if err != nil {
		return err
	}
	if stats.Recipients == 0 {
		if err := n.DeleteCampaign(c.Context, cp.Name); err != nil {
			return err
		}
		fmt.Fprintln(w, "nobody to invite: the segment matches nobody on the list, or all were invited already; nothing sent")
		return nil
	}
	if !at.IsZero() {
		if _, err := n.ScheduleCampaign(c.Context, cp.Name, at); err != nil {
			n.DeleteCampaign(c.Context, cp.Name)
			if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) && ve.Field == "at" {
				return fmt.Errorf("--at %q: %s", c.String("at"), ve.Reason)
			}
			return err
		}
		fmt.Fprintf(w, "invitation %s to %s (%s) will be sent at %s by crm serve, or crm send --due with RESEND_API_KEY "+
			"(crm campaign unschedule %s to stop it)\n", cp.Name, recipients(stats.Recipients), byLanguage(stats.ByLanguage),
			localTime(at, st.Location()), cp.Name)
		if outboxDir != "" {
			return writeInvitation(c, n, cp.Name, outboxDir, "it stays scheduled")
		}
		return nil
	}
	if outboxDir != "" {
		return writeInvitation(c, n, cp.Name, outboxDir, fmt.Sprintf("it stays a draft: send it with crm send %s, "+
			"or remove it with crm campaign delete %s", cp.Name, cp.Name))
	}
	if !c.Bool("yes") {
		question := fmt.Sprintf("Send invitation %s to %s (%s)?", cp.Name, recipients(stats.Recipients), byLanguage(stats.ByLanguage))
		if yes, asked := ask(c, question); asked && !yes {
			if err := n.DeleteCampaign(c.Context, cp.Name); err != nil {
				return err
			}
			return errors.New("invitation cancelled: nothing was sent")
		}
	}
	opts := newsletter.SendOptions{}
	if errFile, ok := terminal(c.App.ErrWriter); ok {
		bar := progressbar.NewOptions(stats.Recipients, progressbar.OptionSetWriter(errFile),
			progressbar.OptionSetDescription("inviting"), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		opts.Progress = func(done, total int) { bar.Set(done) }
		defer bar.Finish()
	}
	rep, err := n.Send(c.Context, cp.Name, sender, opts)
	if rep != nil {
		fmt.Fprintf(w, "invitation %s: %d sent, %d failed, %d skipped", rep.Campaign, rep.Sent, rep.Failed, rep.Skipped)
		if rep.Uncertain > 0 {
			fmt.Fprintf(w, ", %d uncertain", rep.Uncertain)
		}
		fmt.Fprintf(w, " in %s; follow the answers with crm events show %s\n", rep.Elapsed.Round(time.Millisecond), event)
	}
	if err != nil {
		return fmt.Errorf("%w (crm send %s goes on where it stopped)", err, cp.Name)
	}
	return nil
}

// writeInvitation writes the emails of the invitation to dir, sending
// nothing, and says so with what becomes of it (stays).
func writeInvitation(c *cli.Context, n *newsletter.Newsletter, name, dir, stays string) error {
	written, abs, err := writeMessages(c, n, name, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d emails of invitation %s written to %s as .eml files; nothing was sent: %s\n",
		written, name, abs, stays)
	return nil
}

func answerEvent(c *cli.Context, db *crm.DB) error {
	event, email := c.Args().Get(0), c.Args().Get(1)
	a, err := crm.ParseAnswer(c.Args().Get(2))
	if err != nil {
		return usagef("events answer: %q: want yes, no or maybe", c.Args().Get(2))
	}
	id, err := supporterID(c, db, email)
	if err != nil {
		return err
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, from, err := eventSender(c, db, n, "events answer")
	if err != nil {
		return err
	}
	res, err := n.AnswerEvent(c.Context, crm.RSVPRequest{Event: event, SupporterID: id, Answer: a,
		Guests: c.Int("guests"), Source: "cli"})
	if err != nil {
		return err
	}
	counts, err := db.CountAnswers(c.Context, res.Event)
	if err != nil {
		return err
	}
	w := c.App.Writer
	what := string(res.RSVP.Answer)
	if res.RSVP.Guests > 0 {
		what += fmt.Sprintf(" (+%d)", res.RSVP.Guests)
	}
	if res.RSVP.Waiting {
		what = "on the waiting list (the event is full)"
	}
	if !res.Changed {
		what = "already " + what
	}
	fmt.Fprintf(w, "%s: %s; %d coming", email, what, counts.Coming)
	if counts.PlacesLeft >= 0 {
		fmt.Fprintf(w, ", %d place(s) left", counts.PlacesLeft)
	}
	if counts.Waiting > 0 {
		fmt.Fprintf(w, ", %d waiting", counts.Waiting)
	}
	fmt.Fprintln(w)
	return tellPromoted(c, n, sender, from, res.Event, res.Promoted)
}

// askEvent asks, on a terminal and without --yes, whether to go on.
func askEvent(c *cli.Context, question string) error {
	if c.Bool("yes") {
		return nil
	}
	if yes, asked := ask(c, question); asked && !yes {
		return errors.New("stopped: nothing was changed or sent")
	}
	return nil
}

func remindEvent(c *cli.Context, db *crm.DB) error {
	e, err := db.GetEvent(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, from, err := eventSender(c, db, n, "events remind")
	if err != nil {
		return err
	}
	tpls, err := readTemplates(c)
	if err != nil {
		return err
	}
	counts, err := db.CountAnswers(c.Context, e)
	if err != nil {
		return err
	}
	if err := askEvent(c, fmt.Sprintf("Remind %d people of %s (%d yes, %d maybe)?", counts.Yes+counts.Maybe, e.Name,
		counts.Yes, counts.Maybe)); err != nil {
		return err
	}
	rem, err := n.RemindEvent(c.Context, e.Name, newsletter.ReminderOptions{Templates: tpls, Again: c.Bool("again")})
	if errors.Is(err, newsletter.ErrReminderTooSoon) {
		return fmt.Errorf("%w (--again makes a new one)", err)
	}
	if err != nil {
		return campaignError(c, err)
	}
	w := c.App.Writer
	opts := newsletter.NoticeOptions{From: from, EventID: e.ID, Occasion: rem.Occasion()}
	waiting := len(rem.Notices)
	if rem.Resumed {
		waiting = rem.Waiting
		fmt.Fprintf(w, "reminder %d of %s was made %s ago and has %d email(s) left to send: no new reminder "+
			"(--again makes one)\n", rem.Number, e.Name, time.Since(rem.CreatedAt).Round(time.Minute), rem.Waiting)
	} else {
		fmt.Fprintf(w, "reminder %d of %s: %d email(s) queued\n", rem.Number, e.Name, len(rem.Notices))
		opts.IDs = rem.Notices
	}
	return sendQueued(c, n, sender, opts, waiting)
}

// sendQueued sends the k queued emails opts selects and prints what
// became of them, or says they wait when there is no sender.
func sendQueued(c *cli.Context, n *newsletter.Newsletter, sender newsletter.Sender, opts newsletter.NoticeOptions, k int) error {
	if k == 0 {
		return nil
	}
	if sender == nil {
		notSentYet(c, k)
		return nil
	}
	rep, err := n.SendNotices(c.Context, sender, opts)
	if err != nil {
		return err
	}
	return printNotices(c, rep, c.String("outbox"))
}

func cancelEvent(c *cli.Context, db *crm.DB) error {
	e, err := db.GetEvent(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, from, err := eventSender(c, db, n, "events cancel")
	if err != nil {
		return err
	}
	w := c.App.Writer
	opts := newsletter.NoticeOptions{From: from, EventID: e.ID, Occasion: newsletter.CancelOccasion}
	if e.Status == crm.EventCancelled {
		// Run again: what the first run queued and did not send goes now.
		fmt.Fprintf(w, "event %s was already cancelled\n", e.Name)
		if sender == nil {
			return nil
		}
		rep, err := n.SendNotices(c.Context, sender, opts)
		if err != nil {
			return err
		}
		return printNotices(c, rep, c.String("outbox"))
	}
	tpls, err := readTemplates(c)
	if err != nil {
		return err
	}
	counts, err := db.CountAnswers(c.Context, e)
	if err != nil {
		return err
	}
	if err := askEvent(c, fmt.Sprintf("Cancel %s and tell the %d people who answered yes or maybe?", e.Name,
		counts.Yes+counts.Waiting+counts.Maybe)); err != nil {
		return err
	}
	res, err := n.CancelEvent(c.Context, e.Name, newsletter.CancelOptions{Templates: tpls})
	if err != nil {
		return campaignError(c, err)
	}
	fmt.Fprintf(w, "cancelled event %s: %d email(s) queued\n", e.Name, len(res.Notices))
	for _, name := range res.Unscheduled {
		fmt.Fprintf(w, "invitation %s is no longer scheduled\n", name)
	}
	opts.IDs = res.Notices
	return sendQueued(c, n, sender, opts, len(res.Notices))
}

func recordAttendance(c *cli.Context, db *crm.DB) error {
	status := map[string]string{} // email as given -> status
	given := map[string]string{}  // email -> where it was first given: "--attended", "--file F line 3"
	var order []string
	add := func(email, st, where string) error {
		email = strings.TrimSpace(email)
		if prev, ok := status[strings.ToLower(email)]; ok && prev != st {
			return usagef("%s: %s is given as both %s and %s", where, email, prev, st)
		}
		if _, ok := status[strings.ToLower(email)]; !ok {
			order = append(order, email)
			given[strings.ToLower(email)] = where
		}
		status[strings.ToLower(email)] = st
		return nil
	}
	for _, f := range []struct{ flag, status string }{{"attended", crm.Attended}, {"no-show", crm.NoShow}} {
		for _, email := range c.StringSlice(f.flag) {
			if err := add(email, f.status, "--"+f.flag); err != nil {
				return err
			}
		}
	}
	if file := c.String("file"); file != "" {
		if err := readAttendance(file, add); err != nil {
			return err
		}
	}
	if len(order) == 0 {
		return usagef("events attendance: nobody given: --attended EMAIL, --no-show EMAIL or --file CSV")
	}
	ids := map[string][]int64{}
	for _, email := range order {
		id, err := supporterID(c, db, email)
		if err != nil {
			return fmt.Errorf("%s: %w: nothing recorded", given[strings.ToLower(email)], err)
		}
		st := status[strings.ToLower(email)]
		ids[st] = append(ids[st], id)
	}
	name := c.Args().First()
	e, err := db.GetEvent(c.Context, name)
	if err != nil {
		return err
	}
	err = db.RunInTx(c.Context, func(tx *crm.Tx) error {
		for _, st := range []string{crm.Attended, crm.NoShow} {
			if len(ids[st]) > 0 {
				if err := tx.RecordAttendance(c.Context, name, ids[st], st); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "event %s: %d attended, %d no-show recorded\n", e.Name, len(ids[crm.Attended]), len(ids[crm.NoShow]))
	// A no-show is someone who said they would come: say so of anyone
	// else, whose absence was recorded all the same.
	k := 0
	for _, email := range order {
		if status[strings.ToLower(email)] != crm.NoShow {
			continue
		}
		id := ids[crm.NoShow][k]
		k++
		hist, err := db.RSVPHistory(c.Context, e.ID, id)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(hist, func(h crm.RSVPChange) bool { return h.Answer != crm.AnswerNo }) {
			fmt.Fprintf(c.App.ErrWriter, "note: %s (%s) never answered yes or maybe to %s: recorded as no-show all the same\n",
				email, given[strings.ToLower(email)], e.Name)
		}
	}
	return nil
}

// readAttendance reads a CSV of attendance (an email column, an optional
// status column; ',' or ';' between fields) and gives each row to add.
func readAttendance(path string, add func(email, status, where string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	first, _ := br.Peek(4096)
	head, _, _ := strings.Cut(strings.TrimPrefix(string(first), "\ufeff"), "\n")
	r := csv.NewReader(br)
	if strings.Count(head, ";") > strings.Count(head, ",") {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("--file %s: %w", path, err)
	}
	emailCol, statusCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "email", "e-mail", "courriel", "mail", "adresse":
			emailCol = i
		case "status", "attendance", "statut", "présence", "presence":
			statusCol = i
		}
	}
	if emailCol < 0 {
		return usagef("--file %s: no email column in the header %q", path, strings.Join(header, ","))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("--file %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("--file %s line %d", path, line)
		if emailCol >= len(rec) || strings.TrimSpace(rec[emailCol]) == "" {
			continue
		}
		st := crm.Attended
		if statusCol >= 0 && statusCol < len(rec) {
			switch v := strings.ToLower(strings.TrimSpace(rec[statusCol])); v {
			case "", "attended", "present", "présent", "présente", "present·e", "présent·e", "oui", "yes", "1", "x":
			case "no-show", "noshow", "absent", "absente", "absent·e", "non", "no", "0":
				st = crm.NoShow
			default:
				return usagef("%s: status %q: want attended or no-show", where, rec[statusCol])
			}
		}
		if err := add(rec[emailCol], st, where); err != nil {
			return err
		}
	}
}
