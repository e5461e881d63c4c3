package newsletter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// CampaignStatus is where a campaign stands.
type CampaignStatus string

// Campaign statuses.
const (
	StatusDraft   CampaignStatus = "draft"   // created; its audience is not frozen yet
	StatusSending CampaignStatus = "sending" // audience frozen; some deliveries may be pending
	StatusSent    CampaignStatus = "sent"    // every delivery is sent, failed or skipped
)

// Campaign is a message to a list, possibly narrowed by a segment, in one
// or more languages.
type Campaign struct {
	bun.BaseModel `bun:"table:newsletter_campaigns,alias:c" json:"-"`

	ID         int64          `bun:"id,pk,autoincrement" json:"id"`
	UID        string         `bun:"uid" json:"-"`
	Name       string         `bun:"name" json:"name"`
	ListID     int64          `bun:"list_id" json:"-"`
	List       string         `bun:"list,scanonly" json:"list"`
	Segment    string         `bun:"segment" json:"segment,omitempty"`
	From       string         `bun:"from_addr" json:"from"`
	ReplyTo    string         `bun:"reply_to" json:"reply_to,omitempty"`
	Subject    string         `bun:"subject" json:"subject,omitempty"`
	Status     CampaignStatus `bun:"status" json:"status"`
	Recipients int            `bun:"recipients" json:"recipients"`
	CreatedAt  time.Time      `bun:"created_at" json:"created_at"`
	StartedAt  time.Time      `bun:"started_at,nullzero" json:"started_at,omitzero"`
	FinishedAt time.Time      `bun:"finished_at,nullzero" json:"finished_at,omitzero"`
	LeaseOwner string         `bun:"lease_owner" json:"-"`
	LeaseUntil time.Time      `bun:"lease_until,nullzero" json:"-"`
	LeaseHost  string         `bun:"lease_host" json:"-"`
	LeasePID   int            `bun:"lease_pid" json:"-"`
	LeaseStart string         `bun:"lease_pid_start" json:"-"`
	// Association and PostalAddress are shown in the footer: the
	// settings' name and postal-address, copied when the send starts
	// (a draft shows the settings as they are now).
	// ScheduledAt is when SendDue sends it (zero: when a person does).
	ScheduledAt time.Time `bun:"scheduled_at,nullzero" json:"scheduled_at,omitzero"`
	Association string    `bun:"association" json:"association,omitempty"`
	// Opened and Clicked count the opens and clicks the provider reports
	// when the association turns its tracking on: per campaign only,
	// never who opened or clicked.
	Opened  int `bun:"opened" json:"opened"`
	Clicked int `bun:"clicked" json:"clicked"`
	// PublicURL is the base of the links of its emails, copied when the
	// send starts (a draft's links use the Newsletter's).
	PublicURL string `bun:"public_url" json:"-"`
	// linkBase is PublicURL parsed, set by parseTemplates before any
	// message is rendered; nil for a draft.
	linkBase      *url.URL
	PostalAddress string `bun:"postal_address" json:"postal_address,omitempty"`
	// EventID is the event an invitation invites to (0 for a campaign
	// that is none), Event its name. EventSnapshot is the event as it
	// was when the send started (see event_email.go).
	EventID       int64  `bun:"event_id,nullzero" json:"-"`
	Event         string `bun:"event,scanonly" json:"event,omitempty"`
	EventSnapshot string `bun:"event_snapshot" json:"-"`
	// event is what rendering an invitation needs of its event, set by
	// campaignTemplates.
	event *invitationEvent

	Templates []TemplateSource `bun:"-" json:"templates"`
}

// TemplateSource is one language variant as written.
type TemplateSource struct {
	bun.BaseModel `bun:"table:newsletter_templates" json:"-"`

	CampaignID int64  `bun:"campaign_id,pk" json:"-"`
	Language   string `bun:"language,pk" json:"language"`
	Position   int    `bun:"position" json:"-"`
	Source     string `bun:"source" json:"-"`
}

// CampaignSpec describes a campaign to create.
type CampaignSpec struct {
	Name    string
	List    string // the list whose subscribers receive it
	Segment string // optional expression narrowing the list (package segment)
	From    string // "Asso <news@asso.org>"
	ReplyTo string
	// Subject, if set, replaces the subject of every template's front
	// matter.
	Subject string
	// Templates are the language variants; each recipient gets the one of
	// their language, else the first.
	Templates []TemplateSource
	// Event, if set, makes the campaign an invitation to the event of
	// this name: its templates may use the event's fields and answer
	// links (see Recipient), and nobody is invited to one event twice.
	// See CreateInvitation.
	Event string
}

// sampleRecipient is who templates are test-rendered for when a campaign
// is created, so a template error is found before anything is sent.
var sampleRecipient = Recipient{FirstName: "Camille", LastName: "Exemple", Email: "camille@example.org",
	City: "Calais", Attributes: map[string]string{}}

// CreateCampaign checks spec (list, segment, addresses, every template
// parsed and rendered for sampleRecipient, a subject for each language;
// for an invitation, an answer link in each template) and stores the
// campaign as a draft. It returns an error wrapping crm.ErrConflict for a
// taken name or, for an invitation, ErrInvitationUnfinished while another
// to its event is not sent; crm.ErrNotFound for an unknown list, or
// crm.ErrInvalid naming the field at fault.
func (n *Newsletter) CreateCampaign(ctx context.Context, spec CampaignSpec) (*Campaign, error) {
	c, err := n.checkSpec(ctx, spec)
	if err != nil {
		return nil, err
	}
	c.Status, c.CreatedAt, c.UID = StatusDraft, n.clock(), randomUID()
	err = n.db.RunInTx(ctx, func(crmTx *crm.Tx) error {
		tx := dbutil.Tx(crmTx)
		if err := liveList(ctx, crmTx, c); err != nil {
			return err
		}
		if err := crmTx.Audit(ctx, "campaign create", "campaign "+c.Name); err != nil {
			return err
		}
		taken, err := tx.NewSelect().Table("newsletter_campaigns").Where("name = ?", c.Name).Exists(ctx)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("campaign %q already exists: %w", c.Name, crm.ErrConflict)
		}
		if c.EventID != 0 {
			// Locked (on PostgreSQL): two invitations of one event are
			// created one after the other, the second seeing the first.
			if _, err := crmTx.LockEvent(ctx, c.Event); err != nil {
				return err
			}
			if err := unfinishedInvitation(ctx, tx, c.EventID, c.Event, 0); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			return err
		}
		return insertTemplates(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkSpec validates spec and returns the campaign it describes, not
// stored yet.
func (n *Newsletter) checkSpec(ctx context.Context, spec CampaignSpec) (*Campaign, error) {
	name, err := crm.Slug("name", spec.Name)
	if err != nil {
		return nil, err
	}
	list, err := n.db.GetList(ctx, spec.List)
	if err != nil {
		return nil, err
	}
	if spec.Segment = strings.TrimSpace(spec.Segment); spec.Segment != "" {
		if err := n.db.ValidateSegment(ctx, spec.Segment); err != nil {
			return nil, err
		}
	}
	if _, err := mail.ParseAddress(spec.From); err != nil {
		return nil, &crm.ValidationError{Field: "from", Value: spec.From, Reason: "want an address such as \"Asso <news@asso.org>\""}
	}
	c := &Campaign{Name: name, ListID: list.ID, List: list.Name, Segment: spec.Segment, From: crm.CleanText(spec.From),
		Subject: crm.CleanText(spec.Subject)}
	var event *crm.Event
	if spec.Event != "" {
		if event, err = n.db.GetEvent(ctx, spec.Event); err != nil {
			return nil, err
		}
		if !event.Open(n.clock()) {
			what := "has started"
			if event.Status == crm.EventCancelled {
				what = "was cancelled"
			}
			return nil, fmt.Errorf("event %s %s: %w", event.Name, what, crm.ErrEventClosed)
		}
		c.EventID, c.Event = event.ID, event.Name
	}
	if spec.ReplyTo != "" {
		if _, err := mail.ParseAddress(spec.ReplyTo); err != nil {
			return nil, &crm.ValidationError{Field: "reply-to", Value: spec.ReplyTo, Reason: "not an email address"}
		}
		c.ReplyTo = crm.CleanText(spec.ReplyTo)
	}
	if len(spec.Templates) == 0 {
		return nil, &crm.ValidationError{Field: "template", Reason: "at least one template is needed"}
	}
	for i, ts := range spec.Templates {
		lang, err := crm.NormalizeLanguage(ts.Language)
		if err != nil {
			return nil, &crm.ValidationError{Field: "template", Value: ts.Language, Reason: "not a language code such as fr or en"}
		}
		for _, prev := range c.Templates {
			if prev.Language == lang {
				return nil, &crm.ValidationError{Field: "template", Value: lang, Reason: "two templates for one language"}
			}
		}
		if f := eventFieldsUsed(ts.Source); f != "" && event == nil {
			return nil, &TemplateError{Language: lang, Reason: fmt.Sprintf(
				"{{.%s}} is for an invitation to an event: give the campaign its event (crm events invite)", f)}
		}
		tpl, err := parseCampaignTemplate(lang, ts.Source, event != nil)
		if te := (*TemplateError)(nil); errors.As(err, &te) {
			te.Language = lang
			return nil, te
		} else if err != nil {
			return nil, &TemplateError{Language: lang, Reason: err.Error()}
		}
		if event != nil {
			if err := checkAnswerLinks(lang, ts.Source); err != nil {
				return nil, err
			}
		}
		if c.Subject != "" {
			if err := tpl.setSubject(c.Subject); err != nil {
				var te *TemplateError
				if errors.As(err, &te) {
					return nil, &crm.ValidationError{Field: "subject", Value: c.Subject, Reason: te.Reason}
				}
				return nil, err
			}
		}
		sample := sampleRecipient
		sample.Language, sample.UnsubscribeURL, sample.PreferencesURL = lang, n.UnsubscribeURL(0, list.ID), n.PreferencesURL(0)
		if event != nil {
			st, err := n.db.Settings(ctx)
			if err != nil {
				return nil, err
			}
			n.setEvent(&sample, n.publicURL, event, NewEventFields(event, lang, st.Location()), 0, 0)
			sample.CalendarURL = n.calendarLink(n.publicURL, event, lang)
		}
		out, err := tpl.Render(sample)
		if err != nil {
			return nil, &TemplateError{Language: lang, Reason: "rendered for a sample supporter: " + err.Error()}
		}
		if c.Subject == "" && out.Subject == "" {
			return nil, &crm.ValidationError{Field: "subject", Value: lang,
				Reason: "no subject: give the campaign a Subject, or the template a \"subject:\" line in its front matter"}
		}
		c.Templates = append(c.Templates, TemplateSource{Language: lang, Position: i, Source: ts.Source})
	}
	return c, nil
}

func insertTemplates(ctx context.Context, idb bun.IDB, c *Campaign) error {
	for i := range c.Templates {
		c.Templates[i].CampaignID = c.ID
	}
	_, err := idb.NewInsert().Model(&c.Templates).Exec(ctx)
	return err
}

// spec returns what c was created from, to edit or copy it.
func (c *Campaign) spec() CampaignSpec {
	sp := CampaignSpec{Name: c.Name, List: c.List, Segment: c.Segment, From: c.From, ReplyTo: c.ReplyTo,
		Subject: c.Subject, Event: c.Event}
	for _, t := range c.Templates {
		sp.Templates = append(sp.Templates, TemplateSource{Language: t.Language, Source: t.Source})
	}
	return sp
}

// ErrNotDraft is wrapped by the errors of EditCampaign and DeleteCampaign
// for a campaign whose send has started: from then on it is the record of
// what was sent. CopyCampaign makes a new draft of it.
var ErrNotDraft = errors.New("its send has started: it is kept as the record of what was sent")

// CampaignEdit changes a draft campaign; nil fields stay as they are.
type CampaignEdit struct {
	List    *string
	Segment *string // "" removes the segment: the whole list
	From    *string
	ReplyTo *string // "" removes it
	Subject *string // "" leaves the subject to each template's front matter
	// Templates adds language variants, or replaces the one of the same
	// language.
	Templates []TemplateSource
	// RemoveTemplates removes the variants of these languages; at least
	// one must stay.
	RemoveTemplates []string
}

// EditCampaign changes a draft with the checks of CreateCampaign, in one
// transaction. It returns an error wrapping ErrNotDraft (and
// crm.ErrConflict) once a send of the campaign has started, crm.ErrNotFound
// for an unknown campaign, list or template language to remove, or
// crm.ErrInvalid naming the field at fault; the campaign is then as it was.
func (n *Newsletter) EditCampaign(ctx context.Context, name string, edit CampaignEdit) (*Campaign, error) {
	cur, err := n.Campaign(ctx, name)
	if err != nil {
		return nil, err
	}
	if cur.Status != StatusDraft {
		return nil, notDraft(cur)
	}
	sp := cur.spec()
	for _, f := range []struct {
		to   *string
		from *string
	}{{&sp.List, edit.List}, {&sp.Segment, edit.Segment}, {&sp.From, edit.From}, {&sp.ReplyTo, edit.ReplyTo},
		{&sp.Subject, edit.Subject}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	for _, lang := range edit.RemoveTemplates {
		l, err := crm.NormalizeLanguage(lang)
		if err != nil {
			return nil, &crm.ValidationError{Field: "remove-template", Value: lang, Reason: "not a language code such as fr or en"}
		}
		i := slices.IndexFunc(sp.Templates, func(t TemplateSource) bool { return t.Language == l })
		if i < 0 {
			return nil, fmt.Errorf("campaign %s has no %s template: %w", cur.Name, l, crm.ErrNotFound)
		}
		sp.Templates = slices.Delete(sp.Templates, i, i+1)
	}
	for _, t := range edit.Templates {
		l, err := crm.NormalizeLanguage(t.Language)
		if err != nil {
			return nil, &crm.ValidationError{Field: "template", Value: t.Language, Reason: "not a language code such as fr or en"}
		}
		t.Language = l
		if i := slices.IndexFunc(sp.Templates, func(o TemplateSource) bool { return o.Language == l }); i >= 0 {
			sp.Templates[i] = t
		} else {
			sp.Templates = append(sp.Templates, t)
		}
	}
	if len(sp.Templates) == 0 {
		return nil, &crm.ValidationError{Field: "remove-template", Reason: "a campaign keeps at least one template"}
	}
	c, err := n.checkSpec(ctx, sp)
	if err != nil {
		return nil, err
	}
	err = n.db.RunInTx(ctx, func(crmTx *crm.Tx) error {
		tx := dbutil.Tx(crmTx)
		if err := (sendStore{tx}).lockCampaign(ctx, cur.Name); err != nil {
			return err
		}
		if err := liveList(ctx, crmTx, c); err != nil {
			return err
		}
		if err := crmTx.Audit(ctx, "campaign edit", "campaign "+cur.Name); err != nil {
			return err
		}
		now, err := getCampaign(ctx, tx, cur.Name)
		if err != nil {
			return err
		}
		if now.Status != StatusDraft {
			return notDraft(now)
		}
		c.ID, c.UID, c.Status, c.CreatedAt, c.ScheduledAt = now.ID, now.UID, now.Status, now.CreatedAt, now.ScheduledAt
		if _, err := tx.NewUpdate().Model(c).Column("list_id", "segment", "from_addr", "reply_to", "subject").
			WherePK().Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*TemplateSource)(nil)).Where("campaign_id = ?", c.ID).Exec(ctx); err != nil {
			return err
		}
		return insertTemplates(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func notDraft(c *Campaign) error {
	return fmt.Errorf("campaign %s is %s: %w: %w", c.Name, c.Status, ErrNotDraft, crm.ErrConflict)
}

// CopyCampaign creates the draft to, with the list, segment, sender,
// subject and templates of the campaign from, whatever its state (last
// month's letter, yesterday's alert). It checks them as CreateCampaign
// does, so a copy of a campaign whose list is gone is refused.
func (n *Newsletter) CopyCampaign(ctx context.Context, from, to string) (*Campaign, error) {
	c, err := n.Campaign(ctx, from)
	if err != nil {
		return nil, err
	}
	// By name, a deleted list's campaign would go to a new list that
	// took the name: another list, other people.
	if l, err := n.db.GetListByID(ctx, c.ListID); err != nil {
		return nil, err
	} else if !l.DeletedAt.IsZero() {
		return nil, fmt.Errorf("campaign %s: its list %s was deleted: %w", c.Name, l.Name, crm.ErrNotFound)
	}
	sp := c.spec()
	sp.Name = to
	return n.CreateCampaign(ctx, sp)
}

// DeleteCampaign deletes a draft. A campaign whose send has started is
// kept as the record of what was sent: the error wraps ErrNotDraft.
func (n *Newsletter) DeleteCampaign(ctx context.Context, name string) error {
	return n.db.RunInTx(ctx, func(crmTx *crm.Tx) error {
		tx := dbutil.Tx(crmTx)
		slug, err := crm.Slug("campaign", name)
		if err != nil {
			return err
		}
		if err := (sendStore{tx}).lockCampaign(ctx, slug); err != nil {
			return err
		}
		c, err := getCampaign(ctx, tx, slug)
		if err != nil {
			return err
		}
		if c.Status != StatusDraft {
			return notDraft(c)
		}
		if _, err := tx.NewDelete().Model((*TemplateSource)(nil)).Where("campaign_id = ?", c.ID).Exec(ctx); err != nil {
			return err
		}
		if _, err = tx.NewDelete().Model((*Campaign)(nil)).Where("id = ?", c.ID).Exec(ctx); err != nil {
			return err
		}
		return crmTx.Audit(ctx, "campaign delete", "campaign "+c.Name)
	})
}

func randomUID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Campaign returns the named campaign with its templates, or an error
// wrapping crm.ErrNotFound.
func (n *Newsletter) Campaign(ctx context.Context, name string) (*Campaign, error) {
	return getCampaign(ctx, n.bun, name)
}

func getCampaign(ctx context.Context, idb bun.IDB, name string) (*Campaign, error) {
	slug, err := crm.Slug("campaign", name)
	if err != nil {
		return nil, err
	}
	var cs []*Campaign
	if err := idb.NewSelect().Model(&cs).ColumnExpr("c.*").ColumnExpr("l.name AS list").
		Join("JOIN lists AS l ON l.id = c.list_id").
		ColumnExpr("COALESCE(ev.name, '') AS event").Join("LEFT JOIN events AS ev ON ev.id = c.event_id").
		Where("c.name = ?", slug).Scan(ctx); err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("campaign %q: %w", slug, crm.ErrNotFound)
	}
	c := cs[0]
	c.List = crm.ListName(c.List)
	if err := idb.NewSelect().Model(&c.Templates).Where("campaign_id = ?", c.ID).Order("position").Scan(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Campaigns returns every campaign, newest first, without templates.
func (n *Newsletter) Campaigns(ctx context.Context) ([]*Campaign, error) {
	var cs []*Campaign
	err := n.bun.NewSelect().Model(&cs).ColumnExpr("c.*").ColumnExpr("l.name AS list").
		Join("JOIN lists AS l ON l.id = c.list_id").
		ColumnExpr("COALESCE(ev.name, '') AS event").Join("LEFT JOIN events AS ev ON ev.id = c.event_id").
		Order("c.id DESC").Scan(ctx)
	for _, c := range cs {
		c.List = crm.ListName(c.List)
	}
	return cs, err
}

// Stats counts a campaign's deliveries.
type Stats struct {
	Campaign   *Campaign      `json:"campaign"`
	Recipients int            `json:"recipients"`
	Pending    int            `json:"pending"`
	Sent       int            `json:"sent"`
	Failed     int            `json:"failed"`
	Skipped    int            `json:"skipped"`
	ByLanguage map[string]int `json:"by_language"`
	// Uncertain counts the failed deliveries whose batch may have gone
	// out (in flight when a send stopped, past the idempotency window).
	Uncertain int `json:"uncertain"`
	// FailedReasons counts the failed deliveries by reason.
	FailedReasons map[string]int `json:"failed_reasons,omitempty"`
	// What the provider's webhooks said of the sent messages (the last
	// event of each), and who left the list through the campaign's
	// unsubscribe link. Opens and clicks are on Campaign.
	Delivered    int `json:"delivered"`
	Delayed      int `json:"delayed"`
	Bounced      int `json:"bounced"`
	Complained   int `json:"complained"`
	Unsubscribed int `json:"unsubscribed"`
}

// CampaignStats returns the campaign and its counts. Before the send
// starts, Recipients and ByLanguage count who would receive it now.
func (n *Newsletter) CampaignStats(ctx context.Context, name string) (*Stats, error) {
	c, err := n.Campaign(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &Stats{Campaign: c, ByLanguage: map[string]int{}}
	if c.Status == StatusDraft {
		// Counted by the database, language by language: the audience
		// may be the whole base.
		q, err := n.audience(ctx, n.bun, c)
		if err != nil {
			return nil, err
		}
		var langs []struct {
			Language string
			Count    int
		}
		if err := q.ColumnExpr("s.language, COUNT(*) AS count").Group("s.language").Scan(ctx, &langs); err != nil {
			return nil, fmt.Errorf("campaign %s: audience: %w", c.Name, err)
		}
		for _, l := range langs {
			st.Recipients += l.Count
			st.ByLanguage[n.variantFor(c, l.Language)] += l.Count
		}
		st.Pending = st.Recipients
		c.Recipients = st.Recipients // who would receive it now, as the counts say
		return st, nil
	}
	var rows []struct {
		Status       deliveryStatus
		Language     string
		Event        string
		Error        string
		Count        int
		Unsubscribed int
	}
	// The error is grouped for failed deliveries only: the reasons are
	// few, the sent ones have none.
	if err := n.bun.NewSelect().Table("newsletter_deliveries").
		ColumnExpr("status, language, event, CASE WHEN status = ? THEN error ELSE '' END AS error", deliveryFailed).
		ColumnExpr("COUNT(*) AS count, COUNT(unsubscribed_at) AS unsubscribed").
		Where("campaign_id = ?", c.ID).GroupExpr("status, language, event, 4").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		st.Recipients += r.Count
		st.ByLanguage[r.Language] += r.Count
		st.Unsubscribed += r.Unsubscribed
		switch r.Status {
		case deliveryPending:
			st.Pending += r.Count
		case deliverySent:
			st.Sent += r.Count
		case deliveryFailed:
			st.Failed += r.Count
			if st.FailedReasons == nil {
				st.FailedReasons = map[string]int{}
			}
			st.FailedReasons[r.Error] += r.Count
			if r.Error == uncertainReason || r.Error == keyReusedReason {
				st.Uncertain += r.Count
			}
		case deliverySkipped:
			st.Skipped += r.Count
		}
		switch r.Event {
		case "delivered":
			st.Delivered += r.Count
		case "delayed":
			st.Delayed += r.Count
		case "bounced":
			st.Bounced += r.Count
		case "complained":
			st.Complained += r.Count
		}
	}
	return st, nil
}

// recipientRow is a member of a campaign's audience.
type recipientRow struct {
	ID       int64  `bun:"id"`
	Email    string `bun:"email"`
	Language string `bun:"language"`
}

// audience selects who the campaign goes to now: the list's subscribed
// members (for a double opt-in list, those who confirmed) matching the
// segment, minus anyone whose mail bounces or who complained, and for an
// invitation anyone another invitation to the event is for. The
// supporters are "s"; the caller picks the columns.
func (n *Newsletter) audience(ctx context.Context, idb bun.IDB, c *Campaign) (*bun.SelectQuery, error) {
	q, err := dbutil.SupporterQuery(ctx, idb, crm.SupporterFilter{List: &c.List, Segment: c.Segment, Mailable: true})
	if err != nil {
		return nil, fmt.Errorf("campaign %s: audience: %w", c.Name, err)
	}
	q = q.Conn(idb)
	if c.EventID != 0 {
		q = invitedElsewhere(q, c)
	}
	return q, nil
}

// variantFor returns the template language a recipient gets.
func (n *Newsletter) variantFor(c *Campaign, lang string) string {
	for _, t := range c.Templates {
		if t.Language == lang {
			return lang
		}
	}
	if len(c.Templates) == 0 {
		return lang
	}
	return c.Templates[0].Language
}
