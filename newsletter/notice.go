package newsletter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// Notices are the emails one person's own action calls for: the
// confirmation of a signup, the welcome of a list. They go through the
// same delivery engine as campaigns (deliver: rate limits, retries, one
// idempotency key per message), with the same guarantees:
//
//   - A notice is queued (a row of newsletter_notices) in the transaction
//     of the change that calls for it, so a change that commits always has
//     its email and one that rolls back has none, and a change made once
//     (a subscription confirmed twice at the same instant is confirmed
//     once: crm locks the supporter) queues it once.
//   - It is sent after that commit by whoever made the change, when they
//     have a sender, else by the next SendNotices (crm serve runs it every
//     30 seconds, crm send --due once).
//   - Sending claims the row in one statement, so two senders never both
//     send it; the message is rendered once and stored before the
//     provider is called, so a retry after a crash or a lost answer sends
//     the same bytes under the same random key, which the provider answers
//     without sending again. Resend keeps keys for 24 hours: a notice whose
//     first attempt is older than that and whose fate is unknown is marked
//     uncertain and never sent again.
//   - A resolved notice keeps no copy of the message, and erasing the
//     person drops their queued ones (see Forget).

// NoticeKind is what a notice is.
type NoticeKind string

// Kinds of notices.
const (
	NoticeConfirm NoticeKind = "confirm" // asks to confirm pending subscriptions
	NoticeWelcome NoticeKind = "welcome" // welcomes a new subscriber of a list
	// NoticeEventPlace tells someone on an event's waiting list that a
	// place freed up and is theirs.
	NoticeEventPlace NoticeKind = "event-place"
	// NoticeEventReminder, NoticeEventCancel and NoticeEventChange: see
	// event_email.go.
)

// noticeKeyLifetime is how long the provider remembers an idempotency key.
const noticeKeyLifetime = 24 * time.Hour

// noticeClaim is how long a sender holds a notice it is sending; one that
// outlives it may be taken over, which is safe: the key is the same.
const noticeClaim = 5 * time.Minute

type noticeStatus string

const (
	noticePending   noticeStatus = "pending"
	noticeInFlight  noticeStatus = "in_flight" // claimed; handed to the provider once the payload is set
	noticeSent      noticeStatus = "sent"
	noticeFailed    noticeStatus = "failed"    // refused by the provider for good
	noticeSkipped   noticeStatus = "skipped"   // no longer called for (erased, confirmed since, expired)
	noticeUncertain noticeStatus = "uncertain" // may have gone out; never sent again
)

type noticeRow struct {
	bun.BaseModel `bun:"table:newsletter_notices,alias:nn"`

	ID          int64        `bun:"id,pk,autoincrement"`
	Kind        NoticeKind   `bun:"kind"`
	SupporterID int64        `bun:"supporter_id"`
	ListIDs     string       `bun:"list_ids"`
	EventID     int64        `bun:"event_id,nullzero"`
	ReceiptID   int64        `bun:"receipt_id,nullzero"`
	Dedupe      string       `bun:"dedupe,nullzero"`
	Key         string       `bun:"idempotency_key"`
	Status      noticeStatus `bun:"status"`
	Payload     string       `bun:"payload"`
	Owner       string       `bun:"owner"`
	ClaimedTo   *time.Time   `bun:"claimed_until"`
	ProviderID  string       `bun:"provider_id"`
	Error       string       `bun:"error"`
	CreatedAt   time.Time    `bun:"created_at"`
	AttemptedAt *time.Time   `bun:"attempted_at"`
	FinishedAt  *time.Time   `bun:"finished_at"`
}

func (r *noticeRow) lists() []int64 {
	var out []int64
	for _, f := range strings.Split(r.ListIDs, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// queueNotice records, in the caller's transaction, a notice to send.
func queueNotice(ctx context.Context, idb bun.IDB, kind NoticeKind, supporterID int64, listIDs []int64, now time.Time) (int64, error) {
	ids := make([]string, len(listIDs))
	for i, id := range listIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	r := &noticeRow{Kind: kind, SupporterID: supporterID, ListIDs: strings.Join(ids, ","),
		Key: "notice-" + randomHex(16), Status: noticePending, CreatedAt: now}
	if _, err := idb.NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("queue %s email: %w", kind, err)
	}
	return r.ID, nil
}

// queueWelcome queues the list's welcome email for the supporter, in the
// transaction where their subscription became subscribed, if the list has
// one. It reports whether it queued it.
func queueWelcome(ctx context.Context, tx *crm.Tx, supporterID, listID int64, now time.Time) (int64, error) {
	has, err := dbutil.Tx(tx).NewSelect().Table("newsletter_list_templates").
		Where("list_id = ? AND kind = ?", listID, NoticeWelcome).Exists(ctx)
	if err != nil || !has {
		return 0, err
	}
	return queueNotice(ctx, dbutil.Tx(tx), NoticeWelcome, supporterID, []int64{listID}, now)
}

// NoticeOptions says how SendNotices sends.
type NoticeOptions struct {
	// From and ReplyTo default to the association's settings.
	From    string
	ReplyTo string
	// SupporterID, when set, sends only that supporter's notices: what a
	// page does right after the change it made.
	SupporterID int64
	// IDs, when set, sends only these notices.
	IDs []int64
	// EventID, when set, sends only the notices about this event; with
	// Occasion too, only those of this occasion ("cancel", "reminder-2").
	EventID  int64
	Occasion string
	// MaxRetries is how often a temporary failure is retried (default 3).
	MaxRetries int
}

// NoticeReport says what SendNotices did.
type NoticeReport struct {
	Sent      int `json:"sent"`
	Failed    int `json:"failed"`    // refused for good by the provider
	Skipped   int `json:"skipped"`   // no longer called for: confirmed since, erased, expired
	Uncertain int `json:"uncertain"` // may have gone out; never sent again
	Waiting   int `json:"waiting"`   // left for a later run (a quota, a temporary failure)
	// Confirmations counts the confirmation emails among Sent.
	Confirmations int `json:"confirmations"`
	// Errors are the failures, without personal data.
	Errors []string `json:"errors,omitempty"`
}

// SendNotices sends the queued notices (confirmations, welcomes, the
// emails about events) through sender, each exactly once (see the
// package's notes on notices above).
// It returns an error only when it cannot go on (the database, no from
// address); what became of each notice is in the report.
func (n *Newsletter) SendNotices(ctx context.Context, sender Sender, opts NoticeOptions) (*NoticeReport, error) {
	if sender == nil {
		return nil, errors.New("notices: no sender")
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 3
	}
	st, err := n.db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if opts.From == "" {
		opts.From = st.From
	}
	if opts.ReplyTo == "" {
		opts.ReplyTo = st.ReplyTo
	}
	rep := &NoticeReport{}
	owner := "notices-" + randomHex(8)
	var after int64
	for {
		now := n.clock()
		var rows []*noticeRow
		q := n.bun.NewSelect().Model(&rows).
			Where("nn.id > ?", after).
			Where("(nn.status = ? OR (nn.status = ? AND (nn.claimed_until IS NULL OR nn.claimed_until < ?)))",
				noticePending, noticeInFlight, now).
			Order("nn.id").Limit(100)
		if opts.SupporterID != 0 {
			q = q.Where("nn.supporter_id = ?", opts.SupporterID)
		}
		if len(opts.IDs) > 0 {
			q = q.Where("nn.id IN (?)", bun.List(opts.IDs))
		}
		if opts.EventID != 0 {
			q = q.Where("nn.event_id = ?", opts.EventID)
		}
		if opts.Occasion != "" {
			q = q.Where("nn.dedupe = ?", opts.Occasion)
		}
		if err := q.Scan(ctx); err != nil {
			return rep, fmt.Errorf("notices: %w", err)
		}
		if len(rows) == 0 {
			return rep, nil
		}
		for _, r := range rows {
			after = r.ID
			if opts.From == "" {
				return rep, errors.New("notices: no from address: set one with crm settings set from, or give --from")
			}
			if err := n.sendNotice(ctx, r.ID, sender, owner, st, opts, rep); err != nil {
				return rep, err
			}
		}
	}
}

// sendNotice sends one notice, if it can claim it. It returns an error
// only when the database fails or ctx ends.
func (n *Newsletter) sendNotice(ctx context.Context, id int64, sender Sender, owner string, st *crm.Settings,
	opts NoticeOptions, rep *NoticeReport) error {
	now := n.clock()
	res, err := n.bun.NewUpdate().Table("newsletter_notices").
		Set("status = ?", noticeInFlight).Set("owner = ?", owner).Set("claimed_until = ?", now.Add(noticeClaim)).
		Where("id = ?", id).
		Where("(status = ? OR (status = ? AND (claimed_until IS NULL OR claimed_until < ?)))", noticePending, noticeInFlight, now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("notice %d: claim: %w", id, err)
	}
	if !affected(res) {
		return nil // another sender has it, or it is done
	}
	r := new(noticeRow)
	if err := n.bun.NewSelect().Model(r).Where("nn.id = ?", id).Scan(ctx); err != nil {
		return fmt.Errorf("notice %d: %w", id, err)
	}
	finish := func(status noticeStatus, providerID, why string) error {
		_, err := n.bun.NewUpdate().Table("newsletter_notices").
			Set("status = ?", status).Set("provider_id = ?", providerID).Set("error = ?", clip(why, 500)).
			Set("payload = ''").Set("owner = ''").Set("claimed_until = NULL").Set("finished_at = ?", n.clock()).
			Where("id = ? AND owner = ?", id, owner).Exec(ctx)
		if err != nil {
			return fmt.Errorf("notice %d: %w", id, err)
		}
		switch status {
		case noticeSent:
			rep.Sent++
			if r.Kind == NoticeConfirm {
				rep.Confirmations++
			}
		case noticeFailed:
			if r.Kind == NoticeConfirm {
				// Refused for good: the person may sign up again at once.
				n.releaseConfirmation(ctx, r.SupporterID)
			}
			rep.Failed++
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s email %d: %s", r.Kind, id, why))
		case noticeSkipped:
			rep.Skipped++
		case noticeUncertain:
			rep.Uncertain++
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s email %d: %s", r.Kind, id, why))
		}
		return nil
	}
	release := func(why string) error {
		// Back to the queue, payload kept: a later run sends the same
		// bytes under the same key.
		_, err := n.bun.NewUpdate().Table("newsletter_notices").Set("owner = ''").Set("claimed_until = NULL").
			Set("error = ?", clip(why, 500)).Where("id = ? AND owner = ?", id, owner).Exec(ctx)
		rep.Waiting++
		rep.Errors = append(rep.Errors, fmt.Sprintf("%s email %d: %s", r.Kind, id, why))
		return err
	}
	var m Message
	if r.Payload != "" {
		if r.AttemptedAt != nil && now.Sub(*r.AttemptedAt) > noticeKeyLifetime {
			return finish(noticeUncertain, "", "its first attempt is older than the provider keeps keys: it may have gone out")
		}
		if err := json.Unmarshal([]byte(r.Payload), &m); err != nil {
			return finish(noticeFailed, "", "stored message unreadable: "+err.Error())
		}
	} else {
		msg, why, err := n.renderNotice(ctx, r, st, opts)
		if err != nil {
			return finish(noticeFailed, "", err.Error())
		}
		if why != "" {
			return finish(noticeSkipped, "", why)
		}
		m = *msg
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("notice %d: %w", id, err)
		}
		res, err := n.bun.NewUpdate().Table("newsletter_notices").Set("payload = ?", string(b)).
			Set("attempted_at = ?", now).Where("id = ? AND owner = ?", id, owner).Exec(ctx)
		if err != nil {
			return fmt.Errorf("notice %d: %w", id, err)
		}
		if !affected(res) {
			return nil // taken over while rendering (an erasure, or a slow claim)
		}
	}
	results, refused, err := n.deliver(ctx, sender, r.Key, []Message{m}, SendOptions{MaxRetries: opts.MaxRetries})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *SendError
		switch {
		case errors.Is(err, ErrKeyReused):
			return finish(noticeUncertain, "", err.Error())
		case errors.As(err, &se) && se.Kind == KindPermanent:
			return finish(noticeFailed, "", err.Error())
		case refused || errors.Is(err, ErrQuota):
			return release(err.Error())
		default:
			return release(err.Error())
		}
	}
	if results[0].Error != "" {
		return finish(noticeFailed, "", results[0].Error)
	}
	return finish(noticeSent, results[0].ID, "")
}

// renderNotice makes a notice's message from what is true now. A notice
// no longer called for returns the reason to skip it.
func (n *Newsletter) renderNotice(ctx context.Context, r *noticeRow, st *crm.Settings, opts NoticeOptions) (*Message, string, error) {
	if r.Kind == NoticeReceipt {
		return n.renderReceiptNotice(ctx, r, st, opts)
	}
	s, err := n.db.GetSupporter(ctx, r.SupporterID)
	if errors.Is(err, crm.ErrNotFound) {
		return nil, "the supporter no longer exists", nil
	} else if err != nil {
		return nil, "", err
	}
	if !s.ErasedAt.IsZero() {
		return nil, "the supporter was erased", nil
	}
	switch r.Kind {
	case NoticeEventPlace, NoticeEventReminder, NoticeEventCancel, NoticeEventChange:
		m := &Message{From: opts.From, ReplyTo: opts.ReplyTo, To: s.Email}
		why, err := n.renderEventNotice(ctx, r, s, st, m)
		if err != nil || why != "" {
			return nil, why, err
		}
		return m, "", nil
	}
	subs, err := n.db.Subscriptions(ctx, s.ID)
	if err != nil {
		return nil, "", err
	}
	status := func(listID int64) crm.SubscriptionStatus {
		i := slices.IndexFunc(subs, func(sub crm.Subscription) bool { return sub.ListID == listID })
		if i < 0 {
			return ""
		}
		return subs[i].Status
	}
	var lists []*crm.List
	for _, id := range r.lists() {
		want := crm.StatusSubscribed
		if r.Kind == NoticeConfirm {
			want = crm.StatusPending
		}
		if status(id) != want {
			continue // confirmed, or left, since
		}
		l, err := n.db.GetListByID(ctx, id)
		if errors.Is(err, crm.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, "", err
		}
		lists = append(lists, l)
	}
	if len(lists) == 0 {
		return nil, "nothing left to " + string(r.Kind) + " (the subscription changed since)", nil
	}
	if r.Kind == NoticeConfirm && n.clock().Sub(r.CreatedAt) > ConfirmTokenLifetime {
		return nil, "expired: its links would no longer work", nil
	}
	lang := pageLanguage(s.Language, "")
	m := &Message{From: opts.From, ReplyTo: opts.ReplyTo, To: s.Email}
	switch r.Kind {
	case NoticeConfirm:
		err = n.renderConfirmation(ctx, m, s, lang, lists, st)
	case NoticeWelcome:
		var tpl *Template
		if tpl, err = n.listTemplate(ctx, lists[0].ID, NoticeWelcome, s.Language); err == nil && tpl == nil {
			return nil, "the list sends no welcome email any more", nil
		}
		err = n.renderWelcome(m, s, lang, lists[0], st, tpl)
	default:
		err = fmt.Errorf("unknown kind of notice %q", r.Kind)
	}
	if err != nil {
		return nil, "", err
	}
	return m, "", nil
}

// recipient is what a list's own template sees of the supporter.
func (n *Newsletter) noticeRecipient(s *crm.Supporter, lang string, l *crm.List, st *crm.Settings) Recipient {
	return Recipient{FirstName: s.FirstName, LastName: s.LastName, Email: s.Email, City: s.City, Language: s.Language,
		Attributes: s.Attributes, List: l.TitleFor(lang), Association: st.Name, PostalAddress: st.PostalAddress,
		UnsubscribeURL: n.link("/unsubscribe", Token{Purpose: PurposeUnsubscribe, SupporterID: s.ID, ListID: l.ID}),
		PreferencesURL: n.link("/preferences", Token{Purpose: PurposePreferences, SupporterID: s.ID})}
}

func (n *Newsletter) renderConfirmation(ctx context.Context, m *Message, s *crm.Supporter, lang string, lists []*crm.List, st *crm.Settings) error {
	links := make([]confirmLink, len(lists))
	titles := make([]string, len(lists))
	for i, l := range lists {
		links[i] = confirmLink{Title: l.TitleFor(lang), URL: n.ConfirmURL(s.ID, l.ID)}
		titles[i] = l.TitleFor(lang)
	}
	// The first list with its own confirmation email gives it; the
	// others' links are in {{.ConfirmLinks}}.
	for _, l := range lists {
		tpl, err := n.listTemplate(ctx, l.ID, NoticeConfirm, s.Language)
		if err != nil {
			return err
		}
		if tpl == nil {
			continue
		}
		rc := n.noticeRecipient(s, lang, l, st)
		rc.ConfirmURL = links[0].URL
		for _, k := range links {
			rc.ConfirmLinks = append(rc.ConfirmLinks, ConfirmLink{Title: k.Title, URL: k.URL})
		}
		out, err := tpl.Render(rc)
		if err != nil {
			return fmt.Errorf("list %s: confirmation email: %w", l.Name, err)
		}
		m.Subject, m.HTML, m.Text = out.Subject, out.HTML, out.Text
		return nil
	}
	html, text, err := confirmationBody(lang, s.FirstName, st.Name, links)
	if err != nil {
		return err
	}
	m.Subject = fmt.Sprintf(texts[lang].ConfirmSubject, strings.Join(titles, ", "))
	m.HTML, m.Text = html, text
	return nil
}

func (n *Newsletter) renderWelcome(m *Message, s *crm.Supporter, lang string, l *crm.List, st *crm.Settings, tpl *Template) error {
	rc := n.noticeRecipient(s, lang, l, st)
	out, err := tpl.Render(rc)
	if err != nil {
		return fmt.Errorf("list %s: welcome email: %w", l.Name, err)
	}
	m.Subject, m.HTML, m.Text = out.Subject, out.HTML, out.Text
	m.Headers = map[string]string{
		"List-Unsubscribe":      "<" + rc.UnsubscribeURL + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	return nil
}

// ConfirmLink is one list's confirmation link, as a confirmation
// template's {{range .ConfirmLinks}} sees it.
type ConfirmLink struct {
	Title string
	URL   string
}
