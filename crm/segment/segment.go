// Package segment parses the small query language that picks supporters:
//
//	interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse
//	donation.last<2025-11-01 AND donation.total>=100
//
// An expression is terms joined by AND, OR and NOT (any case), with
// parentheses; two terms side by side are joined by AND. A term is a field,
// an operator (":" "=" "<" "<=" ">" ">=") and a value, quoted with double
// quotes when it holds spaces or parentheses. The parser only builds the
// syntax tree; what each field means is decided by the package that
// compiles the tree (crm), so a value never becomes SQL text.
package segment

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Node is a node of the syntax tree: *And, *Or, *Not or *Term.
type Node interface {
	// Pos is the byte offset in the expression where the node starts.
	Pos() int
	// String writes the node back in the segment language, with
	// parentheses where they are needed; parsing it gives the same tree.
	String() string
}

// And matches what all of its operands match.
type And struct {
	Operands []Node
	At       int
}

// Or matches what any of its operands matches.
type Or struct {
	Operands []Node
	At       int
}

// Not matches what its operand does not.
type Not struct {
	Operand Node
	At      int
}

// Term is one condition, such as tag:presse or donation.total>=50.
type Term struct {
	Field  string // as written, lower-cased: "tag", "attr.pointure", "donation.total"
	Op     string // ":", "=", "<", "<=", ">" or ">="
	Value  string // unquoted
	Quoted bool   // the value was in double quotes: a '*' in it is literal
	At     int
}

// Pos returns At, where the node starts (see Node).
func (n *And) Pos() int { return n.At }

// Pos returns At, where the node starts (see Node).
func (n *Or) Pos() int { return n.At }

// Pos returns At, where the node starts (see Node).
func (n *Not) Pos() int { return n.At }

// Pos returns At, where the node starts (see Node).
func (n *Term) Pos() int { return n.At }

// String writes the node in the segment language (see Node).
func (n *And) String() string { return join(n.Operands, " AND ") }

// String writes the node in the segment language (see Node).
func (n *Or) String() string { return join(n.Operands, " OR ") }

// String writes the node in the segment language (see Node).
func (n *Not) String() string { return "NOT " + paren(n.Operand) }

// String writes the node in the segment language (see Node), quoting a
// value that needs it.
func (n *Term) String() string {
	v := n.Value
	if n.Quoted || v == "" || strings.ContainsAny(v, " \t()\"") {
		v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return n.Field + n.Op + v
}

func join(ns []Node, sep string) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = paren(n)
	}
	return strings.Join(parts, sep)
}

func paren(n Node) string {
	switch n.(type) {
	case *And, *Or:
		return "(" + n.String() + ")"
	}
	return n.String()
}

// SyntaxError is a parse failure at a position of the expression.
type SyntaxError struct {
	Pos      int    // byte offset, 0-based
	Expected string // what the parser wanted, e.g. `a term, "(" or NOT`
	Found    string // what it found, e.g. `")"` or "the end"
}

// Error gives the position, counted from 1, what was expected and what
// was found.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("segment: at position %d: expected %s, found %s", e.Pos+1, e.Expected, e.Found)
}

// MaxLength is the longest expression Parse accepts, in bytes.
const MaxLength = 4096

// maxDepth bounds nesting so a hostile expression cannot exhaust the stack.
const maxDepth = 64

// Parse parses an expression. It returns a *SyntaxError naming the
// position and what was expected.
func Parse(expr string) (Node, error) {
	if len(expr) > MaxLength {
		return nil, &SyntaxError{Pos: MaxLength, Expected: fmt.Sprintf("at most %d bytes", MaxLength), Found: "more"}
	}
	if !utf8.ValidString(expr) {
		return nil, &SyntaxError{Pos: 0, Expected: "UTF-8 text", Found: "invalid bytes"}
	}
	p := &parser{lex: lexer{src: expr}}
	p.next()
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errExpected(`AND, OR or the end`)
	}
	return n, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokTerm
	tokBad
)

type token struct {
	kind tokKind
	pos  int
	text string // the raw text, for messages
	term *Term
	err  *SyntaxError
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) next() token {
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		l.pos += size
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}
	}
	switch l.src[l.pos] {
	case '(':
		l.pos++
		return token{kind: tokLParen, pos: start, text: "("}
	case ')':
		l.pos++
		return token{kind: tokRParen, pos: start, text: ")"}
	}
	// A word: a keyword, or a field followed by an operator and a value.
	end := l.pos
	for end < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[end:])
		if !isFieldRune(r) {
			break
		}
		end += size
	}
	word := l.src[l.pos:end]
	if end == len(l.src) || !strings.ContainsRune(":=<>", rune(l.src[end])) {
		switch strings.ToUpper(word) {
		case "AND":
			l.pos = end
			return token{kind: tokAnd, pos: start, text: word}
		case "OR":
			l.pos = end
			return token{kind: tokOr, pos: start, text: word}
		case "NOT":
			l.pos = end
			return token{kind: tokNot, pos: start, text: word}
		}
		if word == "" {
			r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
			return token{kind: tokBad, pos: start, err: &SyntaxError{Pos: start, Expected: "a field name",
				Found: fmt.Sprintf("%q", string(r))}}
		}
		return token{kind: tokBad, pos: start, err: &SyntaxError{Pos: end,
			Expected: fmt.Sprintf("an operator (: = < <= > >=) after %q", word), Found: l.describe(end)}}
	}
	if word == "" {
		return token{kind: tokBad, pos: start, err: &SyntaxError{Pos: start, Expected: "a field name before the operator",
			Found: l.describe(start)}}
	}
	op := string(l.src[end])
	end++
	if (op == "<" || op == ">") && end < len(l.src) && l.src[end] == '=' {
		op += "="
		end++
	}
	t := &Term{Field: strings.ToLower(word), Op: op, At: start}
	if end < len(l.src) && l.src[end] == '"' {
		var b strings.Builder
		i := end + 1
		for ; i < len(l.src) && l.src[i] != '"'; i++ {
			if l.src[i] == '\\' && i+1 < len(l.src) {
				i++
			}
			b.WriteByte(l.src[i])
		}
		if i >= len(l.src) {
			return token{kind: tokBad, pos: start, err: &SyntaxError{Pos: end, Expected: `a closing "`, Found: "the end"}}
		}
		t.Value, t.Quoted = b.String(), true
		l.pos = i + 1
	} else {
		i := end
		for i < len(l.src) {
			r, size := utf8.DecodeRuneInString(l.src[i:])
			if unicode.IsSpace(r) || r == '(' || r == ')' || r == '"' {
				break
			}
			i += size
		}
		if i == end {
			return token{kind: tokBad, pos: start, err: &SyntaxError{Pos: end,
				Expected: fmt.Sprintf("a value after %s%s", word, op), Found: l.describe(end)}}
		}
		t.Value = l.src[end:i]
		l.pos = i
	}
	return token{kind: tokTerm, pos: start, text: l.src[start:l.pos], term: t}
}

func (l *lexer) describe(pos int) string {
	if pos >= len(l.src) {
		return "the end"
	}
	r, _ := utf8.DecodeRuneInString(l.src[pos:])
	return fmt.Sprintf("%q", string(r))
}

// isFieldRune reports whether r may be part of a field name: letters
// (accented ones too: imports make attribute keys from French headers
// such as "Disponibilités"), digits, '_', '.' and '-'.
func isFieldRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-'
}

type parser struct {
	lex lexer
	tok token
}

func (p *parser) next() { p.tok = p.lex.next() }

func (p *parser) errExpected(what string) error {
	if p.tok.err != nil {
		return p.tok.err
	}
	found := "the end"
	if p.tok.kind != tokEOF {
		found = fmt.Sprintf("%q", p.tok.text)
	}
	return &SyntaxError{Pos: p.tok.pos, Expected: what, Found: found}
}

func (p *parser) or(depth int) (Node, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	ops := []Node{first}
	for p.tok.kind == tokOr {
		p.next()
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, n)
	}
	if len(ops) == 1 {
		return first, nil
	}
	return &Or{Operands: ops, At: first.Pos()}, nil
}

func (p *parser) and(depth int) (Node, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	ops := []Node{first}
	for {
		switch p.tok.kind {
		case tokAnd:
			p.next()
		case tokTerm, tokNot, tokLParen, tokBad:
			// Two terms side by side: an implicit AND.
		default:
			if len(ops) == 1 {
				return first, nil
			}
			return &And{Operands: ops, At: first.Pos()}, nil
		}
		n, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		ops = append(ops, n)
	}
}

func (p *parser) unary(depth int) (Node, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{Pos: p.tok.pos, Expected: fmt.Sprintf("at most %d levels of nesting", maxDepth), Found: "more"}
	}
	switch p.tok.kind {
	case tokNot:
		at := p.tok.pos
		p.next()
		n, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{Operand: n, At: at}, nil
	case tokLParen:
		p.next()
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errExpected(`")"`)
		}
		p.next()
		return n, nil
	case tokTerm:
		t := p.tok.term
		p.next()
		return t, nil
	}
	return nil, p.errExpected(`a term (such as tag:presse), "(" or NOT`)
}

// EachTerm calls fn for every term of the tree rooted at n, left to
// right. fn may change a term in place (its value, to redact it).
func EachTerm(n Node, fn func(*Term)) {
	switch n := n.(type) {
	case *And:
		for _, o := range n.Operands {
			EachTerm(o, fn)
		}
	case *Or:
		for _, o := range n.Operands {
			EachTerm(o, fn)
		}
	case *Not:
		EachTerm(n.Operand, fn)
	case *Term:
		fn(n)
	}
}
