package crm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/crm/segment"
)

// segmentFields are the fields a segment expression may use.
var segmentFields = []string{"tag", "interest", "list", "city", "postcode", "lang", "country", "source", "email",
	"attr.KEY", "created", "donation.total", "donation.count", "donation.last", "donation.first",
	"event", "event.no", "event.maybe", "attended", "attended.count", "segment"}

// SegmentFields returns the fields a segment expression may use, in a
// slice of the caller's ("attr.KEY" stands for any attr.NAME).
func SegmentFields() []string { return slices.Clone(segmentFields) }

// SegmentError is a segment expression that does not parse or names an
// unknown field or a bad value. It wraps ErrInvalid.
type SegmentError struct {
	Expr string
	Pos  int // byte offset in Expr, 0-based
	Msg  string
	// Missing is the saved segment the expression names that does not
	// exist, if that is the fault.
	Missing string
}

// Error says where in the expression, counted from 1, and what is wrong.
func (e *SegmentError) Error() string {
	return fmt.Sprintf("segment %q: at position %d: %s", e.Expr, e.Pos+1, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *SegmentError) Unwrap() error { return ErrInvalid }

// ValidateSegment checks an expression without running it: syntax,
// fields, values, the saved segments it names and the size of its
// expansion (MaxSegmentTerms, MaxSegmentDepth). It returns a
// *SegmentError for an expression that would fail to select.
func (db *DB) ValidateSegment(ctx context.Context, expr string) error {
	_, _, err := compileSegment(ctx, db.bun, expr, nil)
	return err
}

// ValidateSegment is DB.ValidateSegment in the transaction.
func (tx *Tx) ValidateSegment(ctx context.Context, expr string) error {
	_, _, err := compileSegment(ctx, tx.tx, expr, nil)
	return err
}

// segmentCond is a compiled condition: SQL with ? placeholders written by
// this file only, and the values that fill them.
type segmentCond struct {
	sql  string
	args []any
	// scan says the condition, on the supporters row, is served by no
	// index (a LIKE pattern, an unindexed column): counting reads it in
	// one scan with the others of its kind (see setEval.scanPlain).
	scan bool
}

// segExpr is a compiled segment: AND, OR and NOT over leaves, each leaf a
// condition with bound values. It renders to one SQL condition on the
// supporters table aliased s (sql), or is evaluated leaf by leaf into sets
// of ids (see segment_set.go).
type segExpr struct {
	op   string // "AND", "OR", "NOT", or "" for a leaf
	subs []*segExpr
	leaf segLeaf
	// terms and depth measure the tree e stands for with every shared
	// sub-expression (a saved segment named more than once) repeated, as
	// the SQL form writes it out; they stop growing past the bounds.
	terms, depth int
}

// measure sets e's terms and depth from its operands'.
func (e *segExpr) measure() *segExpr {
	e.terms, e.depth = 0, 0
	if e.op == "" {
		e.terms, e.depth = 1, 1
		return e
	}
	for _, sub := range e.subs {
		e.terms = min(e.terms+sub.terms, MaxSegmentTerms+1)
		e.depth = max(e.depth, sub.depth)
	}
	e.depth = min(e.depth+1, MaxSegmentDepth+1)
	return e
}

// segLeaf is one term. With no table, where is a condition on the
// supporters row s. With a table, the term holds for the supporters named
// by table.supporter_id in the rows matching where (and, with having, in
// the groups of one supporter's rows matching having).
type segLeaf struct {
	table, alias string
	where        segmentCond
	having       segmentCond
}

// Bounds on a segment's whole expansion: the tree it makes once every
// saved segment it names (and those they name) is replaced by its
// expression. Without them, segments that name the one before twice
// (s2 = "segment:s1 OR segment:s1", s3 = ... ) double at each step: s11
// compiled to 2,048 copies of s1, took minutes and gigabytes to save, and
// became an SQL condition no engine runs in reasonable time. Each saved
// segment is now read and compiled once per compilation (the copies share
// it, and counting evaluates it once), and the expansion is refused, at
// save time and at use, beyond these sizes: far above what a person
// writes (a hand-written segment has a handful of terms), low enough that
// counting any segment that passes takes well under a second over 100,000
// supporters on both engines (BenchmarkSegmentLimits).
const (
	// MaxSegmentTerms bounds the terms (tag:x, city:y...) of a segment's
	// expansion, counted with repetitions.
	MaxSegmentTerms = 32
	// MaxSegmentDepth bounds the nesting of a segment's expansion: AND,
	// OR and NOT inside one another, through the saved segments named.
	MaxSegmentDepth = 32
)

// compileSegment parses expr and compiles it. Values are only ever
// arguments; the SQL text comes from the constants below. seen guards
// against saved segments that name each other.
func compileSegment(ctx context.Context, idb bun.IDB, expr string, seen []string) (*segExpr, segment.Node, error) {
	e, n, err := compileExpansion(ctx, idb, expr, seen, map[string]*segExpr{})
	if err != nil {
		return nil, nil, err
	}
	if e.terms > MaxSegmentTerms || e.depth > MaxSegmentDepth {
		what := "this expression"
		if len(seen) > 0 {
			what = fmt.Sprintf("segment %q", seen[0])
		}
		return nil, nil, &SegmentError{Expr: expr, Msg: expansionTooLarge(what, e)}
	}
	return e, n, nil
}

// expansionTooLarge says which bound the expansion of what passes.
func expansionTooLarge(what string, e *segExpr) string {
	if e.terms > MaxSegmentTerms {
		return fmt.Sprintf("%s expands to more than %d terms once the saved segments it names are replaced by theirs "+
			"(the limit is %d): name each saved segment once, or write the terms out", what, MaxSegmentTerms, MaxSegmentTerms)
	}
	return fmt.Sprintf("%s nests more than %d levels deep once the saved segments it names are replaced by theirs "+
		"(the limit is %d)", what, MaxSegmentDepth, MaxSegmentDepth)
}

func compileExpansion(ctx context.Context, idb bun.IDB, expr string, seen []string, saved map[string]*segExpr) (*segExpr, segment.Node, error) {
	n, err := segment.Parse(expr)
	if err != nil {
		var se *segment.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, &SegmentError{Expr: expr, Pos: se.Pos, Msg: fmt.Sprintf("expected %s, found %s", se.Expected, se.Found)}
		}
		return nil, nil, err
	}
	c := &segmentCompiler{ctx: ctx, idb: idb, expr: expr, seen: seen, pg: idb.Dialect().Name() == dialect.PG, named: saved}
	e, err := c.node(n)
	return e, n, err
}

type segmentCompiler struct {
	ctx   context.Context
	idb   bun.IDB
	expr  string
	seen  []string
	pg    bool
	named map[string]*segExpr // saved segments compiled, by name, shared by the whole compilation
}

// sql renders e as one condition on the supporters table aliased s. A leaf
// on another table becomes a membership test, in the form each engine
// plans best (measured over 1,000,000 supporters): SQLite an IN list,
// PostgreSQL a correlated EXISTS; both mean the same.
func (e *segExpr) sql(pg bool) segmentCond {
	switch e.op {
	case "NOT":
		inner := e.subs[0].sql(pg)
		return segmentCond{sql: "NOT (" + inner.sql + ")", args: inner.args}
	case "AND", "OR":
		parts := make([]string, len(e.subs))
		var args []any
		for i, sub := range e.subs {
			c := sub.sql(pg)
			parts[i] = "(" + c.sql + ")"
			args = append(args, c.args...)
		}
		return segmentCond{sql: strings.Join(parts, " "+e.op+" "), args: args}
	}
	l := e.leaf
	switch {
	case l.table == "":
		return l.where
	case pg && l.having.sql == "":
		return segmentCond{sql: "EXISTS (SELECT 1 FROM " + l.table + " " + l.alias + " WHERE " + l.alias + ".supporter_id = s.id AND " +
			l.where.sql + ")", args: l.where.args}
	}
	q := l.ids()
	return segmentCond{sql: "s.id IN (" + q.sql + ")", args: q.args}
}

// ids is the query for the ids, in a column named id, of the supporters
// the leaf matches.
func (l segLeaf) ids() segmentCond {
	if l.table == "" {
		return segmentCond{sql: "SELECT s.id AS id FROM supporters s WHERE " + l.where.sql, args: l.where.args}
	}
	q := segmentCond{sql: "SELECT " + l.alias + ".supporter_id AS id FROM " + l.table + " " + l.alias + " WHERE " + l.where.sql,
		args: l.where.args}
	if l.having.sql != "" {
		q.sql += " GROUP BY " + l.alias + ".supporter_id HAVING " + l.having.sql
		q.args = append(append([]any(nil), q.args...), l.having.args...)
	}
	return q
}

func leaf(c segmentCond) *segExpr { return &segExpr{leaf: segLeaf{where: c}} }

func member(table, alias string, where segmentCond) *segExpr {
	return &segExpr{leaf: segLeaf{table: table, alias: alias, where: where}}
}

func (c *segmentCompiler) errAt(pos int, format string, args ...any) error {
	return &SegmentError{Expr: c.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *segmentCompiler) node(n segment.Node) (*segExpr, error) {
	switch n := n.(type) {
	case *segment.And:
		return c.join("AND", n.Operands)
	case *segment.Or:
		return c.join("OR", n.Operands)
	case *segment.Not:
		inner, err := c.node(n.Operand)
		if err != nil {
			return nil, err
		}
		return (&segExpr{op: "NOT", subs: []*segExpr{inner}}).measure(), nil
	case *segment.Term:
		e, err := c.term(n)
		if err != nil {
			return nil, err
		}
		if e.op == "" {
			e.measure()
		}
		return e, nil
	}
	return nil, fmt.Errorf("segment: unknown node %T", n)
}

func (c *segmentCompiler) join(op string, ops []segment.Node) (*segExpr, error) {
	e := &segExpr{op: op, subs: make([]*segExpr, len(ops))}
	for i, o := range ops {
		sub, err := c.node(o)
		if err != nil {
			return nil, err
		}
		e.subs[i] = sub
	}
	return e.measure(), nil
}

// requireEquality refuses comparisons on a text field.
func (c *segmentCompiler) requireEquality(t *segment.Term) error {
	if t.Op != ":" && t.Op != "=" {
		return c.errAt(t.At, "%s takes : or =, not %s", t.Field, t.Op)
	}
	return nil
}

// match compares column with the value: equality, or a LIKE pattern when
// the unquoted value holds '*' (postcode:62*, email:*@example.org). The
// column holds values normalised as value is, so on SQLite a plain prefix
// (62*) becomes a range an index can serve. PostgreSQL keeps the LIKE:
// with a range it planned the three-term benchmark segment through both
// indexes and took 608 ms instead of 348 ms (1,000,000 supporters).
func (c *segmentCompiler) match(column string, t *segment.Term, value string) segmentCond {
	if t.Quoted || !strings.Contains(value, "*") {
		return segmentCond{sql: column + " = ?", args: []any{value}}
	}
	prefix, ok := strings.CutSuffix(value, "*")
	if ok && prefix != "" && !strings.Contains(prefix, "*") && !c.pg {
		if end, ok := prefixEnd(prefix); ok {
			return segmentCond{sql: column + " >= ? AND " + column + " < ?", args: []any{prefix, end}}
		}
	}
	r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
	pattern := strings.ReplaceAll(r.Replace(value), "*", "%")
	return segmentCond{sql: column + ` LIKE ? ESCAPE '\'`, args: []any{pattern}, scan: true}
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, in byte order, for an ASCII prefix.
func prefixEnd(prefix string) (string, bool) {
	last := prefix[len(prefix)-1]
	for i := 0; i < len(prefix); i++ {
		if prefix[i] >= 0x7e || prefix[i] < 0x20 {
			return "", false
		}
	}
	return prefix[:len(prefix)-1] + string(last+1), true
}

func (c *segmentCompiler) term(t *segment.Term) (*segExpr, error) {
	field := t.Field
	if key, ok := strings.CutPrefix(field, "attr."); ok {
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		m := c.match("a.value_fold", t, fold(CleanText(t.Value)))
		return member("supporter_attributes", "a", segmentCond{sql: "a.key_fold = ? AND " + m.sql,
			args: append([]any{fold(key)}, m.args...)}), nil
	}
	switch field {
	case "tag", "tags":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		return member("supporter_tags", "t", c.match("t.tag_key", t, fold(CleanText(t.Value)))), nil
	case "interest", "interests":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		name, err := slug("interest", t.Value)
		if err != nil && !strings.Contains(t.Value, "*") {
			return nil, c.errAt(t.At, "interest %q: %s", t.Value, reason(err))
		}
		if name == "" {
			name = fold(t.Value)
		} else if err := c.exists(t, "interest", "interests", name); err != nil {
			return nil, err
		}
		return member("supporter_interests", "i", c.match("i.interest", t, name)), nil
	case "list":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		name, err := slug("list", t.Value)
		if err != nil {
			return nil, c.errAt(t.At, "list %q: %s", t.Value, reason(err))
		}
		if err := c.exists(t, "list", "lists", name); err != nil {
			return nil, err
		}
		return member("subscriptions", "sub", segmentCond{sql: "sub.list_id IN (SELECT l.id FROM lists l WHERE l.name = ?) AND sub.status = ?",
			args: []any{name, StatusSubscribed}}), nil
	case "city":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		return leaf(c.match("s.city_key", t, fold(CleanText(t.Value)))), nil
	case "postcode", "zip":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		return leaf(c.match("s.postcode", t, normalizePostcode(t.Value))), nil
	case "source":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		m := c.match("s.source_key", t, fold(CleanText(t.Value)))
		m.scan = true
		return leaf(m), nil
	case "email":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		return leaf(c.match("s.email", t, strings.ToLower(CleanText(t.Value)))), nil
	case "lang", "language":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		l, err := parseLanguageName(t.Value)
		if err != nil {
			return nil, c.errAt(t.At, "lang %q: not a language code such as fr or en", t.Value)
		}
		return leaf(segmentCond{sql: "s.language = ?", args: []any{l}, scan: true}), nil
	case "country":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		return leaf(segmentCond{sql: "s.country = ?", args: []any{NormalizeCountry(t.Value)}, scan: true}), nil
	case "created":
		cond, err := c.dateCompare(t, "s.created_at")
		if err != nil {
			return nil, err
		}
		return leaf(cond), nil
	case "donation.last", "donation.first":
		agg := "MAX"
		if field == "donation.first" {
			agg = "MIN"
		}
		cond, err := c.dateCompare(t, agg+"(d.received_at)")
		if err != nil {
			return nil, err
		}
		return &segExpr{leaf: segLeaf{table: "donations", alias: "d", where: segmentCond{sql: "d.supporter_id IS NOT NULL"},
			having: cond}}, nil
	case "donation.total", "donation.count":
		return c.donationNumber(t)
	case "event", "event.no", "event.maybe", "attended":
		if err := c.requireEquality(t); err != nil {
			return nil, err
		}
		name, err := slug("event", t.Value)
		if err != nil {
			return nil, c.errAt(t.At, "%s %q: %s", field, t.Value, reason(err))
		}
		if err := c.exists(t, "event", "events", name); err != nil {
			return nil, err
		}
		const ofEvent = " IN (SELECT e.id FROM events e WHERE e.name = ?)"
		switch field {
		case "event":
			// Answered yes and holds a place: not on the waiting list.
			return member("event_rsvps", "r", segmentCond{sql: "r.event_id" + ofEvent + " AND r.answer = ? AND NOT r.waiting",
				args: []any{name, AnswerYes}}), nil
		case "event.no", "event.maybe":
			answer := AnswerNo
			if field == "event.maybe" {
				answer = AnswerMaybe
			}
			return member("event_rsvps", "r", segmentCond{sql: "r.event_id" + ofEvent + " AND r.answer = ?",
				args: []any{name, answer}}), nil
		}
		return member("event_attendance", "att", segmentCond{sql: "att.event_id" + ofEvent + " AND att.status = ?",
			args: []any{name, Attended}}), nil
	case "attended.count":
		return c.attendedCount(t)
	case "segment":
		return c.saved(t)
	}
	return nil, c.errAt(t.At, "unknown field %q (fields: %s)", t.Field, strings.Join(segmentFields, ", "))
}

// SegmentWarnings checks a valid expression for what is allowed but
// likely a mistake, and says it in plain words: a tag or an attribute
// that no supporter has ("tag:presse" when the tag is "press"). It returns the error of
// ValidateSegment for an expression that is not valid.
func (db *DB) SegmentWarnings(ctx context.Context, expr string) ([]string, error) {
	if err := db.ValidateSegment(ctx, expr); err != nil {
		return nil, err
	}
	node, err := segment.Parse(expr)
	if err != nil {
		return nil, err
	}
	var tags, attrs []string
	segment.EachTerm(node, func(n *segment.Term) {
		if (n.Field == "tag" || n.Field == "tags") && !strings.Contains(n.Value, "*") {
			tags = append(tags, n.Value)
		}
		if key, ok := strings.CutPrefix(n.Field, "attr."); ok {
			attrs = append(attrs, key)
		}
	})
	var warnings []string
	for _, key := range attrs {
		used, err := db.bun.NewSelect().Table("supporter_attributes").Where("key_fold = ?", fold(key)).Exists(ctx)
		if err != nil {
			return nil, err
		}
		if !used {
			warnings = append(warnings, fmt.Sprintf("no supporter has the attribute %q", key))
		}
	}
	for _, tag := range tags {
		used, err := db.bun.NewSelect().Table("supporter_tags").Where("tag_key = ?", fold(CleanText(tag))).Exists(ctx)
		if err != nil {
			return nil, err
		}
		if !used {
			warnings = append(warnings, fmt.Sprintf("no supporter has the tag %q", tag))
		}
	}
	return warnings, nil
}

// exists refuses a term naming a list or an interest the database does
// not have (a typo would match nobody without a word), and names those it
// has.
func (c *segmentCompiler) exists(t *segment.Term, what, table, name string) error {
	var names []string
	q := c.idb.NewSelect().Table(table).Column("name").Order("name")
	if table == "lists" {
		q.Where("deleted_at IS NULL") // see DeleteList
	}
	if err := q.Scan(c.ctx, &names); err != nil {
		return err
	}
	if slices.Contains(names, name) {
		return nil
	}
	have := "there are none yet"
	if len(names) > 0 {
		have = "they are " + strings.Join(names, ", ")
	}
	return &SegmentError{Expr: c.expr, Pos: t.At, Msg: fmt.Sprintf("no %s %q (%s)", what, name, have)}
}

// sqlOp maps a segment operator to SQL.
func sqlOp(op string) string {
	if op == ":" {
		return "="
	}
	return op
}

// dateCompare compares a time column with a day, in UTC: created>=D is
// from the start of D, created<=D to its end, created:D within it.
func (c *segmentCompiler) dateCompare(t *segment.Term, column string) (segmentCond, error) {
	day, err := ParseDate(t.Value, time.UTC)
	if err != nil || day != day.Truncate(24*time.Hour) {
		return segmentCond{}, c.errAt(t.At, "%s %q: want a date such as 2026-01-31 or 31/01/2026", t.Field, t.Value)
	}
	next := day.AddDate(0, 0, 1)
	switch t.Op {
	case ":", "=":
		return segmentCond{sql: column + " >= ? AND " + column + " < ?", args: []any{day, next}}, nil
	case "<", ">=":
		return segmentCond{sql: column + " " + t.Op + " ?", args: []any{day}}, nil
	case "<=":
		return segmentCond{sql: column + " < ?", args: []any{next}}, nil
	case ">":
		return segmentCond{sql: column + " >= ?", args: []any{next}}, nil
	}
	return segmentCond{}, c.errAt(t.At, "unknown operator %s", t.Op)
}

// donationNumber compiles donation.total (in major units, summed over all
// of a supporter's gifts in minor units, taking two decimals) and
// donation.count. Supporters without gifts count as 0, so
// donation.total<50 includes them: it is compiled as the supporters who
// are not among the donors with a total of 50 or more.
func (c *segmentCompiler) donationNumber(t *segment.Term) (*segExpr, error) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(t.Value, ",", "."), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1e15 {
		return nil, c.errAt(t.At, "%s %q: want a positive number", t.Field, t.Value)
	}
	agg, n := "COUNT(*)", int64(v)
	if t.Field == "donation.total" {
		agg, n = "SUM(d.amount)", int64(math.Round(v*100))
	} else if v != math.Trunc(v) {
		return nil, c.errAt(t.At, "donation.count %q: want a whole number", t.Value)
	}
	op := sqlOp(t.Op)
	donors := func(op string) *segExpr {
		return &segExpr{leaf: segLeaf{table: "donations", alias: "d", where: segmentCond{sql: "d.supporter_id IS NOT NULL"},
			having: segmentCond{sql: agg + " " + op + " ?", args: []any{n}}}}
	}
	if zeroMatches(op, n) {
		return (&segExpr{op: "NOT", subs: []*segExpr{donors(negateOp[op]).measure()}}).measure(), nil
	}
	return donors(op), nil
}

// attendedCount compiles attended.count: how many events the supporter
// attended. Supporters who attended none count as 0, as for
// donation.count.
func (c *segmentCompiler) attendedCount(t *segment.Term) (*segExpr, error) {
	n, err := strconv.ParseInt(t.Value, 10, 64)
	if err != nil || n < 0 {
		return nil, c.errAt(t.At, "attended.count %q: want a whole number", t.Value)
	}
	op := sqlOp(t.Op)
	attendees := func(op string) *segExpr {
		return &segExpr{leaf: segLeaf{table: "event_attendance", alias: "att",
			where:  segmentCond{sql: "att.status = ?", args: []any{Attended}},
			having: segmentCond{sql: "COUNT(*) " + op + " ?", args: []any{n}}}}
	}
	if zeroMatches(op, n) {
		return (&segExpr{op: "NOT", subs: []*segExpr{attendees(negateOp[op]).measure()}}).measure(), nil
	}
	return attendees(op), nil
}

// negateOp is the operator true exactly where op is false.
var negateOp = map[string]string{"=": "<>", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}

func zeroMatches(op string, n int64) bool {
	switch op {
	case "=":
		return n == 0
	case "<":
		return 0 < n
	case "<=":
		return 0 <= n
	case ">":
		return false
	case ">=":
		return n <= 0
	}
	return false
}

func (c *segmentCompiler) saved(t *segment.Term) (*segExpr, error) {
	if err := c.requireEquality(t); err != nil {
		return nil, err
	}
	name, err := slug("segment", t.Value)
	if err != nil {
		return nil, c.errAt(t.At, "segment %q: %s", t.Value, reason(err))
	}
	for _, s := range c.seen {
		if s == name {
			return nil, c.errAt(t.At, "segment %q refers to itself", name)
		}
	}
	if e, ok := c.named[name]; ok {
		return e, nil
	}
	var exprs []string
	if err := c.idb.NewSelect().Table("segments").Column("expression").Where("name = ?", name).Scan(c.ctx, &exprs); err != nil {
		return nil, err
	}
	if len(exprs) == 0 {
		return nil, &SegmentError{Expr: c.expr, Pos: t.At, Msg: fmt.Sprintf("no saved segment %q", name), Missing: name}
	}
	e, _, err := compileExpansion(c.ctx, c.idb, exprs[0], append(slices.Clip(c.seen), name), c.named)
	if err != nil {
		return nil, c.errAt(t.At, "saved segment %q: %v", name, err)
	}
	if e.terms > MaxSegmentTerms || e.depth > MaxSegmentDepth {
		// Saved before the bounds existed: name it, so it can be fixed.
		return nil, c.errAt(t.At, "%s", expansionTooLarge(fmt.Sprintf("saved segment %q", name), e))
	}
	c.named[name] = e
	return e, nil
}

// Segment is a saved expression.
type Segment struct {
	bun.BaseModel `bun:"table:segments" json:"-"`

	Name       string    `bun:"name,pk" json:"name"`
	Expression string    `bun:"expression" json:"expression"`
	CreatedAt  time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at" json:"updated_at"`
}

// SaveSegment saves expr under name, replacing an earlier one, after
// checking it compiles. It returns a *SegmentError or a *ValidationError.
func (db *DB) SaveSegment(ctx context.Context, name, expr string) (*Segment, error) {
	return runTx(ctx, db, func(tx *Tx) (*Segment, error) { return tx.SaveSegment(ctx, name, expr) })
}

// SaveSegment is DB.SaveSegment in the transaction.
func (tx *Tx) SaveSegment(ctx context.Context, name, expr string) (*Segment, error) {
	n, err := slug("name", name)
	if err != nil {
		return nil, err
	}
	if _, _, err := compileSegment(ctx, tx.tx, expr, []string{n}); err != nil {
		return nil, err
	}
	now := tx.now()
	seg := &Segment{Name: n, Expression: strings.TrimSpace(expr), CreatedAt: now, UpdatedAt: now}
	if _, err := tx.tx.NewInsert().Model(seg).On("CONFLICT (name) DO UPDATE").
		Set("expression = EXCLUDED.expression").Set("updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
		return nil, fmt.Errorf("save segment: %w", err)
	}
	return seg, nil
}

// Segments returns the saved segments, ordered by name.
func (db *DB) Segments(ctx context.Context) ([]Segment, error) {
	var out []Segment
	if err := db.bun.NewSelect().Model(&out).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return out, nil
}

// DeleteSegment removes a saved segment, or returns an error wrapping
// ErrNotFound.
func (db *DB) DeleteSegment(ctx context.Context, name string) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.DeleteSegment(ctx, name) })
}

// DeleteSegment is DB.DeleteSegment in the transaction.
func (tx *Tx) DeleteSegment(ctx context.Context, name string) error {
	n, err := slug("name", name)
	if err != nil {
		return err
	}
	res, err := tx.tx.NewDelete().Table("segments").Where("name = ?", n).Exec(ctx)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fmt.Errorf("segment %q: %w", n, ErrNotFound)
	}
	return nil
}
