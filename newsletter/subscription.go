package newsletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/assocrm/assocrm/crm"
)

// SignupRequest is what a signup form sends.
type SignupRequest struct {
	Email       string
	FirstName   string
	LastName    string
	Language    string   // "" for DefaultLanguage
	Lists       []string // list names; at least one
	Interests   []string // interest names, kept for new supporters only
	ConsentText string   // the consent text the form showed
	IP          string   // recorded only if the caller chooses to pass it
	UserAgent   string
}

// SignupResult says what a signup did, for the caller's logs and tests;
// a web page must show the same answer whatever it says, so nobody can
// learn whether an address is known.
type SignupResult struct {
	Created      bool     // a new supporter was created
	Subscribed   []string // lists joined at once
	Confirmation []string // lists waiting for the confirmation email
}

// Signup records a signup from a form: it creates the supporter if the
// address is new (an existing record is left as it is), subscribes them to
// single opt-in lists, and for double opt-in lists (or anyone who left a
// list before, or whose mail bounced) leaves the subscription pending and
// sends a confirmation email through sender. It returns a
// *crm.ValidationError for a bad address or an unknown list.
func (n *Newsletter) Signup(ctx context.Context, r SignupRequest, sender Sender, from string) (*SignupResult, error) {
	email, err := crm.NormalizeEmail(r.Email)
	if err != nil {
		return nil, err
	}
	if len(r.Lists) == 0 {
		return nil, &crm.ValidationError{Field: "lists", Reason: "choose at least one list"}
	}
	var lists []*crm.List
	for _, name := range r.Lists {
		l, err := n.db.GetList(ctx, name)
		if errors.Is(err, crm.ErrNotFound) {
			return nil, &crm.ValidationError{Field: "lists", Value: name, Reason: "no such list"}
		}
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	res := &SignupResult{}
	erased, err := n.db.IsErased(ctx, email)
	if err != nil {
		return nil, err
	}
	s, err := n.db.GetSupporterByEmail(ctx, email)
	if errors.Is(err, crm.ErrNotFound) {
		s = &crm.Supporter{Email: email, FirstName: r.FirstName, LastName: r.LastName, Language: r.Language, Source: crm.SourceWeb}
		for _, in := range r.Interests {
			s.Interests = append(s.Interests, crm.SupporterInterest{Interest: in})
		}
		if err := n.db.CreateSupporter(ctx, s); err != nil {
			if !errors.Is(err, crm.ErrInvalid) {
				return nil, err
			}
			// A bad name, language or interest must not lose the signup.
			s = &crm.Supporter{Email: email, Source: crm.SourceWeb}
			if err := n.db.CreateSupporter(ctx, s); err != nil {
				return nil, err
			}
		}
		res.Created = true
	} else if err != nil {
		return nil, err
	}
	subs, err := n.db.Subscriptions(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	consent := crm.Consent{Source: crm.SourceWeb, Text: r.ConsentText, IP: r.IP, UserAgent: r.UserAgent}
	var toConfirm []*crm.List
	for _, l := range lists {
		i := slices.IndexFunc(subs, func(sub crm.Subscription) bool { return sub.ListID == l.ID })
		var status crm.SubscriptionStatus
		if i >= 0 {
			status = subs[i].Status
		}
		if status == crm.StatusSubscribed && s.EmailStatus == crm.EmailOK {
			continue
		}
		// Someone who left the list, or whose mail bounced, confirms again,
		// even for a single opt-in list.
		// Someone erased before gives fresh consent by confirming.
		direct := !l.DoubleOptIn && status != crm.StatusUnsubscribed && s.EmailStatus == crm.EmailOK && !erased
		if _, err := n.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: l.Name, Consent: consent,
			Confirmed: direct, RequireConfirmation: !direct}); err != nil {
			return nil, err
		}
		if direct {
			res.Subscribed = append(res.Subscribed, l.Name)
			continue
		}
		toConfirm = append(toConfirm, l)
		res.Confirmation = append(res.Confirmation, l.Name)
	}
	if len(toConfirm) > 0 {
		// One email, with one link per list to confirm.
		if err := n.sendConfirmation(ctx, s, toConfirm, sender, from); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// ConfirmURL returns the link that confirms a supporter's pending
// subscription to a list; it works for ConfirmTokenLifetime.
func (n *Newsletter) ConfirmURL(supporterID, listID int64) string {
	return n.link("/confirm", Token{Purpose: PurposeConfirm, SupporterID: supporterID, ListID: listID,
		Expires: n.clock().Add(ConfirmTokenLifetime)})
}

func (n *Newsletter) sendConfirmation(ctx context.Context, s *crm.Supporter, lists []*crm.List, sender Sender, from string) error {
	if sender == nil || from == "" {
		return errors.New("confirmation email: no sender or from address configured")
	}
	lang := pageLanguage(s.Language, "")
	t := texts[lang]
	links := make([]confirmLink, len(lists))
	titles := make([]string, len(lists))
	for i, l := range lists {
		links[i] = confirmLink{Title: l.Title, URL: n.ConfirmURL(s.ID, l.ID)}
		titles[i] = l.Title
	}
	html, text, err := confirmationBody(lang, links)
	if err != nil {
		return err
	}
	m := Message{From: from, To: s.Email, Subject: fmt.Sprintf(t.ConfirmSubject, strings.Join(titles, ", ")), HTML: html, Text: text}
	key := "confirm-" + strconv.FormatInt(s.ID, 10) + "-" + strconv.FormatInt(lists[0].ID, 10) + "-" + strconv.FormatInt(n.clock().Unix(), 10)
	results, err := n.deliver(ctx, sender, key, []Message{m}, SendOptions{MaxRetries: 3})
	if err != nil {
		return fmt.Errorf("confirmation email: %w", err)
	}
	if results[0].Error != "" {
		return fmt.Errorf("confirmation email refused: %s", results[0].Error)
	}
	return nil
}

// ErrNothingToConfirm means a valid confirmation link found no pending
// subscription: the person unsubscribed in between.
var ErrNothingToConfirm = errors.New("no pending subscription to confirm")

// ConfirmToken confirms the pending subscription a confirm link names. It
// returns ErrTokenInvalid or ErrTokenExpired for a bad link (or
// crm.ErrNotFound for a supporter erased since), and ErrNothingToConfirm
// when there is nothing to confirm.
func (n *Newsletter) ConfirmToken(ctx context.Context, token string, c crm.Consent) (*crm.List, *crm.Supporter, error) {
	t, err := n.signer.Verify(token, PurposeConfirm, n.clock())
	if err != nil {
		return nil, nil, err
	}
	s, l, err := n.tokenTargets(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	c.Source = crm.SourceWeb
	if _, err := n.db.Confirm(ctx, s.ID, l.Name, c); errors.Is(err, crm.ErrNotFound) {
		return nil, nil, ErrNothingToConfirm
	} else if err != nil {
		return nil, nil, err
	}
	if err := n.db.ClearErased(ctx, s.Email); err != nil {
		return nil, nil, err
	}
	if s.EmailStatus != crm.EmailOK {
		// A confirmed link proves the mailbox works and consents again.
		if _, err := n.db.SetEmailStatus(ctx, s.ID, crm.EmailOK, c); err != nil {
			return nil, nil, err
		}
	}
	return l, s, nil
}

// UnsubscribeToken unsubscribes the supporter an unsubscribe link names
// from its list (or from every list for a link without one). It is
// idempotent: a second click changes nothing and succeeds.
func (n *Newsletter) UnsubscribeToken(ctx context.Context, token string, c crm.Consent) (*crm.List, *crm.Supporter, error) {
	t, err := n.signer.Verify(token, PurposeUnsubscribe, n.clock())
	if err != nil {
		return nil, nil, err
	}
	s, l, err := n.tokenTargets(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	name := ""
	if l != nil {
		name = l.Name
	}
	c.Source = crm.SourceWeb
	if _, err := n.db.Unsubscribe(ctx, s.ID, name, c); err != nil {
		return nil, nil, err
	}
	return l, s, nil
}

// tokenTargets loads the supporter and list a verified token names; the
// list is nil when the token has none.
func (n *Newsletter) tokenTargets(ctx context.Context, t Token) (*crm.Supporter, *crm.List, error) {
	s, err := n.db.GetSupporter(ctx, t.SupporterID)
	if err != nil {
		return nil, nil, err
	}
	if t.ListID == 0 {
		return s, nil, nil
	}
	l, err := n.db.ListByID(ctx, t.ListID)
	if err != nil {
		return nil, nil, err
	}
	return s, l, nil
}

// Preferences is what the preference page shows and changes.
type Preferences struct {
	Supporter *crm.Supporter
	Lists     []*crm.List
	Status    map[string]crm.SubscriptionStatus // by list name
	Interests []crm.Interest
}

// PreferencesFor returns the preferences of the supporter a preference
// link names.
func (n *Newsletter) PreferencesFor(ctx context.Context, token string) (*Preferences, error) {
	t, err := n.signer.Verify(token, PurposePreferences, n.clock())
	if err != nil {
		return nil, err
	}
	s, err := n.db.GetSupporter(ctx, t.SupporterID)
	if err != nil {
		return nil, err
	}
	p := &Preferences{Supporter: s, Status: map[string]crm.SubscriptionStatus{}}
	if p.Lists, err = n.db.Lists(ctx); err != nil {
		return nil, err
	}
	subs, err := n.db.Subscriptions(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		p.Status[sub.List] = sub.Status
	}
	if p.Interests, err = n.db.Interests(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// PreferenceChange is what the preference form sends.
type PreferenceChange struct {
	Lists     []string // the lists to be subscribed to; the others are left
	Language  string
	Interests []string // the whole set of interests
}

// UpdatePreferences applies a preference form for the supporter the link
// names. The link proves the person reads that mailbox, so lists they
// tick are subscribed at once.
func (n *Newsletter) UpdatePreferences(ctx context.Context, token string, ch PreferenceChange, c crm.Consent) error {
	p, err := n.PreferencesFor(ctx, token)
	if err != nil {
		return err
	}
	c.Source = crm.SourceWeb
	if c.Text == "" {
		c.Text = "preferences page"
	}
	for _, l := range p.Lists {
		want := slices.Contains(ch.Lists, l.Name)
		st := p.Status[l.Name]
		switch {
		case want && st != crm.StatusSubscribed:
			if _, err := n.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: p.Supporter.ID, List: l.Name, Consent: c, Confirmed: true}); err != nil {
				return err
			}
		case !want && (st == crm.StatusSubscribed || st == crm.StatusPending):
			if _, err := n.db.Unsubscribe(ctx, p.Supporter.ID, l.Name, c); err != nil {
				return err
			}
		}
	}
	u := crm.SupporterUpdate{}
	if ch.Language != "" {
		u.Language = &ch.Language
	}
	have := map[string]bool{}
	for _, in := range p.Supporter.Interests {
		have[in.Interest] = true
		if !slices.Contains(ch.Interests, in.Interest) {
			u.RemoveInterests = append(u.RemoveInterests, in.Interest)
		}
	}
	for _, in := range ch.Interests {
		if !have[in] {
			u.SetInterests = append(u.SetInterests, crm.SupporterInterest{Interest: in})
		}
	}
	_, err = n.db.UpdateSupporter(ctx, p.Supporter.ID, u)
	return err
}
