package newsletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// SignupRequest is what a signup form sends.
type SignupRequest struct {
	Email     string
	FirstName string
	LastName  string
	Language  string   // "" for DefaultLanguage
	Lists     []string // list names; at least one, at most MaxSignupLists once repeats are dropped
	Interests []string // interest names, kept for new supporters only
	// ConsentText is the consent text the form showed, as the server
	// knows it: never a text a client posted, which could be anything
	// (the handler records only texts registered with WithConsentTexts).
	// What is recorded for each list is the list's own text in the
	// signup's language (crm.List.ConsentTextFor), else this one, else
	// the package's own text (DefaultConsentText).
	ConsentText string
	IP          string // recorded only if the caller chooses to pass it
	UserAgent   string
	// ConfirmationInterval is the least time between two confirmation
	// emails to one supporter, whatever lists are asked; 0 means
	// DefaultConfirmationInterval.
	ConfirmationInterval time.Duration
	// AllowPrivateLists lets Lists name private lists (crm.List.Public
	// false), for an embedder's own code that knows the person belongs
	// there. Without it a private list is refused exactly as a list that
	// does not exist, so that a public form tells nobody it exists; the
	// handler never sets it.
	AllowPrivateLists bool
}

// MaxSignupLists is the most distinct lists one signup may name: a form
// offers a few, and each list asked costs a query and a line in the
// confirmation email.
const MaxSignupLists = 20

// DefaultConfirmationInterval is how long after a confirmation email a
// new signup of the same address sends none: without it, anyone could
// mail bomb an address through the form.
const DefaultConfirmationInterval = 15 * time.Minute

// SignupResult says what a signup did, for the caller's logs and tests;
// a web page must show the same answer whatever it says, so nobody can
// learn whether an address is known.
type SignupResult struct {
	Created      bool     // a new supporter was created
	Subscribed   []string // lists joined at once
	Confirmation []string // lists waiting for the confirmation email
	// ConfirmationDeferred says no confirmation email was sent because
	// one went to this supporter less than the interval ago; the lists
	// stay pending, and a signup after the interval sends the email.
	ConfirmationDeferred bool
	// ConfirmationSent says the confirmation email was handed to the
	// sender. Without a sender, or when it failed for a while, it waits in
	// the queue for the next SendNotices.
	ConfirmationSent bool
	// NoticeError is why an email of the signup (confirmation, welcome)
	// could not be sent at once; it stays queued when it may still go.
	NoticeError error
}

// DefaultConsentText is the consent text recorded for a signup to a list
// when neither the list (crm.List.ConsentTextFor) nor the caller gives
// one, in the signup's language (fr or en).
func DefaultConsentText(language, listTitle string) string {
	return fmt.Sprintf(texts[pageLanguage(language, "")].ConsentDefault, listTitle)
}

// Signup records a signup from a form: it creates the supporter if the
// address is new (an existing record is left as it is), subscribes them to
// single opt-in lists (queuing each list's welcome email, if it has one),
// and for double opt-in lists (or anyone who left a list before, or whose
// mail bounced) leaves the subscription pending and queues a confirmation
// email, at most one per supporter per r.ConfirmationInterval. Repeated
// list names count once. It returns a *crm.ValidationError for a bad
// address, an unknown list (or a private one, unless r.AllowPrivateLists)
// or too many lists.
//
// What it records (the supporter, the subscriptions with their consent
// events, the emails it queues) is one transaction: on an error, nothing
// of it is kept. The emails are sent after it commits, through sender
// (a transaction must not wait on the network); with a nil sender, or
// when sending fails for a while, they wait in the queue for the next
// SendNotices, and the result says so.
func (n *Newsletter) Signup(ctx context.Context, r SignupRequest, sender Sender, from string) (*SignupResult, error) {
	email, err := crm.NormalizeEmail(r.Email)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(email, "@"+crm.ErasedDomain) {
		// The placeholder of an erased supporter is nobody's address.
		return nil, &crm.ValidationError{Field: "email", Value: r.Email, Reason: "invalid domain"}
	}
	names := make([]string, 0, len(r.Lists))
	for _, name := range r.Lists {
		name = strings.ToLower(strings.TrimSpace(name))
		if !slices.Contains(names, name) {
			if len(names) == MaxSignupLists {
				return nil, &crm.ValidationError{Field: "lists", Reason: fmt.Sprintf("more than %d lists in one signup", MaxSignupLists)}
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, &crm.ValidationError{Field: "lists", Reason: "choose at least one list"}
	}
	// Lists are looked up before the transaction, so a form naming a
	// list that does not exist takes no write lock; Subscribe reads them
	// again, and finds no list deleted in between.
	var lists []*crm.List
	for _, name := range names {
		l, err := n.db.GetList(ctx, name)
		if errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrInvalid) || err == nil && !l.Public && !r.AllowPrivateLists {
			return nil, noSuchList(name)
		}
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(lists, func(o *crm.List) bool { return o.ID == l.ID }) {
			lists = append(lists, l)
		}
	}
	interval := r.ConfirmationInterval
	if interval <= 0 {
		interval = DefaultConfirmationInterval
	}
	var (
		res       = &SignupResult{}
		s         *crm.Supporter
		toConfirm []*crm.List
		claimed   bool
		notices   []int64 // queued in the transaction, sent after it
	)
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		erased, err := tx.IsErased(ctx, email)
		if err != nil {
			return err
		}
		// Someone erased before is recorded again, their address staying
		// erased until they confirm: the confirmation is their fresh
		// consent (crm.Tx.Confirm lifts the erasure).
		create := tx.CreateSupporter
		if erased {
			create = func(ctx context.Context, s *crm.Supporter) error { return dbutil.CreateErasedSupporter(ctx, tx, s) }
		}
		s, err = tx.GetSupporterByEmail(ctx, email)
		if errors.Is(err, crm.ErrNotFound) {
			s = &crm.Supporter{Email: email, FirstName: r.FirstName, LastName: r.LastName, Language: r.Language, Source: crm.SourceWeb}
			for _, in := range r.Interests {
				s.Interests = append(s.Interests, crm.SupporterInterest{Interest: in})
			}
			if err := create(ctx, s); err != nil {
				if !errors.Is(err, crm.ErrInvalid) {
					return err
				}
				// A bad name, language or interest must not lose the
				// signup. An invalid input is refused before anything
				// is written, so the transaction goes on.
				s = &crm.Supporter{Email: email, Source: crm.SourceWeb}
				if err := create(ctx, s); err != nil {
					return err
				}
			}
			res.Created = true
		} else if err != nil {
			return err
		}
		subs, err := tx.Subscriptions(ctx, s.ID)
		if err != nil {
			return err
		}
		lang := signupLanguage(r.Language, s.Language)
		for _, l := range lists {
			consent := crm.Consent{Source: crm.SourceWeb, Text: signupConsentText(l, lang, r.ConsentText), IP: r.IP, UserAgent: r.UserAgent}
			i := slices.IndexFunc(subs, func(sub crm.Subscription) bool { return sub.ListID == l.ID })
			var status crm.SubscriptionStatus
			if i >= 0 {
				status = subs[i].Status
			}
			if status == crm.StatusSubscribed && s.EmailStatus == crm.EmailOK {
				continue
			}
			// Someone who left the list, or whose mail bounced, confirms
			// again, even for a single opt-in list. Someone erased
			// before gives fresh consent by confirming.
			direct := !l.DoubleOptIn && status != crm.StatusUnsubscribed && s.EmailStatus == crm.EmailOK && !erased
			if _, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: l.Name, Consent: consent,
				Confirmed: direct, RequireConfirmation: !direct}); errors.Is(err, crm.ErrNotFound) {
				return noSuchList(l.Name) // deleted since it was looked up
			} else if err != nil {
				return err
			}
			if direct {
				res.Subscribed = append(res.Subscribed, l.Name)
				id, err := queueWelcome(ctx, tx, s.ID, l.ID, n.clock())
				if id != 0 {
					notices = append(notices, id)
				}
				if err != nil {
					return err
				}
				continue
			}
			toConfirm = append(toConfirm, l)
			res.Confirmation = append(res.Confirmation, l.Name)
		}
		if len(toConfirm) == 0 {
			return nil
		}
		claimed, err = n.claimConfirmation(ctx, dbutil.Tx(tx), s.ID, interval)
		if err != nil || !claimed {
			return err
		}
		ids := make([]int64, len(toConfirm))
		for i, l := range toConfirm {
			ids[i] = l.ID
		}
		id, err := queueNotice(ctx, dbutil.Tx(tx), NoticeConfirm, s.ID, ids, n.clock())
		notices = append(notices, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.ConfirmationDeferred = len(toConfirm) > 0 && !claimed
	if len(notices) == 0 || sender == nil {
		return res, nil // queued for the next SendNotices
	}
	rep, err := n.SendNotices(ctx, sender, NoticeOptions{From: from, IDs: notices})
	if err != nil {
		return res, err
	}
	res.ConfirmationSent = rep.Confirmations > 0
	if len(rep.Errors) > 0 {
		res.NoticeError = errors.New(strings.Join(rep.Errors, "; "))
	}
	return res, nil
}

// noSuchList is the refusal of a list a signup may not name: one that
// does not exist, or a private one, with the same words.
func noSuchList(name string) error {
	return &crm.ValidationError{Field: "lists", Value: name, Reason: "no such list"}
}

// signupLanguage is the language of a signup's page: the one it posted,
// else the supporter's.
func signupLanguage(posted, supporter string) string {
	if _, ok := texts[posted]; ok {
		return posted
	}
	return pageLanguage(supporter, "")
}

// signupConsentText is what a signup to l records as the consent the
// person gave: the list's own text in the signup's language, else the
// text the caller vouches for (SignupRequest.ConsentText), else the
// package's own.
func signupConsentText(l *crm.List, lang, registered string) string {
	if t := l.ConsentTextFor(lang); t != "" {
		return t
	}
	if registered != "" {
		return registered
	}
	return DefaultConsentText(lang, l.TitleFor(lang))
}

// claimConfirmation records, in the signup's transaction, that a
// confirmation email goes to the supporter now, unless one went less than
// interval ago; it reports whether the email may go. It is one
// statement, so two signups at once cannot both claim.
func (n *Newsletter) claimConfirmation(ctx context.Context, idb bun.IDB, supporterID int64, interval time.Duration) (bool, error) {
	now := n.clock()
	res, err := idb.NewInsert().Model(&confirmationSent{SupporterID: supporterID, SentAt: now.Unix()}).
		On("CONFLICT (supporter_id) DO UPDATE").Set("sent_at = EXCLUDED.sent_at").
		Where("nc.sent_at <= ?", now.Add(-interval).Unix()).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("confirmation email: %w", err)
	}
	k, err := res.RowsAffected()
	return k > 0, err
}

// releaseConfirmation forgets a claim whose email failed, so that the
// person can try again at once.
func (n *Newsletter) releaseConfirmation(ctx context.Context, supporterID int64) {
	if _, err := n.bun.NewDelete().Table("newsletter_confirmations").Where("supporter_id = ?", supporterID).
		Exec(ctx); err != nil && n.logger != nil {
		n.logger.WarnContext(ctx, "newsletter: confirmation claim not released", "supporter", supporterID, "error", err)
	}
}

type confirmationSent struct {
	bun.BaseModel `bun:"table:newsletter_confirmations,alias:nc"`
	SupporterID   int64 `bun:"supporter_id,pk"`
	SentAt        int64 `bun:"sent_at"`
}

// ConfirmURL returns the link that confirms a supporter's pending
// subscription to a list; it works for ConfirmTokenLifetime.
func (n *Newsletter) ConfirmURL(supporterID, listID int64) string {
	return n.link("/confirm", Token{Purpose: PurposeConfirm, SupporterID: supporterID, ListID: listID,
		Expires: n.clock().Add(ConfirmTokenLifetime)})
}

// ErrNothingToConfirm means a valid confirmation link found no pending
// subscription: the person unsubscribed in between.
var ErrNothingToConfirm = errors.New("no pending subscription to confirm")

// ErrListDeleted means a genuine confirmation link names a list deleted
// since: there is nothing left to confirm, and nothing is changed. It
// wraps crm.ErrNotFound.
var ErrListDeleted = fmt.Errorf("the list of this link was deleted: %w", crm.ErrNotFound)

// ErrSupporterErased means a genuine link names a supporter who was erased
// since: every link of theirs is dead, shows nothing and changes nothing.
var ErrSupporterErased = errors.New("the person this link was for has been erased")

// erasedLink turns crm's refusal to write for an erased supporter (an
// erasure that committed between a link's check and its write) into the
// error of a dead link.
func erasedLink(err error) error {
	if errors.Is(err, crm.ErrErased) {
		return ErrSupporterErased
	}
	return err
}

// CheckConfirmToken returns what a confirm link would confirm, changing
// nothing: the page a GET shows (mail scanners open every link, so a GET
// must not confirm). It returns the errors ConfirmToken returns.
func (n *Newsletter) CheckConfirmToken(ctx context.Context, token string) (*crm.List, *crm.Supporter, error) {
	s, l, err := n.confirmTargets(ctx, token)
	if errors.Is(err, ErrListDeleted) {
		return l, s, err
	} else if err != nil {
		return nil, nil, err
	}
	subs, err := n.db.Subscriptions(ctx, s.ID)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(subs, func(sub crm.Subscription) bool { return sub.ListID == l.ID })
	if i < 0 || subs[i].Status == crm.StatusUnsubscribed {
		return l, s, ErrNothingToConfirm
	}
	return l, s, nil
}

// ConfirmToken confirms the pending subscription a confirm link names. It
// returns ErrTokenInvalid or ErrTokenExpired for a bad link,
// ErrSupporterErased for a supporter erased since, and, with the list
// and the supporter, ErrListDeleted for a list deleted since and
// ErrNothingToConfirm when there is nothing to confirm. An erasure of the address
// is lifted (a confirmed link is fresh consent) and audited only when
// there was one, an address marked bounced or complained is marked fine
// again (the link proves the mailbox works), and the list's welcome email
// is queued (see SendNotices): all in one transaction.
func (n *Newsletter) ConfirmToken(ctx context.Context, token string, c crm.Consent) (*crm.List, *crm.Supporter, error) {
	s, l, err := n.confirmTargets(ctx, token)
	if errors.Is(err, ErrListDeleted) {
		return l, s, err
	} else if err != nil {
		return nil, nil, err
	}
	c.Source = crm.SourceWeb
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		res, err := tx.Confirm(ctx, s.ID, l.Name, c)
		if err != nil {
			return err
		}
		if res.Changed {
			// Confirmed now, not by a click a moment before: welcome once.
			if _, err := queueWelcome(ctx, tx, s.ID, l.ID, n.clock()); err != nil {
				return err
			}
		}
		_, err = tx.SetEmailStatus(ctx, s.ID, crm.EmailOK, c)
		return err
	})
	if errors.Is(err, crm.ErrNotFound) {
		return l, s, ErrNothingToConfirm
	} else if err != nil {
		return nil, nil, erasedLink(err)
	}
	return l, s, nil
}

// confirmTargets verifies a confirm link; one naming no list is refused
// as invalid (the package never signs one, but a signed token is no proof
// it is well formed), and one whose list was deleted is ErrListDeleted,
// returned with the supporter and the list.
func (n *Newsletter) confirmTargets(ctx context.Context, token string) (*crm.Supporter, *crm.List, error) {
	t, err := n.signer.Verify(token, PurposeConfirm, n.clock())
	if err != nil {
		return nil, nil, err
	}
	if t.ListID == 0 {
		return nil, nil, ErrTokenInvalid
	}
	s, l, err := n.tokenTargets(ctx, t)
	if err == nil && !l.DeletedAt.IsZero() {
		// Confirm works by name, which a new list may have taken: it is
		// never called for a deleted list.
		return s, l, fmt.Errorf("list %s: %w", l.Name, ErrListDeleted)
	}
	return s, l, err
}

// UnsubscribeToken unsubscribes the supporter an unsubscribe link names
// from its list (or from every list for a link without one). It is
// idempotent: a second click changes nothing and succeeds. It returns the
// errors of a bad link as ConfirmToken does.
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
	if l != nil && !l.DeletedAt.IsZero() {
		// Its subscriptions ended when it was deleted; by name, Unsubscribe
		// would find a new list that took the name.
		return l, s, nil
	}
	c.Source = crm.SourceWeb
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		left, err := tx.Unsubscribe(ctx, s.ID, name, c)
		if err != nil || left == 0 || t.CampaignID == 0 {
			return err
		}
		// The link came in a campaign's email: its report counts who
		// left through it.
		_, err = dbutil.Tx(tx).NewUpdate().Table("newsletter_deliveries").Set("unsubscribed_at = ?", n.clock()).
			Where("campaign_id = ? AND supporter_id = ? AND unsubscribed_at IS NULL", t.CampaignID, s.ID).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, nil, erasedLink(err)
	}
	return l, s, nil
}

// tokenTargets loads the supporter and list a verified token names; the
// list is nil when the token has none, and may be a deleted list (its
// DeletedAt set): act on it by id, or not at all, never by its name. A supporter who was erased is
// ErrSupporterErased: their row stays (the consent history points to it),
// but nothing may be shown or changed through their old links.
func (n *Newsletter) tokenTargets(ctx context.Context, t Token) (*crm.Supporter, *crm.List, error) {
	s, err := n.tokenSupporter(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if t.ListID == 0 {
		return s, nil, nil
	}
	l, err := n.db.GetListByID(ctx, t.ListID)
	if err != nil {
		return nil, nil, err
	}
	return s, l, nil
}

func (n *Newsletter) tokenSupporter(ctx context.Context, t Token) (*crm.Supporter, error) {
	if t.SupporterID <= 0 {
		return nil, ErrTokenInvalid
	}
	s, err := n.db.GetSupporter(ctx, t.SupporterID)
	if err != nil {
		return nil, err
	}
	if !s.ErasedAt.IsZero() {
		return nil, ErrSupporterErased
	}
	return s, nil
}

// Preferences is what the preference page shows and changes.
type Preferences struct {
	Supporter *crm.Supporter
	Lists     []*crm.List                       // the lists the page offers (see PreferencesFor)
	Status    map[string]crm.SubscriptionStatus // by list name, for those lists
	Interests []crm.Interest
}

// PreferencesFor returns the preferences of the supporter a preference
// link names. Its Lists are the public lists and the private ones the
// person is subscribed or pending to, so that they can leave them; a
// private list is never shown to anyone else.
func (n *Newsletter) PreferencesFor(ctx context.Context, token string) (*Preferences, error) {
	t, err := n.signer.Verify(token, PurposePreferences, n.clock())
	if err != nil {
		return nil, err
	}
	if t.ListID != 0 {
		return nil, ErrTokenInvalid // never signed so: malformed
	}
	s, err := n.tokenSupporter(ctx, t)
	if err != nil {
		return nil, err
	}
	p := &Preferences{Supporter: s, Status: map[string]crm.SubscriptionStatus{}}
	lists, err := n.db.Lists(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := n.db.Subscriptions(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	status := map[int64]crm.SubscriptionStatus{} // by id: a deleted list's name may be a live one's
	for _, sub := range subs {
		status[sub.ListID] = sub.Status
	}
	for _, l := range lists {
		st := status[l.ID]
		if l.Public || st == crm.StatusSubscribed || st == crm.StatusPending {
			p.Lists = append(p.Lists, l)
			if st != "" {
				p.Status[l.Name] = st
			}
		}
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
// tick are subscribed at once. Only the lists PreferencesFor offers can
// be named: a private list the person is not on is refused as unknown,
// as a list that does not exist is. It is all or nothing for anything the
// person sent: every list, interest and the language are checked before
// anything is written, and a bad one is a *crm.ValidationError naming the
// field with nothing changed. The changes are one transaction: an error
// midway leaves nothing of the form applied.
func (n *Newsletter) UpdatePreferences(ctx context.Context, token string, ch PreferenceChange, c crm.Consent) error {
	return erasedLink(n.updatePreferences(ctx, token, ch, c))
}

func (n *Newsletter) updatePreferences(ctx context.Context, token string, ch PreferenceChange, c crm.Consent) error {
	p, err := n.PreferencesFor(ctx, token)
	if err != nil {
		return err
	}
	for _, name := range ch.Lists {
		if !slices.ContainsFunc(p.Lists, func(l *crm.List) bool { return l.Name == name }) {
			return noSuchList(name)
		}
	}
	for _, name := range ch.Interests {
		if !slices.ContainsFunc(p.Interests, func(in crm.Interest) bool { return in.Name == name }) {
			return &crm.ValidationError{Field: "interests", Value: name, Reason: "unknown interest"}
		}
	}
	u := crm.SupporterUpdate{BySupporter: "preferences page"}
	if ch.Language != "" {
		lang, err := crm.NormalizeLanguage(ch.Language)
		if err != nil {
			return err
		}
		if lang != p.Supporter.Language {
			u.Language = &lang
		}
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
			have[in] = true
			u.SetInterests = append(u.SetInterests, crm.SupporterInterest{Interest: in})
		}
	}
	c.Source = crm.SourceWeb
	if c.Text == "" {
		c.Text = "preferences page"
	}
	id := p.Supporter.ID
	return n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		if u.Language != nil || len(u.SetInterests) > 0 || len(u.RemoveInterests) > 0 {
			if _, err := tx.UpdateSupporter(ctx, id, u); err != nil {
				return err
			}
		}
		for _, l := range p.Lists {
			want := slices.Contains(ch.Lists, l.Name)
			st := p.Status[l.Name]
			switch {
			case want && st != crm.StatusSubscribed:
				res, err := tx.Subscribe(ctx, crm.SubscribeRequest{SupporterID: id, List: l.Name, Consent: c, Confirmed: true})
				if err != nil {
					return err
				}
				if res.Changed && res.Status == crm.StatusSubscribed {
					if _, err := queueWelcome(ctx, tx, id, l.ID, n.clock()); err != nil {
						return err
					}
				}
			case !want && (st == crm.StatusSubscribed || st == crm.StatusPending):
				if _, err := tx.Unsubscribe(ctx, id, l.Name, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
