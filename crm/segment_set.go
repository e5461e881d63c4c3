package crm

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/uptrace/bun"
)

// Counting a segment on SQLite evaluates it term by term: each term's
// supporters come from one index scan, returned by SQLite as a single
// group_concat string rather than row by row, and AND, OR and NOT are
// applied to bitmaps of ids. On 1,000,000 supporters this counts in tens
// of milliseconds where the single SQL query, which visits every
// supporter of its most selective term through the table, needs 300 ms.
// The SQL form (segExpr.sql) stays the one used to list and to send, and
// on PostgreSQL; TestSegmentCountMatchesSQL holds the two to the same
// answers.

// idSet is a set of supporter ids, one bit each.
type idSet []uint64

func (s *idSet) add(id int64) {
	w := int(id >> 6)
	if w >= len(*s) {
		*s = append(*s, make([]uint64, w+1-len(*s))...)
	}
	(*s)[w] |= 1 << (uint64(id) & 63)
}

func (s idSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// and keeps in s the ids also in o.
func (s idSet) and(o idSet) idSet {
	if len(o) < len(s) {
		s = s[:len(o)]
	}
	for i := range s {
		s[i] &= o[i]
	}
	return s
}

// or adds the ids of o to s.
func (s idSet) or(o idSet) idSet {
	if len(o) > len(s) {
		s = append(s, make([]uint64, len(o)-len(s))...)
	}
	for i, w := range o {
		s[i] |= w
	}
	return s
}

// andNot removes the ids of o from s.
func (s idSet) andNot(o idSet) idSet {
	for i := range min(len(s), len(o)) {
		s[i] &^= o[i]
	}
	return s
}

// setEval evaluates a compiled segment into an idSet. A result is kept
// with a complement flag, so that NOT, and AND with a NOT, never need the
// set of every supporter.
type setEval struct {
	ctx context.Context
	idb bun.IDB
}

// eval returns the ids e matches, or with neg the ids it does not match.
func (v *setEval) eval(e *segExpr) (set idSet, neg bool, err error) {
	switch e.op {
	case "NOT":
		set, neg, err = v.eval(e.subs[0])
		return set, !neg, err
	case "AND":
		return v.and(e.subs, false)
	case "OR":
		// a OR b = NOT (NOT a AND NOT b)
		set, neg, err = v.and(e.subs, true)
		return set, !neg, err
	}
	set, err = v.leaf(e.leaf)
	return set, false, err
}

// and evaluates the conjunction of subs, each negated when negate is set:
// the intersection of the positive operands minus the union of the
// negative ones, or, with no positive operand, the complement of that
// union.
func (v *setEval) and(subs []*segExpr, negate bool) (idSet, bool, error) {
	var pos, negs idSet
	havePos := false
	for _, sub := range subs {
		set, neg, err := v.eval(sub)
		if err != nil {
			return nil, false, err
		}
		if neg != negate {
			negs = negs.or(set)
		} else if !havePos {
			pos, havePos = set, true
		} else {
			pos = pos.and(set)
		}
	}
	if !havePos {
		return negs, true, nil
	}
	return pos.andNot(negs), false, nil
}

// leaf runs one term's query and reads the ids SQLite concatenated.
func (v *setEval) leaf(l segLeaf) (idSet, error) {
	q := l.ids()
	return v.ids(segmentCond{sql: "SELECT group_concat(m.id) FROM (" + q.sql + ") AS m", args: q.args})
}

// ids runs q, which returns one text of comma-separated ids (or NULL).
func (v *setEval) ids(q segmentCond) (idSet, error) {
	var list *string
	if err := v.idb.NewRaw(q.sql, q.args...).Scan(v.ctx, &list); err != nil {
		return nil, fmt.Errorf("count segment: %w", err)
	}
	var set idSet
	if list == nil || *list == "" {
		return set, nil
	}
	var id int64
	digits := 0
	for i, s := 0, *list; i <= len(s); i++ {
		switch {
		case i < len(s) && '0' <= s[i] && s[i] <= '9' && digits < 18:
			id = id*10 + int64(s[i]-'0')
			digits++
		case (i == len(s) || s[i] == ',') && digits > 0:
			set.add(id)
			id, digits = 0, 0
		default:
			return nil, fmt.Errorf("count segment: unexpected %q in an id list", s[i:min(i+20, len(s))])
		}
	}
	return set, nil
}

// countSegment counts the supporters, not erased, that e matches.
func countSegment(ctx context.Context, idb bun.IDB, e *segExpr) (int, error) {
	v := &setEval{ctx: ctx, idb: idb}
	set, neg, err := v.eval(e)
	if err != nil {
		return 0, err
	}
	erased, err := v.ids(segmentCond{sql: "SELECT group_concat(id) FROM supporters WHERE erased_at IS NOT NULL"})
	if err != nil {
		return 0, err
	}
	if !neg {
		return set.andNot(erased).count(), nil
	}
	// Every supporter not in set, minus the erased ones not in set.
	var all int
	if err := idb.NewRaw("SELECT count(*) FROM supporters").Scan(ctx, &all); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	return all - set.count() - erased.andNot(set).count(), nil
}
