package newsletter

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/assocrm/assocrm/crm"
)

// A TemplateError is a mistake in a template, found when the template is
// parsed: the line of its source (front matter included, counted from 1)
// and what is wrong, in plain words. The campaign functions set Language
// to the variant at fault. It wraps crm.ErrInvalid.
type TemplateError struct {
	Language string
	Line     int // 0 when the mistake has no one line
	Reason   string
}

// Error names the language variant and the line, then the mistake.
func (e *TemplateError) Error() string {
	var b strings.Builder
	b.WriteString("template")
	if e.Language != "" {
		b.WriteString(" " + e.Language)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	return b.String() + ": " + e.Reason
}

// Unwrap returns crm.ErrInvalid.
func (e *TemplateError) Unwrap() error { return crm.ErrInvalid }

// fieldSet is what one kind of template may use: the fields its
// recipient has a value for, named as errors list them.
type fieldSet struct {
	known map[string]bool
	shown string
}

// newFieldSet makes a set of the fields listed in shown (`Name, Attr
// "key", ...`) and the hidden ones, accepted but not advertised.
func newFieldSet(shown string, hidden ...string) fieldSet {
	fs := fieldSet{known: map[string]bool{}, shown: shown}
	for _, f := range strings.Split(shown, ", ") {
		name, _, _ := strings.Cut(f, " ")
		fs.known[name] = true
	}
	for _, f := range hidden {
		fs.known[f] = true
	}
	return fs
}

// with returns the set with more fields, shown after fs's.
func (fs fieldSet) with(shown string, hidden ...string) fieldSet {
	return newFieldSet(fs.shown+", "+shown, append(hidden, keys(fs.known)...)...)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var (
	// campaignFields are a campaign's: the person and the sender.
	campaignFields = newFieldSet(`FirstName, LastName, Email, City, Language, Attr "key", UnsubscribeURL, PreferencesURL, `+
		`Association, PostalAddress`, "Attributes")
	// welcomeFields are a list's welcome email's: a campaign's and the
	// list's title.
	welcomeFields = campaignFields.with("List")
	// confirmFields are a list's confirmation email's: a welcome's and
	// the links ({{range .ConfirmLinks}}{{.Title}} {{.URL}}{{end}}).
	confirmFields = welcomeFields.with("ConfirmURL, ConfirmLinks", "Title", "URL")
	// invitationFields are an invitation's, and any email about an
	// event's: a campaign's, the event and the person's answer links.
	invitationFields = campaignFields.with(eventFields+", RSVPYes, RSVPNo, RSVPMaybe, CalendarURL", "Event")
	// eventNoticeFields are those of the emails to people who answered
	// an event (reminder, cancellation, change, place freed): an
	// invitation's, their answer and what changed.
	eventNoticeFields = invitationFields.with("RSVP.Answer, RSVP.Guests, RSVP.Waiting, Change.Time, Change.Place, "+
		"Change.PreviousWhen, Change.PreviousPlace", "RSVP", "Change")
)

// eventFields are the fields of {{.Event}}, as errors list them.
const eventFields = "Event.Title, Event.When, Event.Place, Event.MapURL, Event.Description, Event.Name"

var eventFieldNames = map[string]bool{"Title": true, "When": true, "Place": true, "MapURL": true, "Description": true,
	"Name": true}

// eventFieldsUsed returns a field a template's source uses that only an
// email about an event has, or "".
func eventFieldsUsed(src string) string {
	fields, _ := fieldsUsed(src)
	for _, f := range fields {
		if invitationFields.known[f] && !campaignFields.known[f] {
			return f
		}
	}
	return ""
}

// likelyFields are the names people write for the fields, in French and
// English, folded.
var likelyFields = map[string]string{
	"prenom": "FirstName", "firstname": "FirstName", "first_name": "FirstName", "name": "FirstName",
	"nom": "LastName", "lastname": "LastName", "last_name": "LastName", "surname": "LastName",
	"ville": "City", "city": "City", "commune": "City",
	"email": "Email", "mail": "Email", "courriel": "Email", "adresse": "Email",
	"langue": "Language", "language": "Language", "lang": "Language",
	"unsubscribe": "UnsubscribeURL", "desinscription": "UnsubscribeURL", "unsubscribeurl": "UnsubscribeURL",
	"preferences": "PreferencesURL", "preferencesurl": "PreferencesURL",
}

// templateFuncs are the functions every part of a template may call.
var templateFuncs = map[string]any{
	// default returns v, or def when v is empty or blank:
	// {{.FirstName | default "ami·e"}}.
	"default": func(def, v string) string {
		if strings.TrimSpace(v) == "" {
			return def
		}
		return v
	},
}

// errLineRE finds the line in an error of text/template:
// "template: NAME:LINE: ..." or "template: NAME:LINE:COL: ...".
var errLineRE = regexp.MustCompile(`^template: [^:]*:(\d+):(?:\d+:)? ?(.*)$`)

// checkSource parses the whole source, front matter included, as one Go
// template, so that its errors name the lines of the file, and checks
// that it uses only the fields of its kind.
func checkSource(src string, fields fieldSet) error {
	src = strings.TrimPrefix(strings.ReplaceAll(src, "\r\n", "\n"), "\ufeff")
	t, err := texttemplate.New("source").Funcs(templateFuncs).Parse(src)
	if err != nil {
		line, reason := 0, err.Error()
		if m := errLineRE.FindStringSubmatch(reason); m != nil {
			fmt.Sscan(m[1], &line)
			reason = m[2]
		}
		return &TemplateError{Line: line, Reason: plainParseError(reason, fields)}
	}
	var bad error
	lineOf := func(pos parse.Pos) int { return strings.Count(src[:min(int(pos), len(src))], "\n") + 1 }
	checkField := func(pos parse.Pos, name string) {
		if bad != nil || fields.known[name] {
			return
		}
		reason := fmt.Sprintf("unknown field %q; fields are %s", name, fields.shown)
		if f, ok := likelyFields[strings.ToLower(crm.CleanText(foldAccents(name)))]; ok {
			reason = fmt.Sprintf("unknown field %q (did you mean %s?); fields are %s", name, f, fields.shown)
		}
		bad = &TemplateError{Line: lineOf(pos), Reason: reason}
	}
	eachNode(t, func(n parse.Node) bool {
		if f, ok := n.(*parse.FieldNode); ok {
			checkField(f.Position(), f.Ident[0])
			if bad == nil && f.Ident[0] == "Event" && len(f.Ident) > 1 && !eventFieldNames[f.Ident[1]] {
				bad = &TemplateError{Line: lineOf(f.Position()), Reason: fmt.Sprintf("unknown field %q of .Event; they are %s",
					f.Ident[1], eventFields)}
			}
		}
		return bad == nil
	})
	return bad
}

// fieldsUsed returns the fields a template's source uses (FirstName...)
// and the keys of its {{.Attr "key"}}; nothing for a source that does not
// parse.
func fieldsUsed(src string) (fields, attrs []string) {
	t, err := texttemplate.New("source").Funcs(templateFuncs).Parse(src)
	if err != nil {
		return nil, nil
	}
	eachNode(t, func(n parse.Node) bool {
		switch n := n.(type) {
		case *parse.CommandNode:
			if len(n.Args) == 2 {
				f, isField := n.Args[0].(*parse.FieldNode)
				key, isString := n.Args[1].(*parse.StringNode)
				if isField && isString && len(f.Ident) == 1 && f.Ident[0] == "Attr" {
					attrs = append(attrs, key.Text)
					return false
				}
			}
		case *parse.FieldNode:
			fields = append(fields, n.Ident[0])
		}
		return true
	})
	return fields, attrs
}

// eachNode calls visit for the nodes of t's trees, parents first; when
// visit returns false, the node's children are skipped.
func eachNode(t *texttemplate.Template, visit func(parse.Node) bool) {
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if n == nil || reflect.ValueOf(n).IsNil() || !visit(n) {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, tpl := range t.Templates() {
		if tpl.Tree != nil {
			walk(tpl.Tree.Root)
		}
	}
}

// plainParseError says a parse error of text/template in plainer words
// where it can.
func plainParseError(reason string, fields fieldSet) string {
	switch {
	case strings.Contains(reason, "unclosed action"):
		return "a {{ is not closed by }}"
	case strings.Contains(reason, `unexpected "}" in operand`), strings.Contains(reason, "bad character U+007D"):
		return "a field is written {{.FirstName}}: two braces on each side"
	case strings.Contains(reason, "unexpected EOF"):
		return "an {{if}}, {{range}} or {{with}} is not closed by {{end}}"
	case strings.Contains(reason, "function") && strings.Contains(reason, "not defined"):
		return reason + ` (fields start with a dot: {{.FirstName}}; fields are ` + fields.shown + `)`
	}
	return reason
}

// foldAccents removes the accents of the Latin letters French uses.
func foldAccents(s string) string {
	return strings.NewReplacer("é", "e", "è", "e", "ê", "e", "à", "a", "ç", "c", "ô", "o", "î", "i", "É", "E").Replace(s)
}
