package crm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Interest is one way of helping the association, from a vocabulary it can
// extend. The database starts with terrain, hebergement, redaction,
// reseaux, traduction, juridique, transport and collecte.
type Interest struct {
	bun.BaseModel `bun:"table:interests" json:"-"`

	Name      string    `bun:"name,pk" json:"name"`
	LabelFR   string    `bun:"label_fr" json:"label_fr"`
	LabelEN   string    `bun:"label_en" json:"label_en"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
}

// Label returns the label in the given language ("fr" or "en"), falling
// back to French.
func (in *Interest) Label(lang string) string {
	if lang == "en" && in.LabelEN != "" {
		return in.LabelEN
	}
	return in.LabelFR
}

// SupporterInterest is one way a supporter wants to help, and when.
type SupporterInterest struct {
	bun.BaseModel `bun:"table:supporter_interests,alias:si" json:"-"`

	SupporterID  int64     `bun:"supporter_id,pk" json:"-"`
	Interest     string    `bun:"interest,pk" json:"interest"`
	Availability string    `bun:"availability" json:"availability,omitempty"`
	UpdatedAt    time.Time `bun:"updated_at" json:"updated_at"`
}

// ParseSupporterInterest reads "NAME" or "NAME=AVAILABILITY", as given on
// the command line ("terrain=weekends").
func ParseSupporterInterest(s string) (SupporterInterest, error) {
	name, avail, _ := strings.Cut(s, "=")
	n, err := slug("interest", name)
	if err != nil {
		return SupporterInterest{}, err
	}
	return SupporterInterest{Interest: n, Availability: CleanText(avail)}, nil
}

func normalizeInterests(ins []SupporterInterest) ([]SupporterInterest, error) {
	out := make([]SupporterInterest, 0, len(ins))
	for _, in := range ins {
		n, err := slug("interest", in.Interest)
		if err != nil {
			return nil, err
		}
		in.Interest, in.Availability = n, CleanText(in.Availability)
		if len(in.Availability) > 200 {
			return nil, invalid("availability", in.Availability, "longer than 200 bytes")
		}
		if i := slices.IndexFunc(out, func(o SupporterInterest) bool { return o.Interest == n }); i >= 0 {
			out[i] = in // the last mention wins
			continue
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b SupporterInterest) int { return strings.Compare(a.Interest, b.Interest) })
	return out, nil
}

// mergeInterests adds or updates set in have and removes the names in rm.
func mergeInterests(have, set []SupporterInterest, rm []string) ([]SupporterInterest, error) {
	out, err := normalizeInterests(append(slices.Clone(have), set...))
	if err != nil {
		return nil, err
	}
	for _, r := range rm {
		n, err := slug("interest", r)
		if err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(o SupporterInterest) bool { return o.Interest == n })
	}
	return out, nil
}

// checkInterests checks each name of ins against the vocabulary, so an
// unknown one gets a clear error, not a foreign key failure, before
// anything is written.
func checkInterests(ctx context.Context, idb bun.IDB, ins []SupporterInterest) error {
	if len(ins) == 0 {
		return nil
	}
	names := make([]string, len(ins))
	for i := range ins {
		names[i] = ins[i].Interest
	}
	var known []string
	if err := idb.NewSelect().Table("interests").Column("name").
		Where("name IN (?)", bun.List(names)).Scan(ctx, &known); err != nil {
		return fmt.Errorf("check interests: %w", err)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return invalid("interest", n, "unknown interest (add it to the vocabulary first)")
		}
	}
	return nil
}

// setInterests upserts ins, checked by checkInterests, for the supporter.
func setInterests(ctx context.Context, tx bun.IDB, id int64, ins []SupporterInterest, now time.Time) error {
	if len(ins) == 0 {
		return nil
	}
	rows := make([]SupporterInterest, len(ins))
	for i, in := range ins {
		in.SupporterID, in.UpdatedAt = id, now
		rows[i] = in
	}
	if _, err := tx.NewInsert().Model(&rows).
		On("CONFLICT (supporter_id, interest) DO UPDATE").
		Set("availability = EXCLUDED.availability").
		Set("updated_at = EXCLUDED.updated_at").
		Where("si.availability <> EXCLUDED.availability").
		Exec(ctx); err != nil {
		return fmt.Errorf("set interests: %w", err)
	}
	return nil
}

// AddInterest adds a way of helping to the vocabulary. The name is turned
// into a slug ("Hébergement" becomes "hebergement"); both labels are
// required. It returns an error wrapping ErrConflict if the name exists.
func (db *DB) AddInterest(ctx context.Context, in *Interest) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.AddInterest(ctx, in) })
}

// AddInterest is DB.AddInterest in the transaction.
func (tx *Tx) AddInterest(ctx context.Context, in *Interest) error {
	name, err := slug("name", in.Name)
	if err != nil {
		return err
	}
	in.Name, in.LabelFR, in.LabelEN = name, CleanText(in.LabelFR), CleanText(in.LabelEN)
	if in.LabelFR == "" {
		return invalid("label_fr", "", "missing French label")
	}
	if in.LabelEN == "" {
		return invalid("label_en", "", "missing English label")
	}
	in.CreatedAt = tx.now()
	if _, err := tx.tx.NewInsert().Model(in).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("interest %q already exists: %w", in.Name, ErrConflict)
		}
		return fmt.Errorf("add interest: %w", err)
	}
	return nil
}

// Interests returns the vocabulary, ordered by name.
func (db *DB) Interests(ctx context.Context) ([]Interest, error) {
	return interests(ctx, db.bun)
}

// Interests is DB.Interests in the transaction.
func (tx *Tx) Interests(ctx context.Context) ([]Interest, error) {
	return interests(ctx, tx.tx)
}

func interests(ctx context.Context, idb bun.IDB) ([]Interest, error) {
	var out []Interest
	if err := idb.NewSelect().Model(&out).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list interests: %w", err)
	}
	return out, nil
}
