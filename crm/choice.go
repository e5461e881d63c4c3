package crm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// The person's own choices.
//
// The team's spreadsheet says Léa helps with transport; Léa unticks
// transport on her preferences page; next month the team imports the
// same spreadsheet again. The import must not put transport back: what
// the person chose for themselves wins over a file typed by someone else.
//
// A change made by the person (SupporterUpdate.BySupporter names the page
// or link) records each interest or tag they removed in supporter_choices,
// with where and when; adding it back themselves deletes the row. Imports
// read the rows of the supporters they merge into and leave those
// interests and tags out (ImportReport.KeptOwnChoices counts the people).
// Lists need no row: an unsubscribe is the subscription's own status,
// which imports never undo (ImportReport.NotResubscribed). A change made
// by the team (crm supporters edit, the Go API without BySupporter) is
// not the person's choice and records nothing.

// Kinds of OwnChoice.
const (
	ChoiceInterest = "interest"
	ChoiceTag      = "tag"
)

// OwnChoice is something the person removed themselves, which imports do
// not add back.
type OwnChoice struct {
	bun.BaseModel `bun:"table:supporter_choices,alias:sc" json:"-"`

	SupporterID int64     `bun:"supporter_id,pk" json:"-"`
	Kind        string    `bun:"kind,pk" json:"kind"` // ChoiceInterest or ChoiceTag
	Name        string    `bun:"name,pk" json:"name"`
	Source      string    `bun:"source" json:"source"` // where the person did it: "preferences page"
	At          time.Time `bun:"at" json:"at"`
}

// OwnChoices returns what the supporter removed themselves, in kind and
// name order.
func (db *DB) OwnChoices(ctx context.Context, supporterID int64) ([]OwnChoice, error) {
	var cs []OwnChoice
	if err := db.bun.NewSelect().Model(&cs).Where("supporter_id = ?", supporterID).Order("kind", "name").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("own choices: %w", err)
	}
	return cs, nil
}

// recordOwnChoices notes, for a change the person made themselves, the
// interests and tags they removed (before → after) and forgets those they
// added back.
func recordOwnChoices(ctx context.Context, idb bun.IDB, id int64, source string, before, after *Supporter, now time.Time) error {
	var removed, added []OwnChoice
	have := func(ins []SupporterInterest, name string) bool { return indexInterest(ins, name) >= 0 }
	for _, in := range before.Interests {
		if !have(after.Interests, in.Interest) {
			removed = append(removed, OwnChoice{SupporterID: id, Kind: ChoiceInterest, Name: in.Interest, Source: source, At: now})
		}
	}
	for _, in := range after.Interests {
		if !have(before.Interests, in.Interest) {
			added = append(added, OwnChoice{Kind: ChoiceInterest, Name: in.Interest})
		}
	}
	for _, t := range before.Tags {
		if !slices.Contains(after.Tags, t) {
			removed = append(removed, OwnChoice{SupporterID: id, Kind: ChoiceTag, Name: t, Source: source, At: now})
		}
	}
	for _, t := range after.Tags {
		if !slices.Contains(before.Tags, t) {
			added = append(added, OwnChoice{Kind: ChoiceTag, Name: t})
		}
	}
	for _, c := range added {
		if _, err := idb.NewDelete().Model((*OwnChoice)(nil)).
			Where("supporter_id = ? AND kind = ? AND name = ?", id, c.Kind, c.Name).Exec(ctx); err != nil {
			return fmt.Errorf("own choices: %w", err)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	if _, err := idb.NewInsert().Model(&removed).
		On("CONFLICT (supporter_id, kind, name) DO UPDATE").
		Set("source = EXCLUDED.source, at = EXCLUDED.at").Exec(ctx); err != nil {
		return fmt.Errorf("own choices: %w", err)
	}
	return nil
}

// ownChoicesOf returns, for each of the supporters, the interests and
// tags they removed themselves, keyed kind + "\x00" + name.
func ownChoicesOf(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]map[string]bool, error) {
	out := map[int64]map[string]bool{}
	for chunk := range slices.Chunk(ids, 500) {
		var cs []OwnChoice
		if err := idb.NewSelect().Model(&cs).Column("supporter_id", "kind", "name").
			Where("supporter_id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("own choices: %w", err)
		}
		for _, c := range cs {
			if out[c.SupporterID] == nil {
				out[c.SupporterID] = map[string]bool{}
			}
			out[c.SupporterID][c.Kind+"\x00"+c.Name] = true
		}
	}
	return out, nil
}

// dropOwnChoices removes from src (a row of an import, about to be merged
// into a supporter) the interests and tags that supporter removed
// themselves, and reports whether it removed any.
func dropOwnChoices(src *Supporter, own map[string]bool) bool {
	if len(own) == 0 {
		return false
	}
	n := len(src.Interests) + len(src.Tags)
	src.Interests = slices.DeleteFunc(src.Interests, func(in SupporterInterest) bool {
		return own[ChoiceInterest+"\x00"+in.Interest]
	})
	src.Tags = slices.DeleteFunc(src.Tags, func(t string) bool { return own[ChoiceTag+"\x00"+t] })
	return len(src.Interests)+len(src.Tags) < n
}
