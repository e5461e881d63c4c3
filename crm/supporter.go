package crm

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// EmailStatus says whether mail can reach a supporter at all. Any status
// but EmailOK suppresses every send, whatever the subscriptions say.
type EmailStatus string

// Email statuses.
const (
	EmailOK         EmailStatus = "ok"
	EmailBounced    EmailStatus = "bounced"    // a permanent bounce
	EmailComplained EmailStatus = "complained" // marked as spam
)

// Valid reports whether s is one of the known statuses.
func (s EmailStatus) Valid() bool {
	return s == EmailOK || s == EmailBounced || s == EmailComplained
}

// DefaultLanguage is the language of a supporter created without one.
const DefaultLanguage = "fr"

// Supporter is one person. Email is unique once normalised.
type Supporter struct {
	bun.BaseModel `bun:"table:supporters,alias:s" json:"-"`

	ID           int64       `bun:"id,pk,autoincrement" json:"id"`
	Email        string      `bun:"email,notnull" json:"email"`
	FirstName    string      `bun:"first_name" json:"first_name"`
	LastName     string      `bun:"last_name" json:"last_name"`
	Phone        string      `bun:"phone" json:"phone"`
	Organisation string      `bun:"organisation" json:"organisation"`
	Address      string      `bun:"address" json:"address"` // street and number: "5 rue Royale"
	City         string      `bun:"city" json:"city"`
	Postcode     string      `bun:"postcode" json:"postcode"`
	Country      string      `bun:"country" json:"country"`
	Language     string      `bun:"language" json:"language"`
	Notes        string      `bun:"notes" json:"notes"`
	Source       string      `bun:"source" json:"source"`
	EmailStatus  EmailStatus `bun:"email_status" json:"email_status"`
	CreatedAt    time.Time   `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt    time.Time   `bun:"updated_at,notnull" json:"updated_at"`
	// ErasedAt is when Forget erased the supporter, zero before: GetSupporter
	// still finds the emptied record by id (the consent history points to
	// it); the other reads skip it.
	ErasedAt time.Time `bun:"erased_at,nullzero" json:"-"`

	searchKeys `json:"-"`

	// Tags, Attributes and Interests live in their own tables; the
	// package loads and saves them with the supporter.
	Tags       []string            `bun:"-" json:"tags"`
	Attributes map[string]string   `bun:"-" json:"attributes"`
	Interests  []SupporterInterest `bun:"-" json:"interests"`
}

// searchKeys are columns of the supporters table that segments and
// filters compare with: City and Source folded (no case, no accents).
// They are computed from City and Source by Normalize and by the imports
// before every write, so they are no part of what a caller gives or reads.
// bun maps only exported fields, which is why they are exported fields of
// an unexported embedded type: go doc and JSON do not show them, and a
// value set from outside is replaced at the next write.
type searchKeys struct {
	CityKey   string `bun:"city_key"`
	SourceKey string `bun:"source_key"`
}

// Name returns the first and last name joined, or "" if both are empty.
func (s *Supporter) Name() string {
	return strings.TrimSpace(s.FirstName + " " + s.LastName)
}

// Bounds on what one supporter may hold, so that a pasted book in a note
// or a spreadsheet of a hundred thousand columns is refused with an error
// naming the field instead of filling the database (and every export,
// page and segment scan that reads it). Lengths are counted in characters
// (Unicode code points) after cleaning.
const (
	// MaxNotesLength is the longest notes field: 10,000 characters, some
	// four printed pages.
	MaxNotesLength = 10000
	// MaxAttributeValueLength is the longest value of one free attribute.
	MaxAttributeValueLength = 1000
	// MaxAttributeKeyLength is the longest name of a free attribute, in
	// bytes (the bound attribute names have always had: a spreadsheet's
	// column header, such as a long Google Forms question, becomes one).
	MaxAttributeKeyLength = 100
	// MaxAttributes is the most free attributes one supporter may have.
	MaxAttributes = 100
)

// Normalize cleans every field in place (see CleanText, NormalizeEmail,
// NormalizeTag, NormalizeLanguage, NormalizeCountry), fills in defaults and
// returns a *ValidationError naming the first field that cannot be stored,
// among them a field over its bound (MaxNotesLength, MaxAttributes...).
func (s *Supporter) Normalize() error { return s.normalize(nil) }

// normalize is Normalize for a supporter whose stored record is stored
// (nil for a new one): a bound is checked only where the change adds to
// what is stored, so a record stored before a bound existed can still be
// edited (a new language, a tag) without first cutting its long note.
func (s *Supporter) normalize(stored *Supporter) error {
	email, err := NormalizeEmail(s.Email)
	if err != nil {
		return err
	}
	if strings.HasSuffix(email, "@"+ErasedDomain) {
		// Forget's placeholders live there: taking one would make a later
		// Forget of that supporter collide with it.
		return invalid("email", email, "addresses at "+ErasedDomain+" are reserved for erased supporters")
	}
	s.Email = email
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"first_name", &s.FirstName, 200}, {"last_name", &s.LastName, 200},
		{"phone", &s.Phone, 50}, {"organisation", &s.Organisation, 200},
		{"address", &s.Address, 300}, {"city", &s.City, 200}, {"postcode", &s.Postcode, 20},
		{"source", &s.Source, 200},
	} {
		*f.v = CleanText(*f.v)
		if len(*f.v) > f.max {
			// The value is left out of the error: it may be megabytes.
			return invalid(f.name, "", fmt.Sprintf("%d bytes, longer than %d bytes", len(*f.v), f.max))
		}
	}
	s.Notes = cleanMultiline(s.Notes)
	if n := utf8.RuneCountInString(s.Notes); n > MaxNotesLength && (stored == nil || s.Notes != stored.Notes) {
		return invalid("notes", "", fmt.Sprintf("%d characters, longer than %d", n, MaxNotesLength))
	}
	s.Postcode = normalizePostcode(s.Postcode)
	s.CityKey, s.SourceKey = fold(s.City), fold(s.Source)
	s.Country = NormalizeCountry(s.Country)
	if s.Language == "" {
		s.Language = DefaultLanguage
	} else if s.Language, err = NormalizeLanguage(s.Language); err != nil {
		return err
	}
	if s.EmailStatus == "" {
		s.EmailStatus = EmailOK
	} else if !s.EmailStatus.Valid() {
		return invalid("email_status", string(s.EmailStatus), "want ok, bounced or complained")
	}
	if s.Tags, err = normalizeTags(s.Tags); err != nil {
		return err
	}
	var storedAttrs map[string]string
	if stored != nil {
		storedAttrs = stored.Attributes
	}
	if s.Attributes, err = normalizeAttributes(s.Attributes, storedAttrs); err != nil {
		return err
	}
	if s.Interests, err = normalizeInterests(s.Interests); err != nil {
		return err
	}
	return nil
}

func normalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		n, err := NormalizeTag(t)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeAttributes cleans attribute names and values and checks their
// bounds; an error names the attribute ("attr.KEY", as the import and the
// CLI's output call it) or "attributes" for too many of them. Values
// already stored (stored, nil for none) are not held to the bounds again,
// and neither is a count that does not grow.
func normalizeAttributes(attrs, stored map[string]string) (map[string]string, error) {
	if len(attrs) > MaxAttributes && len(attrs) > len(stored) {
		return nil, invalid("attributes", "", fmt.Sprintf("%d attributes, at most %d", len(attrs), MaxAttributes))
	}
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		key := CleanText(k)
		if key == "" {
			return nil, invalid("attribute", k, "empty attribute name")
		}
		if len(key) > MaxAttributeKeyLength {
			return nil, invalid("attribute", "", fmt.Sprintf("name of %d bytes, longer than %d bytes", len(key), MaxAttributeKeyLength))
		}
		val := cleanMultiline(v)
		if n := utf8.RuneCountInString(val); n > MaxAttributeValueLength && stored[key] != val {
			return nil, invalid("attr."+key, "", fmt.Sprintf("%d characters, longer than %d", n, MaxAttributeValueLength))
		}
		out[key] = val
	}
	if len(out) > MaxAttributes && len(out) > len(stored) {
		return nil, invalid("attributes", "", fmt.Sprintf("%d attributes, at most %d", len(out), MaxAttributes))
	}
	return out, nil
}

// SupporterFilter selects supporters. Nil and zero fields do not filter.
type SupporterFilter struct {
	ID       *int64
	IDs      []int64 // any of these ids
	Email    *string // normalised before comparing
	Tag      *string
	Interest *string
	List     *string // subscribed to this list
	Source   *string
	Language *string
	// Segment is an expression of the segment language, such as
	// "interest:terrain AND NOT tag:presse" (see package segment).
	Segment string
	// Mailable keeps only supporters who may be mailed now: their email
	// status is ok (neither bounced nor complained), and no import still
	// running (or left running by a crash) created or changed them, since
	// it may yet be undone and the consent it records is not final
	// (campaigns freeze their audience with it).
	Mailable bool

	afterID int64 // keyset paging for Supporters

	// Offset and Limit choose a page for ListSupporters and Supporters;
	// CountSupporters ignores them.
	Offset int
	Limit  int // 0 means no limit
}

// SupporterUpdate changes some fields of a supporter. Nil fields are left
// as they are; an empty string clears a field.
type SupporterUpdate struct {
	Email        *string
	FirstName    *string
	LastName     *string
	Phone        *string
	Organisation *string
	Address      *string
	City         *string
	Postcode     *string
	Country      *string
	Language     *string
	Notes        *string
	Source       *string

	AddTags    []string
	RemoveTags []string
	// SetAttributes sets each key to its value; an empty value deletes it.
	SetAttributes map[string]string
	// SetInterests adds the interests or replaces their availability.
	SetInterests    []SupporterInterest
	RemoveInterests []string

	// BySupporter, when the person made this change themselves, names
	// where ("preferences page"): the interests and tags they remove are
	// remembered as their own choice, which imports never undo, and
	// those they add back are forgotten (see OwnChoice). Empty for a
	// change made by the team.
	BySupporter string
}

// CreateSupporter normalises s and stores it with its tags, attributes and
// interests, setting s.ID, s.CreatedAt and s.UpdatedAt. It returns an error
// wrapping ErrConflict if the email is taken, ErrErased if the address was
// erased by Forget, and a *ValidationError for bad input (an unknown
// interest among them); then nothing is written.
//
// Someone erased may be added again only with their fresh consent:
// record it with ClearErased and create them in one RunInTx, so that the
// address stays erased when the creation fails.
func (db *DB) CreateSupporter(ctx context.Context, s *Supporter) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.CreateSupporter(ctx, s) })
}

// CreateSupporter is DB.CreateSupporter in the transaction.
func (tx *Tx) CreateSupporter(ctx context.Context, s *Supporter) error {
	return tx.createSupporter(ctx, s, true)
}

// createSupporter is CreateSupporter; refuseErased false creates a
// supporter whose address stays on the erased list (see
// dbutil.CreateErasedSupporter). Whatever is invalid is refused first,
// before anything is written.
func (tx *Tx) createSupporter(ctx context.Context, s *Supporter, refuseErased bool) error {
	if err := s.Normalize(); err != nil {
		return err
	}
	if err := checkInterests(ctx, tx.tx, s.Interests); err != nil {
		return err
	}
	if refuseErased {
		erased, err := isErased(ctx, tx.tx, s.Email)
		if err != nil {
			return err
		}
		if erased {
			return fmt.Errorf("email: %w", ErrErased)
		}
	}
	now := tx.now()
	s.CreatedAt, s.UpdatedAt = now, now
	if _, err := tx.tx.NewInsert().Model(s).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("supporter with this email already exists: %w", ErrConflict)
		}
		return fmt.Errorf("insert supporter: %w", err)
	}
	if err := insertTags(ctx, tx.tx, s.ID, s.Tags); err != nil {
		return err
	}
	if err := setAttributes(ctx, tx.tx, s.ID, s.Attributes); err != nil {
		return err
	}
	if err := setInterests(ctx, tx.tx, s.ID, s.Interests, now); err != nil {
		return err
	}
	return tx.audit(ctx, "create supporter", s.ID, "")
}

// GetSupporter returns the supporter with the given id, with tags,
// attributes and interests, or an error wrapping ErrNotFound.
func (db *DB) GetSupporter(ctx context.Context, id int64) (*Supporter, error) {
	return getSupporter(ctx, db.bun, "s.id = ?", id)
}

// GetSupporter is DB.GetSupporter in the transaction.
func (tx *Tx) GetSupporter(ctx context.Context, id int64) (*Supporter, error) {
	return getSupporter(ctx, tx.tx, "s.id = ?", id)
}

// GetSupporterByEmail returns the supporter with the given address, in any
// case or spacing, or an error wrapping ErrNotFound (or ErrInvalid when the
// address cannot be one).
func (db *DB) GetSupporterByEmail(ctx context.Context, email string) (*Supporter, error) {
	return getSupporterByEmail(ctx, db.bun, email)
}

// GetSupporterByEmail is DB.GetSupporterByEmail in the transaction.
func (tx *Tx) GetSupporterByEmail(ctx context.Context, email string) (*Supporter, error) {
	return getSupporterByEmail(ctx, tx.tx, email)
}

func getSupporterByEmail(ctx context.Context, idb bun.IDB, email string) (*Supporter, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	return getSupporter(ctx, idb, "s.email = ?", e)
}

func getSupporter(ctx context.Context, idb bun.IDB, where string, arg any) (*Supporter, error) {
	var ss []*Supporter
	if err := idb.NewSelect().Model(&ss).Where(where, arg).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get supporter: %w", err)
	}
	if len(ss) == 0 {
		return nil, notFound("supporter")
	}
	if err := loadRelations(ctx, idb, ss); err != nil {
		return nil, err
	}
	return ss[0], nil
}

func supporterIDByEmail(ctx context.Context, idb bun.IDB, email string) (int64, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	var ids []int64
	if err := idb.NewSelect().Table("supporters").Column("id").Where("email = ?", e).Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("find supporter: %w", err)
	}
	if len(ids) == 0 {
		return 0, notFound("supporter")
	}
	return ids[0], nil
}

// SupporterID returns the id of the supporter with the given address, or an
// error wrapping ErrNotFound.
func (db *DB) SupporterID(ctx context.Context, email string) (int64, error) {
	return supporterIDByEmail(ctx, db.bun, email)
}

// SupporterID is DB.SupporterID in the transaction.
func (tx *Tx) SupporterID(ctx context.Context, email string) (int64, error) {
	return supporterIDByEmail(ctx, tx.tx, email)
}

// UpdateSupporter applies u to the supporter with the given id and returns
// the result. Only the fields u sets change. It returns an error wrapping
// ErrNotFound, ErrConflict (new email taken) or ErrInvalid, and then the
// supporter is left as it was.
func (db *DB) UpdateSupporter(ctx context.Context, id int64, u SupporterUpdate) (*Supporter, error) {
	return runTx(ctx, db, func(tx *Tx) (*Supporter, error) { return tx.UpdateSupporter(ctx, id, u) })
}

// UpdateSupporter is DB.UpdateSupporter in the transaction.
func (tx *Tx) UpdateSupporter(ctx context.Context, id int64, u SupporterUpdate) (*Supporter, error) {
	if _, err := lockLiveSupporter(ctx, tx.tx, id); err != nil {
		return nil, err
	}
	s, err := getSupporter(ctx, tx.tx, "s.id = ?", id)
	if err != nil {
		return nil, err
	}
	stored := &Supporter{Notes: s.Notes, Attributes: maps.Clone(s.Attributes),
		Tags: slices.Clone(s.Tags), Interests: slices.Clone(s.Interests)}
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&s.Email, u.Email}, {&s.FirstName, u.FirstName}, {&s.LastName, u.LastName},
		{&s.Phone, u.Phone}, {&s.Organisation, u.Organisation}, {&s.Address, u.Address}, {&s.City, u.City},
		{&s.Postcode, u.Postcode}, {&s.Country, u.Country}, {&s.Language, u.Language},
		{&s.Notes, u.Notes}, {&s.Source, u.Source},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	s.Tags = append(s.Tags, u.AddTags...)
	if len(u.RemoveTags) > 0 {
		rm, err := normalizeTags(u.RemoveTags)
		if err != nil {
			return nil, err
		}
		s.Tags = slices.DeleteFunc(s.Tags, func(t string) bool { return slices.Contains(rm, t) })
	}
	newAttrs := map[string]string{}
	for k, v := range u.SetAttributes {
		newAttrs[k] = v
	}
	if newAttrs, err = normalizeAttributes(newAttrs, nil); err != nil {
		return nil, err
	}
	for k, v := range newAttrs {
		if v == "" {
			delete(s.Attributes, k)
		} else {
			s.Attributes[k] = v
		}
	}
	if s.Interests, err = mergeInterests(s.Interests, u.SetInterests, u.RemoveInterests); err != nil {
		return nil, err
	}
	if err := s.normalize(stored); err != nil {
		return nil, err
	}
	if err := checkInterests(ctx, tx.tx, s.Interests); err != nil {
		return nil, err
	}
	s.UpdatedAt = tx.now()
	if _, err := tx.tx.NewUpdate().Model(s).WherePK().ExcludeColumn("id", "created_at").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return nil, fmt.Errorf("another supporter has this email: %w", ErrConflict)
		}
		return nil, fmt.Errorf("update supporter %d: %w", id, err)
	}
	if err := replaceRelations(ctx, tx.tx, s, s.UpdatedAt); err != nil {
		return nil, err
	}
	if u.BySupporter != "" {
		if err := recordOwnChoices(ctx, tx.tx, id, CleanText(u.BySupporter), stored, s, s.UpdatedAt); err != nil {
			return nil, err
		}
	}
	if err := tx.audit(ctx, "update supporter", id, ""); err != nil {
		return nil, err
	}
	return s, nil
}

// replaceRelations rewrites a supporter's tags, attributes and interests to
// match s, keeping interest rows whose availability did not change.
func replaceRelations(ctx context.Context, tx bun.IDB, s *Supporter, now time.Time) error {
	if _, err := tx.NewDelete().Table("supporter_tags").Where("supporter_id = ?", s.ID).Exec(ctx); err != nil {
		return err
	}
	if err := insertTags(ctx, tx, s.ID, s.Tags); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Table("supporter_attributes").Where("supporter_id = ?", s.ID).Exec(ctx); err != nil {
		return err
	}
	if err := setAttributes(ctx, tx, s.ID, s.Attributes); err != nil {
		return err
	}
	names := make([]string, len(s.Interests))
	for i, in := range s.Interests {
		names[i] = in.Interest
	}
	q := tx.NewDelete().Table("supporter_interests").Where("supporter_id = ?", s.ID)
	if len(names) > 0 {
		q = q.Where("interest NOT IN (?)", bun.List(names))
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	return setInterests(ctx, tx, s.ID, s.Interests, now)
}

// TagSupporter adds tags to a supporter. Tags it already has are kept once.
// It returns an error wrapping ErrNotFound or ErrInvalid.
func (db *DB) TagSupporter(ctx context.Context, id int64, tags ...string) error {
	_, err := db.UpdateSupporter(ctx, id, SupporterUpdate{AddTags: tags})
	return err
}

// TagSupporter is DB.TagSupporter in the transaction.
func (tx *Tx) TagSupporter(ctx context.Context, id int64, tags ...string) error {
	_, err := tx.UpdateSupporter(ctx, id, SupporterUpdate{AddTags: tags})
	return err
}

// UntagSupporter removes tags from a supporter; absent tags are ignored.
// It returns an error wrapping ErrNotFound or ErrInvalid.
func (db *DB) UntagSupporter(ctx context.Context, id int64, tags ...string) error {
	_, err := db.UpdateSupporter(ctx, id, SupporterUpdate{RemoveTags: tags})
	return err
}

// UntagSupporter is DB.UntagSupporter in the transaction.
func (tx *Tx) UntagSupporter(ctx context.Context, id int64, tags ...string) error {
	_, err := tx.UpdateSupporter(ctx, id, SupporterUpdate{RemoveTags: tags})
	return err
}

// ListSupporters returns one page of the supporters matching f (f.Offset
// and f.Limit choose it), ordered by id, with their tags, attributes and
// interests, and the total number matching f regardless of Offset and
// Limit. It returns a *SegmentError or *ValidationError for a bad filter.
func (db *DB) ListSupporters(ctx context.Context, f SupporterFilter) ([]*Supporter, int, error) {
	ss, err := db.findSupporters(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	total := len(ss) + f.Offset
	if f.Limit > 0 && len(ss) == f.Limit || f.Offset > 0 && len(ss) == 0 {
		if total, err = db.CountSupporters(ctx, f); err != nil {
			return nil, 0, err
		}
	}
	return ss, total, nil
}

// Supporters streams the supporters matching f, ordered by id, with their
// tags, attributes and interests: from f.Offset on, at most f.Limit of
// them (0: all). They are read a thousand at a time, so the whole base
// can be exported without holding it in memory. The iteration stops at
// the first error (a *SegmentError or *ValidationError for a bad filter),
// which it yields.
func (db *DB) Supporters(ctx context.Context, f SupporterFilter) iter.Seq2[*Supporter, error] {
	return func(yield func(*Supporter, error) bool) {
		left := f.Limit
		for {
			f.Limit = supporterChunk
			if left > 0 {
				f.Limit = min(left, supporterChunk)
			}
			ss, err := db.findSupporters(ctx, f)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, s := range ss {
				if !yield(s, nil) {
					return
				}
			}
			if left > 0 {
				if left -= len(ss); left == 0 {
					return
				}
			}
			if len(ss) < f.Limit {
				return
			}
			// The next chunk follows the last id (keyset), not an offset.
			f.afterID, f.Offset = ss[len(ss)-1].ID, 0
		}
	}
}

// supporterChunk is how many supporters Supporters reads at a time.
const supporterChunk = 1000

// findSupporters is ListSupporters without the total: one query for the
// supporters and three for their tags, attributes and interests.
func (db *DB) findSupporters(ctx context.Context, f SupporterFilter) ([]*Supporter, error) {
	var ss []*Supporter
	q := db.bun.NewSelect().Model(&ss)
	if err := applySupporterFilter(ctx, db.bun, q, f); err != nil {
		return nil, err
	}
	q = q.Order("s.id")
	q = paginate(q, f.Limit, f.Offset)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list supporters: %w", err)
	}
	if err := loadRelations(ctx, db.bun, ss); err != nil {
		return nil, err
	}
	return ss, nil
}

// supporterQuery returns a query over the supporters table, aliased s, on
// idb, restricted by f (Offset and Limit are ignored), for newsletter,
// which reaches it through dbutil.SupporterQuery.
func supporterQuery(ctx context.Context, idb bun.IDB, f SupporterFilter) (*bun.SelectQuery, error) {
	q := idb.NewSelect().TableExpr("supporters AS s")
	if err := applySupporterFilter(ctx, idb, q, f); err != nil {
		return nil, err
	}
	return q, nil
}

// CountSupporters returns how many supporters match f (Offset and Limit are
// ignored). It returns a *SegmentError or *ValidationError for a bad
// filter.
func (db *DB) CountSupporters(ctx context.Context, f SupporterFilter) (int, error) {
	if f.onlySegment() {
		e, _, err := compileSegment(ctx, db.bun, f.Segment, nil)
		if err != nil {
			return 0, err
		}
		// See segment_set.go for when sets beat the SQL form.
		if db.isSQLite() || e.hasShared() {
			return countSegment(ctx, db.bun, e)
		}
	}
	q := db.bun.NewSelect().Model((*Supporter)(nil))
	if err := applySupporterFilter(ctx, db.bun, q, f); err != nil {
		return 0, err
	}
	n, err := q.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count supporters: %w", err)
	}
	return int(n), nil
}

// onlySegment reports whether f holds a segment and nothing else.
func (f SupporterFilter) onlySegment() bool {
	g := f
	g.Segment, g.Offset, g.Limit = "", 0, 0
	return strings.TrimSpace(f.Segment) != "" && reflect.ValueOf(g).IsZero()
}

func applySupporterFilter(ctx context.Context, idb bun.IDB, q *bun.SelectQuery, f SupporterFilter) error {
	q.Where("s.erased_at IS NULL") // erased supporters are only an id kept for the consent history
	if f.afterID > 0 {
		q.Where("s.id > ?", f.afterID)
	}
	if strings.TrimSpace(f.Segment) != "" {
		e, _, err := compileSegment(ctx, idb, f.Segment, nil)
		if err != nil {
			return err
		}
		cond := e.sql(idb.Dialect().Name() == dialect.PG)
		q.Where(cond.sql, cond.args...)
	}
	if f.ID != nil {
		q.Where("s.id = ?", *f.ID)
	}
	if f.IDs != nil {
		q.Where("s.id IN (?)", bun.List(append([]int64{0}, f.IDs...)))
	}
	if f.Email != nil {
		e, err := NormalizeEmail(*f.Email)
		if err != nil {
			return err
		}
		q.Where("s.email = ?", e)
	}
	if f.Tag != nil {
		t, err := NormalizeTag(*f.Tag)
		if err != nil {
			return err
		}
		q.Where("EXISTS (SELECT 1 FROM supporter_tags t WHERE t.supporter_id = s.id AND t.tag_key = ?)", fold(t))
	}
	if f.Interest != nil {
		name, err := slug("interest", *f.Interest)
		if err != nil {
			return err
		}
		q.Where("EXISTS (SELECT 1 FROM supporter_interests i WHERE i.supporter_id = s.id AND i.interest = ?)", name)
	}
	if f.List != nil {
		name, err := slug("list", *f.List)
		if err != nil {
			return err
		}
		q.Where("EXISTS (SELECT 1 FROM subscriptions sub JOIN lists l ON l.id = sub.list_id "+
			"WHERE sub.supporter_id = s.id AND l.name = ? AND sub.status = ?)", name, StatusSubscribed)
	}
	if f.Source != nil {
		q.Where("s.source_key = ?", fold(CleanText(*f.Source)))
	}
	if f.Mailable {
		q.Where("s.email_status = ?", EmailOK)
		var running []int64
		if err := idb.NewSelect().Table("imports").Column("id").Where("status = ?", importRunning).
			Scan(ctx, &running); err != nil {
			return fmt.Errorf("running imports: %w", err)
		}
		if len(running) > 0 {
			q.Where("NOT EXISTS (SELECT 1 FROM import_supporters x WHERE x.import_id IN (?) "+
				"AND s.id BETWEEN x.first_id AND x.last_id)", bun.List(running))
		}
	}
	if f.Language != nil {
		l, err := NormalizeLanguage(*f.Language)
		if err != nil {
			return err
		}
		q.Where("s.language = ?", l)
	}
	return nil
}

// Attributes returns the free attributes of the given supporters, by id,
// with one query per 500 ids.
func (db *DB) Attributes(ctx context.Context, ids []int64) (map[int64]map[string]string, error) {
	out := make(map[int64]map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		var attrs []supporterAttribute
		if err := db.bun.NewSelect().Model(&attrs).Where("supporter_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("load attributes: %w", err)
		}
		for _, a := range attrs {
			if out[a.SupporterID] == nil {
				out[a.SupporterID] = map[string]string{}
			}
			out[a.SupporterID][a.Key] = a.Value
		}
	}
	return out, nil
}

// loadRelations fills Tags, Attributes and Interests of ss with three
// queries, whatever the number of supporters.
func loadRelations(ctx context.Context, idb bun.IDB, ss []*Supporter) error {
	if len(ss) == 0 {
		return nil
	}
	byID := make(map[int64]*Supporter, len(ss))
	ids := make([]int64, len(ss))
	for i, s := range ss {
		s.Tags, s.Attributes, s.Interests = []string{}, map[string]string{}, []SupporterInterest{}
		byID[s.ID] = s
		ids[i] = s.ID
	}
	for chunk := range slices.Chunk(ids, 500) {
		var tags []supporterTag
		if err := idb.NewSelect().Model(&tags).Where("supporter_id IN (?)", bun.List(chunk)).
			Order("supporter_id", "tag").Scan(ctx); err != nil {
			return fmt.Errorf("load tags: %w", err)
		}
		for _, t := range tags {
			byID[t.SupporterID].Tags = append(byID[t.SupporterID].Tags, t.Tag)
		}
		var attrs []supporterAttribute
		if err := idb.NewSelect().Model(&attrs).Where("supporter_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return fmt.Errorf("load attributes: %w", err)
		}
		for _, a := range attrs {
			byID[a.SupporterID].Attributes[a.Key] = a.Value
		}
		var ints []SupporterInterest
		if err := idb.NewSelect().Model(&ints).Where("supporter_id IN (?)", bun.List(chunk)).
			Order("supporter_id", "interest").Scan(ctx); err != nil {
			return fmt.Errorf("load interests: %w", err)
		}
		for _, in := range ints {
			byID[in.SupporterID].Interests = append(byID[in.SupporterID].Interests, in)
		}
	}
	return nil
}

type supporterTag struct {
	bun.BaseModel `bun:"table:supporter_tags"`
	SupporterID   int64  `bun:"supporter_id,pk"`
	Tag           string `bun:"tag,pk"`
	TagKey        string `bun:"tag_key"`
}

func newTag(id int64, tag string) supporterTag {
	return supporterTag{SupporterID: id, Tag: tag, TagKey: fold(tag)}
}

type supporterAttribute struct {
	bun.BaseModel `bun:"table:supporter_attributes"`
	SupporterID   int64  `bun:"supporter_id,pk"`
	Key           string `bun:"key,pk"`
	Value         string `bun:"value"`
	KeyFold       string `bun:"key_fold"`
	ValueFold     string `bun:"value_fold"`
}

func newAttribute(id int64, k, v string) supporterAttribute {
	return supporterAttribute{SupporterID: id, Key: k, Value: v, KeyFold: fold(k), ValueFold: fold(v)}
}

func insertTags(ctx context.Context, tx bun.IDB, id int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]supporterTag, len(tags))
	for i, t := range tags {
		rows[i] = newTag(id, t)
	}
	if _, err := tx.NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("insert tags: %w", err)
	}
	return nil
}

func setAttributes(ctx context.Context, tx bun.IDB, id int64, attrs map[string]string) error {
	var rows []supporterAttribute
	var drop []string
	for k, v := range attrs {
		if v == "" {
			drop = append(drop, k)
			continue
		}
		rows = append(rows, newAttribute(id, k, v))
	}
	if len(drop) > 0 {
		if _, err := tx.NewDelete().Table("supporter_attributes").
			Where("supporter_id = ? AND key IN (?)", id, bun.List(drop)).Exec(ctx); err != nil {
			return fmt.Errorf("delete attributes: %w", err)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.NewInsert().Model(&rows).
		On("CONFLICT (supporter_id, key) DO UPDATE").Set("value = EXCLUDED.value").
		Set("value_fold = EXCLUDED.value_fold").Exec(ctx); err != nil {
		return fmt.Errorf("set attributes: %w", err)
	}
	return nil
}

// paginate applies a limit (0: none) and an offset to q.
func paginate(q *bun.SelectQuery, limit, offset int) *bun.SelectQuery {
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	if offset > 0 {
		if limit <= 0 {
			q = q.Limit(math.MaxInt64) // SQLite accepts OFFSET only after a LIMIT
		}
		q = q.Offset(int64(offset))
	}
	return q
}
