package crm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/crm/segment"
)

// SegmentFields documents the fields a segment expression may use.
var SegmentFields = []string{"tag", "interest", "list", "city", "postcode", "lang", "country", "source", "email",
	"attr.KEY", "created", "donation.total", "donation.count", "donation.last", "donation.first", "segment"}

// SegmentError is a segment expression that does not parse or names an
// unknown field or a bad value. It wraps ErrInvalid.
type SegmentError struct {
	Expr string
	Pos  int // byte offset in Expr, 0-based
	Msg  string
}

func (e *SegmentError) Error() string {
	return fmt.Sprintf("segment %q: at position %d: %s", e.Expr, e.Pos+1, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *SegmentError) Unwrap() error { return ErrInvalid }

// ParseSegment checks an expression without running it: syntax, fields,
// values and the saved segments it names. It returns a *SegmentError.
func (db *DB) ParseSegment(ctx context.Context, expr string) error {
	_, _, err := compileSegment(ctx, db.bun, expr, nil)
	return err
}

// segmentCond is a compiled condition: SQL with ? placeholders written by
// this file only, and the values that fill them.
type segmentCond struct {
	sql  string
	args []any
}

// compileSegment parses expr and compiles it into a condition on the
// supporters table aliased s. Values are only ever arguments; the SQL text
// comes from the constants below. seen guards against saved segments that
// name each other.
func compileSegment(ctx context.Context, idb bun.IDB, expr string, seen []string) (segmentCond, segment.Node, error) {
	n, err := segment.Parse(expr)
	if err != nil {
		var se *segment.SyntaxError
		if errors.As(err, &se) {
			return segmentCond{}, nil, &SegmentError{Expr: expr, Pos: se.Pos, Msg: fmt.Sprintf("expected %s, found %s", se.Expected, se.Found)}
		}
		return segmentCond{}, nil, err
	}
	c := &segmentCompiler{ctx: ctx, idb: idb, expr: expr, seen: seen, pg: idb.Dialect().Name() == dialect.PG}
	cond, err := c.node(n)
	return cond, n, err
}

type segmentCompiler struct {
	ctx  context.Context
	idb  bun.IDB
	expr string
	seen []string
	pg   bool
}

// member is the condition that supporter s has a row in a related table
// matching cond. The two engines plan different forms best (measured over
// 1,000,000 supporters): SQLite an IN list, PostgreSQL a correlated
// EXISTS; both mean the same.
func (c *segmentCompiler) member(table, alias, cond string, args []any) segmentCond {
	if c.pg {
		return segmentCond{sql: "EXISTS (SELECT 1 FROM " + table + " " + alias + " WHERE " + alias + ".supporter_id = s.id AND " + cond + ")", args: args}
	}
	return segmentCond{sql: "s.id IN (SELECT " + alias + ".supporter_id FROM " + table + " " + alias + " WHERE " + cond + ")", args: args}
}

func (c *segmentCompiler) errAt(pos int, format string, args ...any) error {
	return &SegmentError{Expr: c.expr, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *segmentCompiler) node(n segment.Node) (segmentCond, error) {
	switch n := n.(type) {
	case *segment.And:
		return c.join(n.Operands, " AND ")
	case *segment.Or:
		return c.join(n.Operands, " OR ")
	case *segment.Not:
		inner, err := c.node(n.Operand)
		if err != nil {
			return segmentCond{}, err
		}
		return segmentCond{sql: "NOT (" + inner.sql + ")", args: inner.args}, nil
	case *segment.Term:
		return c.term(n)
	}
	return segmentCond{}, fmt.Errorf("segment: unknown node %T", n)
}

func (c *segmentCompiler) join(ops []segment.Node, sep string) (segmentCond, error) {
	parts := make([]string, len(ops))
	var args []any
	for i, op := range ops {
		cond, err := c.node(op)
		if err != nil {
			return segmentCond{}, err
		}
		parts[i] = "(" + cond.sql + ")"
		args = append(args, cond.args...)
	}
	return segmentCond{sql: strings.Join(parts, sep), args: args}, nil
}

// textOps are the operators a text field takes.
func (c *segmentCompiler) requireEquality(t *segment.Term) error {
	if t.Op != ":" && t.Op != "=" {
		return c.errAt(t.At, "%s takes : or =, not %s", t.Field, t.Op)
	}
	return nil
}

// match compares column with the value: equality, or a LIKE pattern when
// the unquoted value holds '*' (postcode:62*, email:*@example.org).
func match(column string, t *segment.Term, value string) segmentCond {
	if !t.Quoted && strings.Contains(value, "*") {
		r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
		pattern := strings.ReplaceAll(r.Replace(value), "*", "%")
		return segmentCond{sql: column + ` LIKE ? ESCAPE '\'`, args: []any{pattern}}
	}
	return segmentCond{sql: column + " = ?", args: []any{value}}
}

func (c *segmentCompiler) term(t *segment.Term) (segmentCond, error) {
	field := t.Field
	if key, ok := strings.CutPrefix(field, "attr."); ok {
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		m := match("a.value_fold", t, fold(CleanText(t.Value)))
		return c.member("supporter_attributes", "a", "a.key_fold = ? AND "+m.sql, append([]any{fold(key)}, m.args...)), nil
	}
	switch field {
	case "tag", "tags":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		m := match("t.tag_key", t, fold(CleanText(t.Value)))
		return c.member("supporter_tags", "t", m.sql, m.args), nil
	case "interest", "interests":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		name, err := slug("interest", t.Value)
		if err != nil && !strings.Contains(t.Value, "*") {
			return segmentCond{}, c.errAt(t.At, "interest %q: %s", t.Value, reason(err))
		}
		if name == "" {
			name = fold(t.Value)
		}
		m := match("i.interest", t, name)
		return c.member("supporter_interests", "i", m.sql, m.args), nil
	case "list":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		name, err := slug("list", t.Value)
		if err != nil {
			return segmentCond{}, c.errAt(t.At, "list %q: %s", t.Value, reason(err))
		}
		return c.member("subscriptions", "sub", "sub.list_id IN (SELECT l.id FROM lists l WHERE l.name = ?) AND sub.status = ?",
			[]any{name, StatusSubscribed}), nil
	case "city":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		return match("s.city_key", t, fold(CleanText(t.Value))), nil
	case "postcode", "zip":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		return match("s.postcode", t, strings.ToUpper(CleanText(t.Value))), nil
	case "source":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		return match("s.source_key", t, fold(CleanText(t.Value))), nil
	case "email":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		return match("s.email", t, strings.ToLower(CleanText(t.Value))), nil
	case "lang", "language":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		l, err := parseLanguageName(t.Value)
		if err != nil {
			return segmentCond{}, c.errAt(t.At, "lang %q: not a language code such as fr or en", t.Value)
		}
		return segmentCond{sql: "s.language = ?", args: []any{l}}, nil
	case "country":
		if err := c.requireEquality(t); err != nil {
			return segmentCond{}, err
		}
		return segmentCond{sql: "s.country = ?", args: []any{NormalizeCountry(t.Value)}}, nil
	case "created":
		return c.dateCompare(t, "s.created_at")
	case "donation.last", "donation.first":
		agg := "MAX"
		if field == "donation.first" {
			agg = "MIN"
		}
		cond, err := c.dateCompare(t, agg+"(d.received_at)")
		if err != nil {
			return segmentCond{}, err
		}
		return segmentCond{sql: "s.id IN (SELECT d.supporter_id FROM donations d WHERE d.supporter_id IS NOT NULL " +
			"GROUP BY d.supporter_id HAVING " + cond.sql + ")", args: cond.args}, nil
	case "donation.total", "donation.count":
		return c.donationNumber(t)
	case "segment":
		return c.saved(t)
	}
	return segmentCond{}, c.errAt(t.At, "unknown field %q (fields: %s)", t.Field, strings.Join(SegmentFields, ", "))
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
	day, err := time.ParseInLocation(time.DateOnly, t.Value, time.UTC)
	if err != nil {
		return segmentCond{}, c.errAt(t.At, "%s %q: want a date such as 2026-01-31", t.Field, t.Value)
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
// donation.total<50 includes them.
func (c *segmentCompiler) donationNumber(t *segment.Term) (segmentCond, error) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(t.Value, ",", "."), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1e15 {
		return segmentCond{}, c.errAt(t.At, "%s %q: want a positive number", t.Field, t.Value)
	}
	agg, n := "COUNT(*)", int64(v)
	if t.Field == "donation.total" {
		agg, n = "SUM(d.amount)", int64(math.Round(v*100))
	} else if v != math.Trunc(v) {
		return segmentCond{}, c.errAt(t.At, "donation.count %q: want a whole number", t.Value)
	}
	op := sqlOp(t.Op)
	if zeroMatches(op, n) {
		return segmentCond{sql: "COALESCE((SELECT " + agg + " FROM donations d WHERE d.supporter_id = s.id), 0) " + op + " ?",
			args: []any{n}}, nil
	}
	return segmentCond{sql: "s.id IN (SELECT d.supporter_id FROM donations d WHERE d.supporter_id IS NOT NULL " +
		"GROUP BY d.supporter_id HAVING " + agg + " " + op + " ?)", args: []any{n}}, nil
}

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

func (c *segmentCompiler) saved(t *segment.Term) (segmentCond, error) {
	if err := c.requireEquality(t); err != nil {
		return segmentCond{}, err
	}
	name, err := slug("segment", t.Value)
	if err != nil {
		return segmentCond{}, c.errAt(t.At, "segment %q: %s", t.Value, reason(err))
	}
	for _, s := range c.seen {
		if s == name {
			return segmentCond{}, c.errAt(t.At, "segment %q refers to itself", name)
		}
	}
	var exprs []string
	if err := c.idb.NewSelect().Table("segments").Column("expression").Where("name = ?", name).Scan(c.ctx, &exprs); err != nil {
		return segmentCond{}, err
	}
	if len(exprs) == 0 {
		return segmentCond{}, c.errAt(t.At, "no saved segment %q (see crm segments list)", name)
	}
	cond, _, err := compileSegment(c.ctx, c.idb, exprs[0], append(c.seen, name))
	if err != nil {
		return segmentCond{}, c.errAt(t.At, "saved segment %q: %v", name, err)
	}
	return cond, nil
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
	n, err := slug("name", name)
	if err != nil {
		return nil, err
	}
	var seg *Segment
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, _, err := compileSegment(ctx, tx, expr, []string{n}); err != nil {
			return err
		}
		now := db.Now()
		seg = &Segment{Name: n, Expression: strings.TrimSpace(expr), CreatedAt: now, UpdatedAt: now}
		_, err := tx.NewInsert().Model(seg).On("CONFLICT (name) DO UPDATE").
			Set("expression = EXCLUDED.expression").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
		return err
	})
	return seg, err
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
	n, err := slug("name", name)
	if err != nil {
		return err
	}
	res, err := db.bun.NewDelete().Table("segments").Where("name = ?", n).Exec(ctx)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fmt.Errorf("segment %q: %w", n, ErrNotFound)
	}
	return nil
}
