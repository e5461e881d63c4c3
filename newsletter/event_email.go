package newsletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// Emails about events (issue 17).
//
// An invitation is a campaign linked to its event (CampaignSpec.Event,
// CreateInvitation), sent by the campaign engine like any other: in
// batches, exactly once per recipient, resumable, within the rate
// limits. Its templates see the event ({{.Event.Title}}, {{.Event.When}},
// {{.Event.Place}}, {{.Event.MapURL}}) and each recipient's own signed
// answer links ({{.RSVPYes}}, {{.RSVPNo}}, {{.RSVPMaybe}}), bound to the
// person and the event and carrying the campaign; each template must
// carry one of those links. A person who already has (or is getting) an
// invitation to the event is left out of the next one: nobody is invited
// twice to one event. So that this holds when the next one is counted,
// none is made while another to the event is a draft (scheduled or not)
// or being sent.
//
// The event's calendar travels as a link, {{.CalendarURL}}, never as an
// attached .ics file: Resend's batch endpoint, 100 emails per request,
// takes no attachments. At 5 requests per second, 2,000 volunteers are
// 20 batch requests, about 4 s; with a file attached each email would be
// a request of its own, 2,000 requests, about 400 s: the urgent call of
// an eviction tomorrow at 7:30 cannot wait that long.
//
// The other emails of an event are notices (see notice.go), queued in
// the transaction of the change that calls for them and sent once each:
// NoticeEventPlace when a place freed up (AnswerEvent, EditEvent),
// NoticeEventChange when the time or place changed (EditEvent),
// NoticeEventReminder (RemindEvent) and NoticeEventCancel (CancelEvent).
// Each is rendered when it is first sent, from what is true then: a
// notice for an erased person, a cancelled event (but the cancellation),
// an event that has started, or someone who no longer comes, is skipped.

// Kinds of notices about events.
const (
	// NoticeEventReminder reminds those who answered yes or maybe.
	NoticeEventReminder NoticeKind = "event-reminder"
	// NoticeEventCancel tells those who answered yes (waiting list
	// included) or maybe that the event is cancelled.
	NoticeEventCancel NoticeKind = "event-cancel"
	// NoticeEventChange tells those who answered yes (waiting list
	// included) or maybe that the event's time or place changed
	// (EditEventWith).
	NoticeEventChange NoticeKind = "event-change"
)

// ReminderInterval is how long after a reminder RemindEvent makes another
// only when asked to (ReminderOptions.Again): running the same command
// again after a crash resumes the reminder it made, it does not make a
// second one.
const ReminderInterval = time.Hour

// ErrReminderTooSoon is wrapped by the error of RemindEvent when the last reminder was made less than ReminderInterval
// ago and is sent, and no new one was asked for.
var ErrReminderTooSoon = errors.New("the last reminder is less than an hour old")

// EventFields is what a template sees of an event, as {{.Event}}, in the
// email's language.
type EventFields struct {
	Name        string // the event's name: "expulsion-lilas"
	Title       string // in the email's language (else the French one)
	When        string // "samedi 5 décembre 2026 à 7 h 30", "Saturday 5 December 2026 at 7:30 am", with the end when set
	Place       string // "12 rue des Lilas, 62100 Calais"
	MapURL      string // an OpenStreetMap search of Place; "" without a place
	Description string
}

// NewEventFields returns the fields of e in lang ("en", else French),
// its start told in loc.
func NewEventFields(e *crm.Event, lang string, loc *time.Location) EventFields {
	if loc == nil {
		loc = time.UTC
	}
	f := EventFields{Name: e.Name, Title: e.TitleFor(lang), When: eventWhen(e, loc, lang),
		Place: e.Place(), Description: e.DescriptionFor(lang)}
	if f.Place != "" {
		f.MapURL = "https://www.openstreetmap.org/search?query=" + url.QueryEscape(f.Place)
	}
	return f
}

var (
	frenchDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
		"octobre", "novembre", "décembre"}
)

// FormatEventTime tells the moment t in loc as people write it: "samedi
// 5 décembre 2026 à 7 h 30" (French, the default) or "Saturday 5
// December 2026 at 7:30 am" (lang "en"). An event's fields tell its end
// too (see NewEventFields).
func FormatEventTime(t time.Time, lang string, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if lang == "en" {
		return eventDay(t, lang) + " at " + eventClock(t, lang)
	}
	return eventDay(t, lang) + " à " + eventClock(t, lang)
}

// rsvpLink returns the supporter's link to answer the event, from base.
func (n *Newsletter) rsvpLink(base *url.URL, supporterID int64, e *crm.Event, answer crm.Answer, campaignID int64) string {
	return n.linkFrom(base, "/rsvp", Token{Purpose: PurposeRSVP, SupporterID: supporterID, EventID: e.ID,
		CampaignID: campaignID, Expires: e.End().Add(RSVPLinkLifetime)}) + "&answer=" + string(answer)
}

// calendarLink returns the link to the event's iCalendar file, from base,
// with its texts in lang (?lang=en; French, the file's default, else).
func (n *Newsletter) calendarLink(base *url.URL, e *crm.Event, lang string) string {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + "/events/" + e.Name + ".ics"
	u.RawQuery, u.Fragment = "", ""
	var q []string
	if !e.Public {
		q = append(q, "token="+n.signer.Sign(Token{Purpose: PurposeCalendar, EventID: e.ID,
			Expires: e.End().Add(RSVPLinkLifetime)}))
	}
	if lang == "en" {
		q = append(q, "lang=en")
	}
	u.RawQuery = strings.Join(q, "&")
	return u.String()
}

// setEvent gives rc the event's fields and the supporter's own answer
// links (carrying campaignID, 0 for none); the calendar link is the
// caller's, the same for everyone.
func (n *Newsletter) setEvent(rc *Recipient, base *url.URL, e *crm.Event, fields EventFields, supporterID, campaignID int64) {
	rc.Event = fields
	rc.RSVPYes = n.rsvpLink(base, supporterID, e, crm.AnswerYes, campaignID)
	rc.RSVPNo = n.rsvpLink(base, supporterID, e, crm.AnswerNo, campaignID)
	rc.RSVPMaybe = n.rsvpLink(base, supporterID, e, crm.AnswerMaybe, campaignID)
}

// Invitations.

// invitationEvent is an invitation's event as its emails show it.
type invitationEvent struct {
	event    *crm.Event
	fields   map[string]EventFields // by language: fr, en
	calendar map[string]string      // the calendar link, by language: fr, en
}

// eventSnapshot is the event as an invitation's send froze it
// (Campaign.EventSnapshot): every batch, and every retry of one, renders
// the same bytes even if the event is edited meanwhile.
type eventSnapshot struct {
	Event    *crm.Event `json:"event"`
	TimeZone string     `json:"time_zone"`
}

// fieldsFor returns the event's fields in the template's language.
func (ie *invitationEvent) fieldsFor(lang string) EventFields {
	if lang == "en" {
		return ie.fields["en"]
	}
	return ie.fields["fr"]
}

// calendarFor returns the link to the event's calendar file in the
// template's language.
func (ie *invitationEvent) calendarFor(lang string) string {
	if lang == "en" {
		return ie.calendar["en"]
	}
	return ie.calendar["fr"]
}

// loadInvitationEvent sets c.event for an invitation: the event as frozen
// when its send started, or as it is now for a draft. c.linkBase, if
// any, must be set (parseTemplates).
func (n *Newsletter) loadInvitationEvent(ctx context.Context, c *Campaign) error {
	if c.EventID == 0 {
		return nil
	}
	var snap eventSnapshot
	if c.Status != StatusDraft && c.EventSnapshot != "" {
		if err := json.Unmarshal([]byte(c.EventSnapshot), &snap); err != nil || snap.Event == nil {
			return fmt.Errorf("campaign %s: stored event unreadable: %v", c.Name, err)
		}
	} else {
		e, err := n.db.GetEventByID(ctx, c.EventID)
		if err != nil {
			return fmt.Errorf("campaign %s: %w", c.Name, err)
		}
		st, err := n.db.Settings(ctx)
		if err != nil {
			return err
		}
		snap = eventSnapshot{Event: e, TimeZone: st.Location().String()}
	}
	loc, err := time.LoadLocation(snap.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	base := n.publicURL
	if c.linkBase != nil {
		base = c.linkBase
	}
	c.event = &invitationEvent{event: snap.Event,
		calendar: map[string]string{"fr": n.calendarLink(base, snap.Event, "fr"), "en": n.calendarLink(base, snap.Event, "en")},
		fields:   map[string]EventFields{"fr": NewEventFields(snap.Event, "fr", loc), "en": NewEventFields(snap.Event, "en", loc)}}
	return nil
}

// campaignTemplates parses the campaign's templates and, for an
// invitation, loads its event: what rendering its messages needs.
func (n *Newsletter) campaignTemplates(ctx context.Context, c *Campaign) (map[string]*Template, error) {
	tpls, err := parseTemplates(c)
	if err != nil {
		return nil, err
	}
	return tpls, n.loadInvitationEvent(ctx, c)
}

// freezeEvent, in the transaction that freezes an invitation's audience,
// locks its event (on PostgreSQL: two invitations of one event freeze one
// after the other, the second seeing who the first invites), checks it
// still takes answers, and stores it in the campaign as it is now.
func (n *Newsletter) freezeEvent(ctx context.Context, tx *crm.Tx, c *Campaign, settings *crm.Settings) error {
	if c.EventID == 0 {
		return nil
	}
	e, err := tx.LockEvent(ctx, c.Event)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", c.Name, err)
	}
	if !e.Open(n.clock()) {
		what := "has started"
		if e.Status == crm.EventCancelled {
			what = "was cancelled"
		}
		return fmt.Errorf("campaign %s: event %s %s: nothing sent: %w", c.Name, e.Name, what, crm.ErrEventClosed)
	}
	b, err := json.Marshal(eventSnapshot{Event: e, TimeZone: settings.Location().String()})
	if err != nil {
		return err
	}
	c.EventSnapshot = string(b)
	return nil
}

// invitedElsewhere narrows an invitation's audience to those no other
// invitation of its event is for: pending, sent, or perhaps sent
// (uncertain). A delivery the provider refused, or skipped, went nowhere.
func invitedElsewhere(q *bun.SelectQuery, c *Campaign) *bun.SelectQuery {
	return q.Where("NOT EXISTS (SELECT 1 FROM newsletter_deliveries AS inv "+
		"JOIN newsletter_campaigns AS ic ON ic.id = inv.campaign_id "+
		"WHERE inv.supporter_id = s.id AND ic.event_id = ? AND ic.id <> ? "+
		"AND (inv.status IN (?, ?) OR inv.error IN (?, ?)))",
		c.EventID, c.ID, deliveryPending, deliverySent, uncertainReason, keyReusedReason)
}

// ErrInvitationUnfinished is wrapped (with crm.ErrConflict) by the error
// of CreateInvitation (and CreateCampaign, CopyCampaign) while another
// invitation to the event is unfinished: a draft, scheduled or not, or
// one being sent. Send it (or finish sending it) or delete it first: the
// audience of an invitation is those no other invitation of the event
// has gone or is going to, which a draft does not know yet, so two
// unfinished invitations would both count, and show, the same people.
var ErrInvitationUnfinished = errors.New("another invitation to this event is not sent yet")

// unfinishedInvitation returns an error wrapping ErrInvitationUnfinished
// naming an invitation to the event, other than campaign id, that is a
// draft (scheduled or not) or being sent, with what to do with it; nil
// when there is none.
func unfinishedInvitation(ctx context.Context, idb bun.IDB, eventID int64, event string, id int64) error {
	var others []Campaign
	if err := idb.NewSelect().Model(&others).Column("name", "status", "scheduled_at").
		Where("event_id = ? AND id <> ? AND status IN (?, ?)", eventID, id, StatusDraft, StatusSending).
		Order("id").Limit(1).Scan(ctx); err != nil {
		return fmt.Errorf("invitations: %w", err)
	}
	if len(others) == 0 {
		return nil
	}
	o := others[0]
	what := "is a draft, not sent"
	switch {
	case o.Status == StatusSending:
		return fmt.Errorf("invitation %s to event %s is being sent, not finished: finish it (crm send %s goes on where it "+
			"stopped) before another invitation: %w: %w", o.Name, event, o.Name, ErrInvitationUnfinished, crm.ErrConflict)
	case !o.ScheduledAt.IsZero():
		what = "is scheduled, not sent yet"
	}
	return fmt.Errorf("invitation %s to event %s %s: send it (crm send %s), or delete it (crm campaign delete %s), "+
		"before another invitation: %w: %w", o.Name, event, what, o.Name, o.Name, ErrInvitationUnfinished, crm.ErrConflict)
}

// CreateInvitation creates a draft campaign inviting spec.List's
// subscribers (narrowed by spec.Segment) to the event spec.Event, checked
// as CreateCampaign does: its templates must carry the answer links. Its
// name is spec.Name, or when empty EVENT-invitation, then
// EVENT-invitation-2 and so on. Send it like any campaign (Send, or
// ScheduleCampaign). It returns an error wrapping crm.ErrNotFound for an
// unknown event, crm.ErrEventClosed for one cancelled or started, and
// ErrInvitationUnfinished while another invitation to it is a draft or
// being sent.
func (n *Newsletter) CreateInvitation(ctx context.Context, spec CampaignSpec) (*Campaign, error) {
	if strings.TrimSpace(spec.Event) == "" {
		return nil, &crm.ValidationError{Field: "event", Reason: "an invitation needs an event"}
	}
	e, err := n.db.GetEvent(ctx, spec.Event)
	if err != nil {
		return nil, err
	}
	if err := unfinishedInvitation(ctx, n.bun, e.ID, e.Name, 0); err != nil {
		return nil, err
	}
	if spec.Name != "" {
		return n.CreateCampaign(ctx, spec)
	}
	for k := 1; k <= 100; k++ {
		spec.Name = invitationName(e.Name, k)
		c, err := n.CreateCampaign(ctx, spec)
		if errors.Is(err, crm.ErrConflict) && !errors.Is(err, ErrInvitationUnfinished) {
			if _, gerr := n.Campaign(ctx, spec.Name); gerr == nil {
				continue // the name is taken: the next one
			}
		}
		return c, err
	}
	return nil, fmt.Errorf("event %s has 100 invitations: name the next one: %w", e.Name, crm.ErrConflict)
}

// answerLinks are the fields of an invitation's answer links, of which
// each of its templates needs one.
var answerLinks = []string{"RSVPYes", "RSVPNo", "RSVPMaybe"}

// checkAnswerLinks returns a *TemplateError when an invitation's template
// in lang carries none of the answer links.
func checkAnswerLinks(lang, src string) error {
	fields, _ := fieldsUsed(src)
	for _, f := range fields {
		if slices.Contains(answerLinks, f) {
			return nil
		}
	}
	return &TemplateError{Language: lang, Reason: "no answer link: an invitation's email must carry " +
		"{{.RSVPYes}}, {{.RSVPNo}} or {{.RSVPMaybe}} (each person's own links to answer)"}
}

// invitationName is the name of the k-th invitation to an event, within
// the 64 characters of a name.
func invitationName(event string, k int) string {
	suffix := "-invitation"
	if k > 1 {
		suffix += "-" + strconv.Itoa(k)
	}
	if len(event)+len(suffix) > 64 {
		event = strings.TrimRight(event[:64-len(suffix)], "-_")
	}
	return event + suffix
}

// Notices about an event: templates.

// eventTemplateRow is the organiser's own template of an occasion's
// emails in one language.
type eventTemplateRow struct {
	bun.BaseModel `bun:"table:newsletter_event_templates"`

	EventID  int64  `bun:"event_id,pk"`
	Occasion string `bun:"occasion,pk"`
	Language string `bun:"language,pk"`
	Position int    `bun:"position"`
	Source   string `bun:"source"`
}

// eventFooters end the emails about an event: they are not list mail,
// and carry no unsubscribe link.
var eventFooters = map[string]footer{
	"fr": {why: "Vous recevez ce message parce que vous avez répondu à cette invitation."},
	"en": {why: "You receive this message because you answered this invitation."},
}

func eventFooterFor(lang string) footer {
	if f, ok := eventFooters[lang]; ok {
		return f
	}
	return eventFooters["fr"]
}

// DefaultEventTemplate returns the package's own email of the kind
// (NoticeEventPlace, NoticeEventReminder, NoticeEventCancel,
// NoticeEventChange) in lang ("en", else French), sent when the organiser
// gives none; a starting point for one's own.
func DefaultEventTemplate(kind NoticeKind, lang string) string {
	en := lang == "en"
	switch {
	case kind == NoticeEventChange && en:
		return defaultChangeEN
	case kind == NoticeEventChange:
		return defaultChangeFR
	case kind == NoticeEventPlace && en:
		return defaultPlaceEN
	case kind == NoticeEventPlace:
		return defaultPlaceFR
	case kind == NoticeEventReminder && en:
		return defaultReminderEN
	case kind == NoticeEventReminder:
		return defaultReminderFR
	case kind == NoticeEventCancel && en:
		return defaultCancelEN
	case kind == NoticeEventCancel:
		return defaultCancelFR
	}
	return ""
}

const defaultPlaceFR = `---
subject: "Une place s'est libérée : vous êtes inscrit·e à {{.Event.Title}}"
---
Bonjour{{with .FirstName}} {{.}}{{end}},

Une place s'est libérée : vous êtes inscrit·e à **{{.Event.Title}}**, pour lequel vous étiez sur la liste d'attente.

Quand : {{.Event.When}}{{with .Event.Place}}
Où : [{{.}}]({{$.Event.MapURL}}){{end}}

Vous ne pouvez plus venir ? Dites-le, la place ira à la personne suivante : [je ne viens pas]({{.RSVPNo}})

[Ajouter à mon agenda]({{.CalendarURL}})
`

const defaultPlaceEN = `---
subject: "A place freed up: you are in for {{.Event.Title}}"
---
Hello{{with .FirstName}} {{.}}{{end}},

A place freed up: you are in for **{{.Event.Title}}**, for which you were on the waiting list.

When: {{.Event.When}}{{with .Event.Place}}
Where: [{{.}}]({{$.Event.MapURL}}){{end}}

Cannot come any more? Say so, and the place goes to the next person: [I am not coming]({{.RSVPNo}})

[Add to my calendar]({{.CalendarURL}})
`

const defaultReminderFR = `---
subject: "Rappel : {{.Event.Title}}, {{.Event.When}}"
---
Bonjour{{with .FirstName}} {{.}}{{end}},

Un rappel : **{{.Event.Title}}**.

Quand : {{.Event.When}}{{with .Event.Place}}
Où : [{{.}}]({{$.Event.MapURL}}){{end}}
{{with .Event.Description}}
{{.}}
{{end}}
Votre réponse : {{if eq .RSVP.Answer "yes"}}oui, vous venez{{if eq .RSVP.Guests 1}} avec 1 personne{{else if .RSVP.Guests}} avec {{.RSVP.Guests}} personnes{{end}}{{else}}peut-être{{end}}.
Elle a changé ? [Je viens]({{.RSVPYes}}) · [Je ne viens pas]({{.RSVPNo}}) · [Peut-être]({{.RSVPMaybe}})

[Ajouter à mon agenda]({{.CalendarURL}})
`

const defaultReminderEN = `---
subject: "Reminder: {{.Event.Title}}, {{.Event.When}}"
---
Hello{{with .FirstName}} {{.}}{{end}},

A reminder: **{{.Event.Title}}**.

When: {{.Event.When}}{{with .Event.Place}}
Where: [{{.}}]({{$.Event.MapURL}}){{end}}
{{with .Event.Description}}
{{.}}
{{end}}
Your answer: {{if eq .RSVP.Answer "yes"}}yes, you are coming{{if eq .RSVP.Guests 1}} with 1 guest{{else if .RSVP.Guests}} with {{.RSVP.Guests}} guests{{end}}{{else}}maybe{{end}}.
Has it changed? [I am coming]({{.RSVPYes}}) · [I am not coming]({{.RSVPNo}}) · [Maybe]({{.RSVPMaybe}})

[Add to my calendar]({{.CalendarURL}})
`

const defaultCancelFR = `---
subject: "Annulé : {{.Event.Title}}, {{.Event.When}}"
---
Bonjour{{with .FirstName}} {{.}}{{end}},

L'événement « {{.Event.Title}} », prévu {{.Event.When}}, est annulé. Ne vous déplacez pas.

Merci d'avoir répondu : nous reviendrons vers vous.
`

const defaultCancelEN = `---
subject: "Cancelled: {{.Event.Title}}, {{.Event.When}}"
---
Hello{{with .FirstName}} {{.}}{{end}},

The event "{{.Event.Title}}" ({{.Event.When}}) is cancelled. Please do not come.

Thank you for answering: we will be in touch.
`

const defaultChangeFR = `---
subject: "Changement {{if and .Change.Time .Change.Place}}d'horaire et de lieu{{else if .Change.Time}}d'horaire{{else}}de lieu{{end}} : {{.Event.Title}}"
---
Bonjour{{with .FirstName}} {{.}}{{end}},

L'événement « {{.Event.Title}} » change {{if and .Change.Time .Change.Place}}d'horaire et de lieu{{else if .Change.Time}}d'horaire{{else}}de lieu{{end}}.

{{if .Change.Time}}**Nouvel horaire :** {{.Event.When}} (au lieu de {{.Change.PreviousWhen}}){{else}}Quand : {{.Event.When}}{{end}}
{{if not .Change.Place}}{{with .Event.Place}}Où : [{{.}}]({{$.Event.MapURL}}){{end}}{{else if .Event.Place}}**Nouveau lieu :** [{{.Event.Place}}]({{.Event.MapURL}}){{with .Change.PreviousPlace}} (au lieu de {{.}}){{end}}{{else}}Le lieu reste à préciser (ce n'est plus {{.Change.PreviousPlace}}).{{end}}

Vous venez toujours ? Dites-le : [je viens]({{.RSVPYes}}) · [je ne viens pas]({{.RSVPNo}}) · [peut-être]({{.RSVPMaybe}})

[Mettre à jour mon agenda]({{.CalendarURL}})
`

const defaultChangeEN = `---
subject: "{{if and .Change.Time .Change.Place}}New time and place{{else if .Change.Time}}New time{{else}}New place{{end}}: {{.Event.Title}}"
---
Hello{{with .FirstName}} {{.}}{{end}},

The event "{{.Event.Title}}" has {{if and .Change.Time .Change.Place}}a new time and place{{else if .Change.Time}}a new time{{else}}a new place{{end}}.

{{if .Change.Time}}**New time:** {{.Event.When}} (instead of {{.Change.PreviousWhen}}){{else}}When: {{.Event.When}}{{end}}
{{if not .Change.Place}}{{with .Event.Place}}Where: [{{.}}]({{$.Event.MapURL}}){{end}}{{else if .Event.Place}}**New place:** [{{.Event.Place}}]({{.Event.MapURL}}){{with .Change.PreviousPlace}} (instead of {{.}}){{end}}{{else}}The place is still to be told (it is no longer {{.Change.PreviousPlace}}).{{end}}

Still coming? Tell us: [I am coming]({{.RSVPYes}}) · [I am not coming]({{.RSVPNo}}) · [Maybe]({{.RSVPMaybe}})

[Update my calendar]({{.CalendarURL}})
`

// sampleEvent is what templates of an event's emails are test-rendered
// with, so a mistake is found before anything is queued.
var sampleEvent = EventFields{Name: "exemple", Title: "Distribution", When: "samedi 5 décembre 2026 à 7 h 30",
	Place: "12 rue des Lilas, 62100 Calais", MapURL: "https://www.openstreetmap.org/search?query=Calais",
	Description: "Exemple"}

// parseEventTemplate parses the template of an event's email. A mistake
// is a *TemplateError naming the language and the line.
func parseEventTemplate(lang, source string) (*Template, error) {
	tpl, err := parseTemplate(lang, source, eventFooterFor(lang), eventNoticeFields)
	var te *TemplateError
	switch {
	case errors.As(err, &te):
		te.Language = lang
		return nil, te
	case err != nil:
		return nil, &TemplateError{Language: lang, Reason: err.Error()}
	case tpl.Subject() == "":
		return nil, &TemplateError{Language: lang, Line: 1, Reason: "no subject: start the file with a front matter: ---, subject: ..., ---"}
	}
	rc := sampleRecipient
	rc.Language, rc.Event = lang, sampleEvent
	rc.RSVP = RSVPFields{Answer: string(crm.AnswerYes), Guests: 1}
	rc.Change = EventChangeFields{Time: true, Place: true, PreviousWhen: "vendredi 4 décembre 2026 à 7 h 30",
		PreviousPlace: "Place d'Armes, 62100 Calais"}
	rc.RSVPYes, rc.RSVPNo, rc.RSVPMaybe = "https://example.org/rsvp?answer=yes", "https://example.org/rsvp?answer=no",
		"https://example.org/rsvp?answer=maybe"
	rc.CalendarURL, rc.UnsubscribeURL, rc.PreferencesURL = "https://example.org/events/exemple.ics",
		"https://example.org/unsubscribe", "https://example.org/preferences"
	if _, err := tpl.Render(rc); err != nil {
		return nil, &TemplateError{Language: lang, Reason: "rendered for a sample supporter: " + err.Error()}
	}
	return tpl, nil
}

// checkEventTemplates checks an occasion's templates, one per language,
// and returns them with their languages normalised and in order.
func checkEventTemplates(tpls []TemplateSource) ([]eventTemplateRow, error) {
	var rows []eventTemplateRow
	for i, t := range tpls {
		lang, err := crm.NormalizeLanguage(t.Language)
		if err != nil {
			return nil, &crm.ValidationError{Field: "template", Value: t.Language, Reason: "not a language code such as fr or en"}
		}
		for _, r := range rows {
			if r.Language == lang {
				return nil, &crm.ValidationError{Field: "template", Value: lang, Reason: "two templates for one language"}
			}
		}
		if _, err := parseEventTemplate(lang, t.Source); err != nil {
			return nil, err
		}
		rows = append(rows, eventTemplateRow{Language: lang, Position: i, Source: t.Source})
	}
	return rows, nil
}

// storeEventTemplates replaces, in the transaction, the event's templates
// of the occasion with rows (checked by checkEventTemplates).
func storeEventTemplates(ctx context.Context, idb bun.IDB, eventID int64, occasion string, rows []eventTemplateRow) error {
	if _, err := idb.NewDelete().Model((*eventTemplateRow)(nil)).Where("event_id = ? AND occasion = ?", eventID, occasion).
		Exec(ctx); err != nil {
		return fmt.Errorf("event templates: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		rows[i].EventID, rows[i].Occasion = eventID, occasion
	}
	if _, err := idb.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("event templates: %w", err)
	}
	return nil
}

// eventTemplate returns the template of a notice about an event, parsed:
// the organiser's own for its occasion, in the person's language (else
// the first), or the package's default in the page language.
func (n *Newsletter) eventTemplate(ctx context.Context, r *noticeRow, personLang, pageLang string) (*Template, error) {
	var rows []eventTemplateRow
	if r.Dedupe != "" {
		if err := n.bun.NewSelect().Model(&rows).Where("event_id = ? AND occasion = ?", r.EventID, r.Dedupe).
			Order("position").Scan(ctx); err != nil {
			return nil, fmt.Errorf("event templates: %w", err)
		}
	}
	if len(rows) == 0 {
		return parseEventTemplate(pageLang, DefaultEventTemplate(r.Kind, pageLang))
	}
	t := rows[0]
	for _, row := range rows {
		if row.Language == personLang {
			t = row
		}
	}
	tpl, err := parseEventTemplate(t.Language, t.Source)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("stored %s template (%s)", r.Dedupe, t.Language), err)
	}
	return tpl, nil
}

// renderEventNotice makes the message of a notice about an event for s,
// from what is true now, or returns why it is no longer called for.
func (n *Newsletter) renderEventNotice(ctx context.Context, r *noticeRow, s *crm.Supporter, st *crm.Settings, m *Message) (string, error) {
	e, err := n.db.GetEventByID(ctx, r.EventID)
	if errors.Is(err, crm.ErrNotFound) {
		return "the event no longer exists", nil
	} else if err != nil {
		return "", err
	}
	rsvp, err := n.db.GetRSVP(ctx, e.ID, s.ID)
	if err != nil {
		return "", err
	}
	if r.Kind != NoticeEventCancel {
		if e.Status == crm.EventCancelled {
			return "the event was cancelled", nil
		}
		if !n.clock().Before(e.StartsAt) {
			return "the event has started", nil
		}
		switch {
		case r.Kind == NoticeEventPlace && !rsvp.Coming():
			return "the person no longer holds a place (they answered again since)", nil
		case r.Kind == NoticeEventReminder && !rsvp.Coming() && (rsvp == nil || rsvp.Answer != crm.AnswerMaybe):
			return "the person is no longer coming (they answered again since)", nil
		case r.Kind == NoticeEventChange && (rsvp == nil || rsvp.Answer == crm.AnswerNo):
			return "the person is no longer coming (they answered no since)", nil
		}
	}
	lang := pageLanguage(s.Language, "")
	tpl, err := n.eventTemplate(ctx, r, s.Language, lang)
	if err != nil {
		return "", err
	}
	rc := Recipient{FirstName: s.FirstName, LastName: s.LastName, Email: s.Email, City: s.City, Language: s.Language,
		Attributes: s.Attributes, Association: st.Name, PostalAddress: st.PostalAddress,
		UnsubscribeURL: n.link("/unsubscribe", Token{Purpose: PurposeUnsubscribe, SupporterID: s.ID}),
		PreferencesURL: n.PreferencesURL(s.ID)}
	n.setEvent(&rc, n.publicURL, e, NewEventFields(e, tpl.Language, st.Location()), s.ID, 0)
	rc.CalendarURL = n.calendarLink(n.publicURL, e, tpl.Language)
	if rsvp != nil {
		rc.RSVP = RSVPFields{Answer: string(rsvp.Answer), Guests: rsvp.Guests, Waiting: rsvp.Waiting}
	}
	if r.Kind == NoticeEventChange {
		var why string
		if rc.Change, why, err = n.changeFor(ctx, r, e, st.Location(), tpl.Language); err != nil || why != "" {
			return why, err
		}
	}
	out, err := tpl.Render(rc)
	if err != nil {
		return "", fmt.Errorf("event %s: %s email: %w", e.Name, r.Kind, err)
	}
	m.Subject, m.HTML, m.Text = out.Subject, out.HTML, out.Text
	return "", nil
}

// Reminders.

// eventReminderRow is one reminder of an event.
type eventReminderRow struct {
	bun.BaseModel `bun:"table:newsletter_event_reminders"`

	EventID   int64     `bun:"event_id,pk"`
	Number    int       `bun:"number,pk"`
	CreatedAt time.Time `bun:"created_at"`
}

// ReminderOptions says how RemindEvent reminds.
type ReminderOptions struct {
	// Templates are the reminder's own email, one per language (the
	// first for other languages); none sends the package's default
	// (DefaultEventTemplate).
	Templates []TemplateSource
	// Again makes a new reminder even if the last one is less than
	// ReminderInterval old.
	Again bool
}

// Reminder says what RemindEvent did.
type Reminder struct {
	Event *crm.Event `json:"event"`
	// Number is the reminder's: 1 for the first of the event.
	Number    int       `json:"number"`
	CreatedAt time.Time `json:"created_at"`
	// Notices are the emails queued now, one per person who answered
	// yes (holding a place) or maybe: send them with SendNotices (IDs).
	Notices []int64 `json:"notices"`
	// Resumed says no reminder was made: the last one, less than
	// ReminderInterval old, still has Waiting emails to send (a run that
	// stopped before sending them all); send them with SendNotices
	// (EventID and Occasion).
	Resumed bool `json:"resumed,omitempty"`
	Waiting int  `json:"waiting,omitempty"`
}

// Occasion is the reminder's dedupe key, "reminder-2", for
// NoticeOptions.Occasion.
func (r *Reminder) Occasion() string { return "reminder-" + strconv.Itoa(r.Number) }

// RemindEvent makes the event's next reminder: in one transaction, it
// numbers it and queues a NoticeEventReminder for each person who
// answered yes (holding a place, not waiting) or maybe, at most once per
// person and reminder. When the last reminder is less than
// ReminderInterval old and opts.Again is false, it makes none: if that
// reminder still has emails to send (the run that made it stopped), it
// says so (Reminder.Resumed), else it returns an error wrapping
// ErrReminderTooSoon. It returns an error wrapping crm.ErrEventClosed for
// a cancelled or started event, crm.ErrNotFound for an unknown one, and a
// *TemplateError for a template's mistake, with nothing queued.
func (n *Newsletter) RemindEvent(ctx context.Context, name string, opts ReminderOptions) (*Reminder, error) {
	rows, err := checkEventTemplates(opts.Templates)
	if err != nil {
		return nil, err
	}
	rem := &Reminder{}
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		*rem = Reminder{}
		idb := dbutil.Tx(tx)
		e, err := tx.LockEvent(ctx, name)
		if err != nil {
			return err
		}
		now := n.clock()
		if !e.Open(now) {
			what := "has started"
			if e.Status == crm.EventCancelled {
				what = "was cancelled"
			}
			return fmt.Errorf("event %s %s: no reminder: %w", e.Name, what, crm.ErrEventClosed)
		}
		rem.Event = e
		var last []eventReminderRow
		if err := idb.NewSelect().Model(&last).Where("event_id = ?", e.ID).Order("number DESC").Limit(1).
			Scan(ctx); err != nil {
			return fmt.Errorf("reminders: %w", err)
		}
		if len(last) > 0 && now.Sub(last[0].CreatedAt) < ReminderInterval && !opts.Again {
			rem.Number, rem.CreatedAt, rem.Resumed = last[0].Number, last[0].CreatedAt, true
			waiting, err := idb.NewSelect().Table("newsletter_notices").
				Where("event_id = ? AND dedupe = ? AND status IN (?, ?)", e.ID, rem.Occasion(), noticePending, noticeInFlight).
				Count(ctx)
			if err != nil {
				return fmt.Errorf("reminders: %w", err)
			}
			if rem.Waiting = int(waiting); rem.Waiting == 0 {
				return fmt.Errorf("event %s: reminder %d, made %s ago, is sent: %w", e.Name, rem.Number,
					now.Sub(rem.CreatedAt).Round(time.Second), ErrReminderTooSoon)
			}
			return nil
		}
		rem.Number, rem.CreatedAt = 1, now
		if len(last) > 0 {
			rem.Number = last[0].Number + 1
		}
		if _, err := idb.NewInsert().Model(&eventReminderRow{EventID: e.ID, Number: rem.Number, CreatedAt: now}).
			Exec(ctx); err != nil {
			return fmt.Errorf("event %s: reminder %d (made by another run at the same time?): %w", e.Name, rem.Number, err)
		}
		if err := storeEventTemplates(ctx, idb, e.ID, rem.Occasion(), rows); err != nil {
			return err
		}
		answers, err := tx.EventAnswers(ctx, e, crm.AnswerYes, crm.AnswerMaybe)
		if err != nil {
			return err
		}
		if rem.Notices, err = queueToAnswers(ctx, idb, NoticeEventReminder, e.ID, answers, true, rem.Occasion(), now); err != nil {
			return err
		}
		return tx.Audit(ctx, "event remind", fmt.Sprintf("event %s: reminder %d, %d email(s) queued", e.Name,
			rem.Number, len(rem.Notices)))
	})
	if err != nil {
		return nil, err
	}
	return rem, nil
}

// Cancellation.

// CancelOptions says how CancelEvent tells people.
type CancelOptions struct {
	// Templates are the cancellation's own email, one per language (the
	// first for other languages); none sends the package's default.
	Templates []TemplateSource
}

// Cancellation says what CancelEvent did.
type Cancellation struct {
	Event *crm.Event `json:"event"`
	// Notices are the emails queued, one per person who answered yes
	// (waiting list included) or maybe: send them with SendNotices.
	Notices []int64 `json:"notices"`
	// Unscheduled are the scheduled invitations to the event that will
	// no longer be sent.
	Unscheduled []string `json:"unscheduled,omitempty"`
}

// CancelEvent cancels the event (crm.Tx.CancelEvent) and, in the same
// transaction, queues a NoticeEventCancel for each person who answered
// yes (waiting list included) or maybe, once per person (a second
// cancellation cannot happen: the event is cancelled once), and
// unschedules the invitations to it not sent yet. It returns an error
// wrapping crm.ErrEventClosed if the event was already cancelled (its
// emails, if some still wait, go with SendNotices: EventID, Occasion
// "cancel"), crm.ErrNotFound for an unknown one, and a *TemplateError for
// a template's mistake, with nothing changed.
func (n *Newsletter) CancelEvent(ctx context.Context, name string, opts CancelOptions) (*Cancellation, error) {
	rows, err := checkEventTemplates(opts.Templates)
	if err != nil {
		return nil, err
	}
	out := &Cancellation{}
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		*out = Cancellation{}
		idb := dbutil.Tx(tx)
		e, err := tx.CancelEvent(ctx, name)
		if err != nil {
			return err
		}
		out.Event = e
		if err := storeEventTemplates(ctx, idb, e.ID, CancelOccasion, rows); err != nil {
			return err
		}
		answers, err := tx.EventAnswers(ctx, e, crm.AnswerYes, crm.AnswerMaybe)
		if err != nil {
			return err
		}
		now := n.clock()
		if out.Notices, err = queueToAnswers(ctx, idb, NoticeEventCancel, e.ID, answers, false, CancelOccasion, now); err != nil {
			return err
		}
		if err := idb.NewSelect().Table("newsletter_campaigns").Column("name").
			Where("event_id = ? AND status = ? AND scheduled_at IS NOT NULL", e.ID, StatusDraft).Order("id").
			Scan(ctx, &out.Unscheduled); err != nil {
			return fmt.Errorf("invitations: %w", err)
		}
		if len(out.Unscheduled) > 0 {
			if _, err := idb.NewUpdate().Table("newsletter_campaigns").Set("scheduled_at = NULL").
				Where("event_id = ? AND status = ?", e.ID, StatusDraft).Exec(ctx); err != nil {
				return fmt.Errorf("invitations: %w", err)
			}
		}
		return tx.Audit(ctx, "event cancel emails", fmt.Sprintf("event %s: %d email(s) queued, %d invitation(s) unscheduled",
			e.Name, len(out.Notices), len(out.Unscheduled)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CancelOccasion is the dedupe key of an event's cancellation notices,
// for NoticeOptions.Occasion.
const CancelOccasion = "cancel"
