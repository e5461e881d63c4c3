// Package newsletter writes and sends campaigns to a list's subscribers:
// Markdown templates per language, segments of the crm package, and
// sending through Resend (or to a folder of .eml files) exactly once per
// recipient, resumable after a crash, within the provider's rate limits,
// with one-click unsubscribe links.
//
// The sending engine knows nothing of HTTP: it sends through a Sender,
// and ResendSender and Outbox are the two that ship.
package newsletter

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

//go:embed migrations/sqlite/*.sql migrations/pg/*.sql
var migrationFiles embed.FS

const migrationsTable = "newsletter_migrations"

// Errors callers branch on, besides those of package crm (crm.ErrNotFound,
// crm.ErrConflict, crm.ErrInvalid).
var (
	// ErrBusy means another process holds the campaign's send lease.
	ErrBusy = errors.New("campaign is being sent by another process")
	// ErrQuota means the provider refused for a daily or monthly quota;
	// the send stopped cleanly and can be resumed later.
	ErrQuota = errors.New("sending quota exceeded")
	// ErrNoPublicURL means real mail was to be sent by a Newsletter
	// created without WithPublicURL: its unsubscribe links would point
	// to DefaultPublicURL, which works on this machine only. See
	// CheckSender.
	ErrNoPublicURL = errors.New("no public URL set: unsubscribe links must work where the mail is read")
)

// Newsletter creates and sends campaigns over a crm database. Create it
// with New; it is safe for concurrent use.
type Newsletter struct {
	db        *crm.DB
	bun       *bun.DB
	now       func() time.Time
	logger    *slog.Logger
	publicURL *url.URL
	// publicURLSet is false when publicURL is DefaultPublicURL because
	// no WithPublicURL was given.
	publicURLSet bool
	signer       *Signer
	lease        time.Duration
	sleep        func(context.Context, time.Duration) error
	// writes queues the send engine's write transactions in the process,
	// so its goroutines wait on each other here rather than in SQLite's
	// busy handler, which sleeps in steps of milliseconds.
	writes sync.Mutex
	// links holds, for each path, what link puts before and after a
	// token.
	links sync.Map
	// prepareHook, set by tests only (export_test.go), runs while a
	// batch is prepared: at "snapshot" (recipients read, nothing stored
	// yet) and at "stored" (payload stored, not yet in flight).
	prepareHook func(stage string, batch int)
}

// Option configures a Newsletter. Options validate their argument.
type Option func(*Newsletter) error

// WithPublicURL sets the address the unsubscribe and preference links
// start with, such as https://asso.example.org/newsletter (where the
// handler of this package is served). Without it, New takes the
// public-url of the association's settings (crm.Settings), if set.
func WithPublicURL(u string) Option {
	return func(n *Newsletter) error {
		p, err := url.Parse(strings.TrimRight(u, "/"))
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return &crm.ValidationError{Field: "public-url", Value: u, Reason: "want an http(s) address such as https://asso.example.org"}
		}
		n.publicURL, n.publicURLSet = p, true
		return nil
	}
}

// WithSecret sets the key that signs links (at least 32 bytes). Without
// it, a secret is generated once and kept in the database.
func WithSecret(secret []byte) Option {
	return func(n *Newsletter) error {
		s, err := NewSigner(secret)
		if err != nil {
			return &crm.ValidationError{Field: "secret", Reason: err.Error()}
		}
		n.signer = s
		return nil
	}
}

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option {
	return func(n *Newsletter) error {
		if now == nil {
			return &crm.ValidationError{Field: "clock", Reason: "nil clock"}
		}
		n.now = now
		return nil
	}
}

// WithLogger makes the package report to l what it does and what fails:
// sends (counts and ids) and the HTTP handler's errors (paths), never
// addresses. Without it, nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(n *Newsletter) error {
		if l == nil {
			return &crm.ValidationError{Field: "WithLogger", Reason: "nil logger"}
		}
		n.logger = l
		return nil
	}
}

// WithLease sets how long a sender holds a campaign without renewing it
// (default 2 minutes). A sender that died on this machine is taken over
// at once (see Send); one on another machine sharing the database, after
// its lease expired.
func WithLease(d time.Duration) Option {
	return func(n *Newsletter) error {
		if d < time.Second {
			return &crm.ValidationError{Field: "lease", Value: d.String(), Reason: "at least one second"}
		}
		n.lease = d
		return nil
	}
}

// DefaultPublicURL is used for links when no public URL is set; it is
// where `crm serve` listens by default. Real sends refuse it (CheckSender).
const DefaultPublicURL = "http://127.0.0.1:8080"

// secretSetting is where the generated signing secret is kept.
const secretSetting = "newsletter.signing_secret"

// New applies the package's migrations to db and returns a Newsletter.
// When db was opened with crm.ReadOnly, it only checks them, and fails
// with an error wrapping crm.ErrSchemaTooOld if some are missing.
func New(ctx context.Context, db *crm.DB, opts ...Option) (*Newsletter, error) {
	n := &Newsletter{db: db, bun: dbutil.DB(db), now: time.Now, lease: 2 * time.Minute, sleep: sleepCtx}
	for _, o := range opts {
		if err := o(n); err != nil {
			return nil, err
		}
	}
	if db.ReadOnly() {
		// A read-only database is read, never migrated (crm.ReadOnly).
		if err := dbutil.CheckMigrations(ctx, n.bun, dbutil.MigrationFiles(migrationFiles, n.bun.Dialect()), migrationsTable); err != nil {
			return nil, err
		}
	} else if _, err := dbutil.ApplyMigrations(ctx, n.bun, dbutil.MigrationFiles(migrationFiles, n.bun.Dialect()), migrationsTable); err != nil {
		return nil, err
	}
	if n.signer == nil {
		fresh := make([]byte, 32)
		rand.Read(fresh)
		var secret string
		var err error
		if db.ReadOnly() {
			var ok bool
			secret, ok, err = dbutil.Setting(ctx, n.bun, secretSetting)
			if err == nil && !ok {
				err = fmt.Errorf("no link signing secret yet: open the database once writable: %w", crm.ErrSchemaTooOld)
			}
		} else {
			secret, err = dbutil.SettingOrInit(ctx, n.bun, secretSetting, fmt.Sprintf("%x", fresh))
		}
		if err != nil {
			return nil, err
		}
		if n.signer, err = NewSigner([]byte(secret)); err != nil {
			return nil, err
		}
	}
	if !n.publicURLSet {
		// The settings' public URL, when WithPublicURL gave none.
		st, err := db.Settings(ctx)
		if err != nil {
			return nil, err
		}
		if st.PublicURL != "" {
			if err := WithPublicURL(st.PublicURL)(n); err != nil {
				return nil, fmt.Errorf("setting public-url: %w", err)
			}
		}
	}
	if n.publicURL == nil {
		n.publicURL, _ = url.Parse(DefaultPublicURL)
	}
	return n, nil
}

// PublicURL returns the base of the links.
func (n *Newsletter) PublicURL() string { return n.publicURL.String() }

// CheckSender returns an error wrapping ErrNoPublicURL if sender delivers
// real mail and n was created without WithPublicURL. Only an *Outbox,
// which writes files, may do without one. Send and SendTest check it
// first; a caller can check it earlier, before asking for confirmation.
func (n *Newsletter) CheckSender(sender Sender) error {
	if _, ok := sender.(*Outbox); ok || n.publicURLSet {
		return nil
	}
	return fmt.Errorf("%w (links would point to %s)", ErrNoPublicURL, DefaultPublicURL)
}

func (n *Newsletter) clock() time.Time { return n.now().UTC() }

// link returns PublicURL + path + ?token=....
func (n *Newsletter) link(path string, t Token) string {
	return n.linkFrom(n.publicURL, path, t)
}

// linkFrom returns base + path + ?token=....
func (n *Newsletter) linkFrom(base *url.URL, path string, t Token) string {
	key := base.String() + "\x00" + path
	ends, ok := n.links.Load(key)
	if !ok {
		u := *base
		u.Path = strings.TrimRight(u.Path, "/") + path
		u.RawQuery, u.Fragment = "token=", ""
		e := [2]string{u.String(), ""}
		if base.Fragment != "" {
			e[1] = "#" + base.EscapedFragment()
		}
		ends, _ = n.links.LoadOrStore(key, e)
	}
	// A token is URL-safe base64: nothing in it needs escaping.
	e := ends.([2]string)
	return e[0] + n.signer.Sign(t) + e[1]
}

// UnsubscribeURL returns the one-click unsubscribe link of a supporter for
// a list.
func (n *Newsletter) UnsubscribeURL(supporterID, listID int64) string {
	return n.link("/unsubscribe", Token{Purpose: PurposeUnsubscribe, SupporterID: supporterID, ListID: listID})
}

// RSVPLinkLifetime is how long after an event's end its answer and
// calendar links still open (they then show nothing to change).
const RSVPLinkLifetime = 30 * 24 * time.Hour

// RSVPURL returns the link that shows the event to the supporter with
// one button giving answer; it is bound to the person and the event, and
// the answer is recorded on POST only (see the /rsvp handler).
// campaignID names the invitation that carried it (0 for none).
func (n *Newsletter) RSVPURL(supporterID int64, e *crm.Event, answer crm.Answer, campaignID int64) string {
	return n.rsvpLink(n.publicURL, supporterID, e, answer, campaignID)
}

// EventCalendarURL returns the link to the event's iCalendar file:
// /events/NAME.ics for a public event, the same with a signed token for
// one that is not (its place is for those invited). Its texts are in
// French; the parameter lang=en added to the link gives them in English.
func (n *Newsletter) EventCalendarURL(e *crm.Event) string {
	return n.calendarLink(n.publicURL, e, "fr")
}

// PreferencesURL returns the link to a supporter's preference page.
func (n *Newsletter) PreferencesURL(supporterID int64) string {
	return n.link("/preferences", Token{Purpose: PurposePreferences, SupporterID: supporterID})
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
