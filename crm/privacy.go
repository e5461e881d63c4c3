package crm

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm/segment"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// channelKey carries, in a context, how a change came about.
type channelKey struct{}

// WithChannel returns a context whose changes the audit log attributes to
// channel: a CLI command ("cli:supporters edit"), an import
// ("import:adherents.csv"), a web endpoint ("web:/subscribe") or
// "webhook". Without it, changes are attributed to "api".
func WithChannel(ctx context.Context, channel string) context.Context {
	return context.WithValue(ctx, channelKey{}, channel)
}

func channelOf(ctx context.Context) string {
	if c, ok := ctx.Value(channelKey{}).(string); ok && c != "" {
		return c
	}
	return "api"
}

// AuditEntry is one line of the append-only audit log. It holds no
// personal data: the supporter is named by id.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_log,alias:a" json:"-"`

	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	At          time.Time `bun:"at" json:"at"`
	Channel     string    `bun:"channel" json:"channel"`
	Action      string    `bun:"action" json:"action"`
	SupporterID int64     `bun:"supporter_id,nullzero" json:"supporter_id,omitempty"`
	Details     string    `bun:"details" json:"details,omitempty"`
}

// audit appends to the audit log inside the caller's transaction.
func (db *DB) audit(ctx context.Context, tx bun.IDB, action string, supporterID int64, details string) error {
	e := &AuditEntry{At: db.Now(), Channel: channelOf(ctx), Action: action, SupporterID: supporterID, Details: details}
	if _, err := tx.NewInsert().Model(e).Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// auditRead records an operation that reads data (an export, a backup).
// It must not fail the operation, which has happened: when the log cannot
// be written (a long import holds the write lock), it reports that to the
// logger and goes on.
//
// A database opened read-only cannot record it: the entry is skipped
// (and reported to the logger), the read goes on.
func (db *DB) auditRead(ctx context.Context, action string, supporterID int64) {
	if db.readOnly {
		if db.logger != nil {
			db.logger.InfoContext(ctx, "crm: audit entry not written: the database is opened read-only", "action", action, "supporter", supporterID)
		}
		return
	}
	if err := db.audit(ctx, db.bun, action, supporterID, ""); err != nil && db.logger != nil {
		db.logger.WarnContext(ctx, "crm: audit entry not written", "action", action, "supporter", supporterID, "error", err)
	}
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	SupporterID int64
	Since       time.Time
	Limit       int
}

// AuditLog returns audit entries, oldest first. With a SupporterID, it
// includes the summary line of each import that created or changed that
// supporter (shown with the supporter's id): an import writes one line,
// not one per person, and its journal (import_supporters) says whom it
// touched.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	q := db.bun.NewSelect().Model(&out).Order("a.id")
	if f.SupporterID != 0 {
		imports := db.bun.NewSelect().TableExpr("imports AS imp").Column("imp.audit_id").
			Join("JOIN import_supporters AS x ON x.import_id = imp.id").
			Where("x.first_id <= ? AND x.last_id >= ?", f.SupporterID, f.SupporterID).
			Where("imp.audit_id IS NOT NULL")
		q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("a.supporter_id = ?", f.SupporterID).WhereOr("a.id IN (?)", imports)
		})
	}
	if !f.Since.IsZero() {
		q.Where("a.at >= ?", f.Since.UTC())
	}
	if err := paginate(q, f.Limit, 0).Scan(ctx); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if f.SupporterID != 0 {
		for i := range out {
			out[i].SupporterID = f.SupporterID
		}
	}
	return out, nil
}

// Export is everything the database holds on one person (GDPR art. 15).
// Packages that keep more (newsletter deliveries) add theirs.
type Export struct {
	ExportedAt     time.Time       `json:"exported_at"`
	Supporter      *Supporter      `json:"supporter"`
	Subscriptions  []Subscription  `json:"subscriptions"`
	ConsentHistory []ConsentEvent  `json:"consent_history"`
	Donations      []*Donation     `json:"donations"`
	DonationTotals []DonationTotal `json:"donation_totals"`
	// OwnChoices are the interests and tags the person removed
	// themselves, which imports leave out.
	OwnChoices []OwnChoice `json:"own_choices"`
	// Events are the person's answers to events and their attendance.
	Events *SupporterEvents `json:"events"`
	// Receipts are the tax receipts issued to the person.
	Receipts []*Receipt     `json:"receipts"`
	Extra    map[string]any `json:"extra,omitempty"`
}

// ExportSupporter returns everything held about the supporter with the
// given address, and records the export in the audit log. It returns an
// error wrapping ErrNotFound for an unknown (or erased) address.
//
// It is not one transaction: the reads take no write lock (they work on
// a database opened read-only), and the audit entry is written after
// them, on its own; when it cannot be (a read-only database, a long
// import holding the lock), the export is still returned and the logger
// told.
func (db *DB) ExportSupporter(ctx context.Context, email string) (*Export, error) {
	p, err := db.GetProfile(ctx, email)
	if err != nil {
		return nil, err
	}
	id := p.Supporter.ID
	x := &Export{ExportedAt: db.Now(), Supporter: p.Supporter, Subscriptions: p.Subscriptions, DonationTotals: p.DonationTotals,
		Events: p.Events}
	if x.ConsentHistory, err = db.ConsentHistory(ctx, id); err != nil {
		return nil, err
	}
	if x.Donations, err = db.ListDonations(ctx, DonationFilter{SupporterID: &id}); err != nil {
		return nil, err
	}
	if x.OwnChoices, err = db.OwnChoices(ctx, id); err != nil {
		return nil, err
	}
	if x.Receipts, err = db.ListReceipts(ctx, ReceiptFilter{SupporterID: id}); err != nil {
		return nil, err
	}
	db.auditRead(ctx, "export", id)
	return x, nil
}

// Eraser erases, inside Forget's transaction tx, what a package built on
// crm keeps about the supporter with this id and normalised address
// (newsletter passes one for its deliveries and campaigns). Its error
// rolls the whole erasure back.
type Eraser func(ctx context.Context, tx *Tx, supporterID int64, email string) error

// ErasedDomain is the domain of the placeholder address an erased
// supporter keeps, so the row (which the consent history points to) stays
// unique and holds nothing personal.
const ErasedDomain = "erased.invalid"

// ErasedAddress is the placeholder address Forget gives the supporter with
// this id.
func ErasedAddress(id int64) string {
	return "supporter-" + strconv.FormatInt(id, 10) + "@" + ErasedDomain
}

// RedactSegment returns expr with every term naming the address email
// exactly (email:... or email=..., compared normalised) made to name
// replacement instead, and whether anything changed; the rest of the
// expression means what it meant. Forget applies it to the saved
// segments, and newsletter to its campaigns' segments, so an erased
// address does not live on in them. An expression that does not parse is
// returned as it is.
func RedactSegment(expr, email, replacement string) (string, bool) {
	if !strings.Contains(strings.ToLower(expr), "email") {
		return expr, false
	}
	root, err := segment.Parse(expr)
	if err != nil {
		return expr, false
	}
	changed := false
	segment.EachTerm(root, func(n *segment.Term) {
		if n.Field != "email" || (n.Op != ":" && n.Op != "=") || (!n.Quoted && strings.Contains(n.Value, "*")) {
			return
		}
		if v, err := NormalizeEmail(n.Value); err == nil && v == email {
			n.Value, changed = replacement, true
		}
	})
	if !changed {
		return expr, false
	}
	return root.String(), true
}

// suppressionKeySetting holds the key of the erased-address hashes.
const suppressionKeySetting = "crm.suppression_key"

// erasedAddressHash is the keyed hash (HMAC-SHA256, hex) under which the
// erased list keeps a normalised address: it recognises the address again
// without keeping it. Every check of the erased list (IsErased, imports,
// ClearErased) and Forget use it.
func erasedAddressHash(key []byte, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(email))
	return hex.EncodeToString(m.Sum(nil))
}

// erasedKey returns the key of the erased list, and whether there is one:
// it is made by the first erasure, so without one no address is erased.
func erasedKey(ctx context.Context, idb bun.IDB) ([]byte, bool, error) {
	key, ok, err := dbutil.Setting(ctx, idb, suppressionKeySetting)
	return []byte(key), ok, err
}

// erasedHash returns the hash of a normalised address on the erased list;
// ok is false before the first erasure. It writes nothing.
func erasedHash(ctx context.Context, idb bun.IDB, email string) (hash string, ok bool, err error) {
	key, ok, err := erasedKey(ctx, idb)
	if err != nil || !ok {
		return "", false, err
	}
	return erasedAddressHash(key, email), true, nil
}

// ErrErased means the address belongs to someone who asked to be
// forgotten: adding them again needs their fresh consent.
var ErrErased = errors.New("erased address: the person asked to be forgotten; add them again only with fresh consent")

// IsErased reports whether an address was erased by Forget. It only
// reads: it works on a database opened read-only, and takes no write lock
// (signups and webhooks call it on every request).
func (db *DB) IsErased(ctx context.Context, email string) (bool, error) {
	return isErased(ctx, db.bun, email)
}

// IsErased is DB.IsErased in the transaction.
func (tx *Tx) IsErased(ctx context.Context, email string) (bool, error) {
	return isErased(ctx, tx.tx, email)
}

func isErased(ctx context.Context, idb bun.IDB, email string) (bool, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	h, ok, err := erasedHash(ctx, idb, e)
	if err != nil || !ok {
		return false, err
	}
	return idb.NewSelect().Table("suppressions").Where("hash = ?", h).Exists(ctx)
}

// ClearErased removes an address from the erased list, when the person
// gives fresh consent. The audit log records "erasure lifted (fresh
// consent)" only when the address was on the list: for anyone else
// nothing happens and nothing is written.
func (db *DB) ClearErased(ctx context.Context, email string) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.ClearErased(ctx, email) })
}

// ClearErased is DB.ClearErased in the transaction.
func (tx *Tx) ClearErased(ctx context.Context, email string) error {
	e, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	return tx.clearErased(ctx, e)
}

// clearErased is ClearErased for a normalised address.
func (tx *Tx) clearErased(ctx context.Context, email string) error {
	h, ok, err := erasedHash(ctx, tx.tx, email)
	if err != nil || !ok {
		return err // no key yet: nobody was ever erased
	}
	res, err := tx.tx.NewDelete().Table("suppressions").Where("hash = ?", h).Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	return tx.audit(ctx, "erasure lifted (fresh consent)", 0, "")
}

// Forget erases a supporter (GDPR art. 17): the profile, tags, attributes
// and interests go; the consent history and deliveries lose every personal
// field; donations stay as anonymous amounts, dates and methods for the
// accounts; a keyed hash of the address goes on the erased list. On
// SQLite the write-ahead log is then checkpointed and truncated, and with
// secure_delete on no copy of the address stays in the database files; on
// PostgreSQL old row versions stay in the server's files until VACUUM
// reclaims them. It returns an error
// wrapping ErrNotFound for an unknown address, and one wrapping
// ErrLogBusy when the erasure was committed but a reader kept the log
// from being truncated, and one wrapping ErrRetention, erasing nothing,
// for a donor with a tax receipt of the last six years (ForgetWith
// can force it). Packages that keep their
// own tables about supporters pass an Eraser for them (newsletter.Forget
// does).
//
// The erasure is one transaction, Erasers included. The truncation of
// the log comes after it commits and is no part of it (SQLite cannot
// checkpoint inside a transaction), which is why Tx has no Forget: an
// erasure commits alone, then the log is truncated.
func (db *DB) Forget(ctx context.Context, email string, extra ...Eraser) error {
	return db.ForgetWith(ctx, email, ForgetOptions{Erasers: extra})
}

// ForgetOptions says how ForgetWith erases.
type ForgetOptions struct {
	// Force erases a donor who has a tax receipt issued within the
	// retention period (ReceiptRetention), which is refused otherwise.
	Force bool
	// Erasers erase what packages built on crm keep about the person
	// (see Eraser), in the erasure's transaction.
	Erasers []Eraser
}

// ForgetWith is Forget with options. A donor with a tax receipt issued
// in the last six years (LPF art. L102 B: the association keeps its
// accounting documents that long) is refused with an error wrapping
// ErrRetention that names the receipts, unless opts.Force. Whenever the
// erasure goes ahead, the person's receipts keep their numbers, amounts
// and gifts, and lose the donor's name, address and email.
func (db *DB) ForgetWith(ctx context.Context, email string, opts ForgetOptions) error {
	extra := opts.Erasers
	e, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if db.readOnly {
		return fmt.Errorf("forget: %w", ErrReadOnly)
	}
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		crmTx := &Tx{db: db, tx: tx}
		// The first erasure makes the erased list's key; of two racing,
		// both use the one stored first.
		fresh := make([]byte, 32)
		rand.Read(fresh)
		key, err := dbutil.SettingOrInit(ctx, tx, suppressionKeySetting, hex.EncodeToString(fresh))
		if err != nil {
			return err
		}
		hash := erasedAddressHash([]byte(key), e)
		id, err := supporterIDByEmail(ctx, tx, e)
		if err != nil {
			return err
		}
		// Lock the row first (PostgreSQL): a write about this supporter
		// that began before commits first, and what it added is then
		// seen, and erased, by the statements below.
		if _, err := lockLiveSupporter(ctx, tx, id); err != nil {
			return err
		}
		now := db.Now()
		kept, err := receiptsSince(ctx, tx, id, now.AddDate(-ReceiptRetention, 0, 0))
		if err != nil {
			return err
		}
		if len(kept) > 0 && !opts.Force {
			return fmt.Errorf("supporter %d: tax receipt %s: %w", id, strings.Join(kept, ", "), ErrRetention)
		}
		if db.isSQLite() {
			// Deleted content is zeroed on this connection too, whoever
			// opened the database.
			if _, err := tx.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
				return err
			}
		}
		for _, table := range []string{"supporter_tags", "supporter_attributes", "supporter_interests", "supporter_choices",
			"event_rsvps", "event_rsvp_history", "event_attendance"} {
			if _, err := tx.NewDelete().TableExpr(table).Where("supporter_id = ?", id).Exec(ctx); err != nil {
				return fmt.Errorf("forget: %s: %w", table, err)
			}
		}
		if _, err := tx.NewUpdate().Table("supporters").
			Set("email = ?", ErasedAddress(id)).
			Set("first_name = '', last_name = '', phone = '', organisation = '', address = '', city = '', city_key = ''").
			Set("postcode = '', country = '', notes = '', source = '', source_key = ''").
			Set("email_status = ?", EmailOK).Set("updated_at = ?", now).Set("erased_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
		// The consent text goes too, whoever wrote it: one posted by an
		// old web form or typed at an import may name the person. The
		// events keep what was agreed to, when and how (action, list,
		// source, date); the table's trigger allows clearing a text and
		// no other change.
		if _, err := tx.NewUpdate().Table("consent_events").Set("ip = '', user_agent = '', consent_text = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: consent history: %w", err)
		}
		// An import running (or left running by a crash) keeps what it
		// overwrote of this person, to put it back if it is undone, and
		// holds their consent events until it is committed: the first
		// goes (an undo then leaves the erased row as it is, as for anyone
		// changed by someone else meanwhile), the texts of the second too.
		if _, err := tx.NewDelete().Table("import_undo").Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: import journal: %w", err)
		}
		if _, err := tx.NewUpdate().Table("import_consent_events").Set("ip = '', user_agent = '', consent_text = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: import journal: %w", err)
		}
		if _, err := tx.NewUpdate().Table("subscriptions").Set("status = ?", StatusUnsubscribed).
			Set("updated_at = ?", now).Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		// A receipt keeps what the accounts need (number, amount, gifts,
		// issuer), not whom it was for.
		if _, err := tx.NewUpdate().Table("receipts").
			Set("donor_name = '', donor_address = '', donor_postcode = '', donor_city = '', donor_country = '', donor_email = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: receipts: %w", err)
		}
		if _, err := tx.NewUpdate().Table("donations").Set("supporter_id = NULL").Set("note = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("forget: donations: %w", err)
		}
		var segs []Segment
		if err := tx.NewSelect().Model(&segs).Scan(ctx); err != nil {
			return fmt.Errorf("forget: segments: %w", err)
		}
		for _, seg := range segs {
			if expr, ok := RedactSegment(seg.Expression, e, ErasedAddress(id)); ok {
				if _, err := tx.NewUpdate().Table("segments").Set("expression = ?", expr).Set("updated_at = ?", now).
					Where("name = ?", seg.Name).Exec(ctx); err != nil {
					return fmt.Errorf("forget: segment %s: %w", seg.Name, err)
				}
			}
		}
		for _, erase := range extra {
			if err := erase(ctx, crmTx, id, e); err != nil {
				return fmt.Errorf("forget: %w", err)
			}
		}
		if _, err := tx.NewInsert().Model(&suppression{Hash: hash, CreatedAt: now}).
			On("CONFLICT (hash) DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		return db.audit(ctx, tx, "forget", id, "")
	})
	if err != nil {
		return err
	}
	// The erasure is committed: a busy log is reported (ErrLogBusy),
	// and the caller must not take it for a failed erasure.
	if err := db.TruncateLog(ctx); err != nil {
		return fmt.Errorf("erased, but %w", err)
	}
	return nil
}

type suppression struct {
	bun.BaseModel `bun:"table:suppressions"`
	Hash          string    `bun:"hash,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// ErrLogBusy is wrapped by the error of TruncateLog, and of Forget after
// a committed erasure, when a reader kept SQLite's write-ahead log from
// being truncated: what was erased is gone from the database, but older
// copies may stay in the -wal file until the log is truncated (a later
// erasure or send does it, and SQLite does when the last program using
// the file closes it).
var ErrLogBusy = errors.New("the write-ahead log could not be truncated: another program is reading the database")

// TruncateLog copies SQLite's write-ahead log into the database and
// truncates it, so that data just erased does not linger in the -wal
// file. It returns an error wrapping ErrLogBusy when a reader prevents
// that; on PostgreSQL it does nothing. It is the one place the log is
// truncated: Forget and newsletter's erasures call it.
func (db *DB) TruncateLog(ctx context.Context) error {
	if !db.isSQLite() {
		return nil
	}
	var busy, logFrames, checkpointed int
	if err := db.bun.NewRaw("PRAGMA wal_checkpoint(TRUNCATE)").Scan(ctx, &busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint: %w", ErrLogBusy)
	}
	return nil
}

// Backup writes a consistent copy of the database to path while it stays
// in use (SQLite's VACUUM INTO), readable by its owner only (mode 0600).
// The file must not exist. The copy is recorded in the audit log after
// it is made, as an export is.
func (db *DB) Backup(ctx context.Context, path string) error {
	if strings.TrimSpace(path) == "" {
		return invalid("path", path, "empty backup path")
	}
	if !db.isSQLite() {
		return errors.New("backup: for PostgreSQL use pg_dump, which takes a consistent copy of a live database")
	}
	// The copy holds everything the database does: it is created empty
	// (which VACUUM INTO accepts) and readable by its owner only, before
	// SQLite fills it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	err = f.Chmod(0o600) // whatever the umask
	f.Close()
	if err == nil {
		_, err = db.bun.NewRaw("VACUUM INTO ?", path).Exec(ctx)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	db.auditRead(ctx, "backup", 0)
	return nil
}

// CheckResult is what Check found.
type CheckResult struct {
	Integrity     string `json:"integrity"` // "ok" or SQLite's first problems
	SchemaApplied string `json:"schema_applied"`
	SchemaKnown   string `json:"schema_known"`
}

// Check runs SQLite's integrity check (on PostgreSQL, it only reaches the
// server) and reads the schema version, as SchemaVersion does. It writes
// nothing, so it works on a database opened ReadOnly.
func (db *DB) Check(ctx context.Context) (*CheckResult, error) {
	r := &CheckResult{Integrity: "ok"}
	if db.isSQLite() {
		var lines []string
		if err := db.bun.NewRaw("PRAGMA integrity_check").Scan(ctx, &lines); err != nil {
			return nil, fmt.Errorf("integrity check: %w", err)
		}
		r.Integrity = strings.Join(lines, "; ")
	} else if err := db.bun.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	var err error
	r.SchemaApplied, r.SchemaKnown, err = db.SchemaVersion(ctx)
	return r, err
}

// InactiveSupporters returns the supporters (without their tags,
// attributes and interests), ordered by id, created before since who are
// subscribed to nothing and have had no subscription change, donation,
// interest update or consent event since then, and have no tax receipt
// still within its retention period (see ForgetWith): those a retention
// policy would erase (newsletter.Prune does).
func (db *DB) InactiveSupporters(ctx context.Context, since time.Time) ([]*Supporter, error) {
	since = since.UTC()
	var out []*Supporter
	err := db.bun.NewSelect().Model(&out).
		Where("s.created_at < ?", since).
		Where("s.erased_at IS NULL").
		Where("NOT EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.supporter_id = s.id AND (sub.status <> ? OR sub.updated_at >= ?))", StatusUnsubscribed, since).
		Where("NOT EXISTS (SELECT 1 FROM donations d WHERE d.supporter_id = s.id AND d.received_at >= ?)", since).
		Where("NOT EXISTS (SELECT 1 FROM supporter_interests i WHERE i.supporter_id = s.id AND i.updated_at >= ?)", since).
		Where("NOT EXISTS (SELECT 1 FROM consent_events ce WHERE ce.supporter_id = s.id AND ce.created_at >= ?)", since).
		Where("NOT EXISTS (SELECT 1 FROM receipts rc WHERE rc.supporter_id = s.id AND rc.issued_at >= ?)",
			db.Now().AddDate(-ReceiptRetention, 0, 0)).
		Order("s.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("inactive supporters: %w", err)
	}
	return out, nil
}

// Period is a span of calendar time: years, months and days.
type Period struct {
	Years, Months, Days int
}

// Before returns the instant p before t, counted on the calendar as
// time.AddDate counts (3 years before 29 February is 1 March). It is the
// cutoff of "inactive for p" at t: crm prune asks InactiveSupporters for
// p.Before(db.Now()).
func (p Period) Before(t time.Time) time.Time {
	return t.AddDate(-p.Years, -p.Months, -p.Days)
}

// ParsePeriod reads a period such as "3y", "18m" (months), "6w" or "90d".
// It returns an error wrapping ErrInvalid (field "period") for anything
// else, zero and negative periods included.
func ParsePeriod(s string) (Period, error) {
	bad := invalid("period", s, "want a period such as 3y, 18m, 6w or 90d")
	v := strings.TrimSpace(strings.ToLower(s))
	if len(v) < 2 {
		return Period{}, bad
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n <= 0 {
		return Period{}, bad
	}
	switch v[len(v)-1] {
	case 'y':
		return Period{Years: n}, nil
	case 'm':
		return Period{Months: n}, nil
	case 'w':
		return Period{Days: 7 * n}, nil
	case 'd':
		return Period{Days: n}, nil
	}
	return Period{}, bad
}
