package newsletter

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"path/filepath"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"

	"github.com/assocrm/assocrm/crm"
)

// Recipient is what a template sees of the person it is rendered for:
// {{.FirstName}}, {{.LastName}}, {{.Email}}, {{.City}}, {{.Attr "key"}},
// {{.UnsubscribeURL}}, {{.PreferencesURL}}, {{.Association}} and
// {{.PostalAddress}}; a list's own emails also have {{.List}}, and its
// confirmation {{.ConfirmURL}} and {{.ConfirmLinks}}. A template using a
// field its kind lacks is refused when parsed. In the HTML part every
// value is escaped for where it stands.
type Recipient struct {
	FirstName      string
	LastName       string
	Email          string
	City           string
	Language       string
	Attributes     map[string]string
	UnsubscribeURL string
	PreferencesURL string
	// Association and PostalAddress are the sender's name and postal
	// address (see crm.Settings), shown in the footer when set.
	Association   string
	PostalAddress string
	// List is the title of the list, in the recipient's language, in a
	// list's own welcome and confirmation emails ("" in campaigns).
	List string
	// ConfirmURL is the link that confirms the subscription, in a list's
	// own confirmation email; ConfirmLinks has one per list when a
	// signup asked for several.
	ConfirmURL   string
	ConfirmLinks []ConfirmLink
	// Event is the event an invitation, a reminder, a cancellation or a
	// place freed is about: {{.Event.Title}}, {{.Event.When}},
	// {{.Event.Place}}, {{.Event.MapURL}} (see EventFields); empty in
	// other emails.
	Event EventFields
	// RSVPYes, RSVPNo and RSVPMaybe are the person's own signed links to
	// answer the event (see Newsletter.RSVPURL), and CalendarURL the
	// event's iCalendar file; "" in emails about no event.
	RSVPYes     string
	RSVPNo      string
	RSVPMaybe   string
	CalendarURL string
	// RSVP is the person's current answer, in the emails about an event
	// sent to those who answered (reminder, cancellation, change, place
	// freed): {{.RSVP.Answer}}, {{.RSVP.Guests}}, {{.RSVP.Waiting}}.
	RSVP RSVPFields
	// Change is what changed, in the email telling of a change of an
	// event's time or place: {{.Change.Time}}, {{.Change.Place}},
	// {{.Change.PreviousWhen}}, {{.Change.PreviousPlace}}.
	Change EventChangeFields
}

// RSVPFields is a person's answer to an event as a template sees it.
type RSVPFields struct {
	Answer  string // "yes", "maybe" or "no"
	Guests  int    // the people coming with them, with yes
	Waiting bool   // a yes on the waiting list
}

// EventChangeFields is what a change of an event's time or place
// changed, as a template sees it; {{.Event}} holds the time and place now.
type EventChangeFields struct {
	Time          bool   // the start or the end changed
	Place         bool   // the address, city or postcode changed
	PreviousWhen  string // the time before, told as {{.Event.When}} is
	PreviousPlace string // the place before ("" for none)
}

// Attr returns the value of a free attribute, or "".
func (r Recipient) Attr(key string) string { return r.Attributes[key] }

// Template is one language variant of a campaign: a Markdown body with an
// optional front matter holding subject: and preheader:, and Go template
// fields. It is parsed once and rendered per recipient.
type Template struct {
	Language  string
	Source    string
	subject   *texttemplate.Template
	preheader *texttemplate.Template
	html      *htmltemplate.Template
	text      *texttemplate.Template
	htmlSize  int      // length of the HTML layout's source, to size the output
	fields    fieldSet // what it may use (a subject set later too)
}

// Rendered is one message's content.
type Rendered struct {
	Subject   string
	Preheader string
	HTML      string
	Text      string
}

var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.Table),
	goldmark.WithRendererOptions(html.WithHardWraps()),
)

// actionRE finds Go template actions in the Markdown source.
var actionRE = regexp.MustCompile(`\{\{.*?\}\}`)

// TemplateLanguage returns the language of a template file named like
// lettre.fr.md: the two letters before its extension. A name without them
// (lettre.md) is in crm.DefaultLanguage.
func TemplateLanguage(filename string) string {
	parts := strings.Split(filepath.Base(filename), ".")
	if len(parts) >= 3 && len(parts[len(parts)-2]) == 2 {
		return parts[len(parts)-2]
	}
	return crm.DefaultLanguage
}

// ParseTemplate parses a template in the given language. A mistake is
// returned as a *TemplateError naming the line of the source and, for a
// field that does not exist, the fields that do.
func ParseTemplate(lang, source string) (*Template, error) {
	return parseTemplate(lang, source, footerFor(lang), campaignFields)
}

// parseCampaignTemplate parses a campaign's template; an invitation's may
// also use the event's fields and answer links.
func parseCampaignTemplate(lang, source string, invitation bool) (*Template, error) {
	if invitation {
		return parseTemplate(lang, source, footerFor(lang), invitationFields)
	}
	return ParseTemplate(lang, source)
}

// parseTemplate parses a template whose layout ends with the footer f and
// which may use the fields given.
func parseTemplate(lang, source string, f footer, fields fieldSet) (*Template, error) {
	body, meta, err := frontMatter(source)
	if err != nil {
		return nil, err
	}
	if err := checkSource(source, fields); err != nil {
		return nil, err
	}
	t := &Template{Language: lang, Source: source, fields: fields}
	if t.subject, err = texttemplate.New("subject").Funcs(templateFuncs).Option("missingkey=error").Parse(meta["subject"]); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if t.preheader, err = texttemplate.New("preheader").Funcs(templateFuncs).Option("missingkey=error").Parse(meta["preheader"]); err != nil {
		return nil, fmt.Errorf("preheader: %w", err)
	}
	// Template actions are swapped for inert words while Markdown is
	// rendered, then put back, so Markdown never mangles them and
	// html/template escapes what they print for where it lands.
	nonce := make([]byte, 6)
	rand.Read(nonce)
	prefix := "tplx" + hex.EncodeToString(nonce) + "n"
	var actions []string
	masked := actionRE.ReplaceAllStringFunc(body, func(a string) string {
		actions = append(actions, a)
		return fmt.Sprintf("%s%dz", prefix, len(actions)-1)
	})
	var out bytes.Buffer
	if err := markdown.Convert([]byte(masked), &out); err != nil {
		return nil, fmt.Errorf("markdown: %w", err)
	}
	unmask := func(s string) string {
		for i := len(actions) - 1; i >= 0; i-- {
			s = strings.ReplaceAll(s, fmt.Sprintf("%s%dz", prefix, i), actions[i])
		}
		return s
	}
	content := out.String()
	layout := unmask(layoutHTML(f, content))
	t.htmlSize = len(layout)
	if t.html, err = htmltemplate.New("html").Funcs(templateFuncs).Option("missingkey=error").Parse(layout); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	text := markdownText([]byte(masked))
	if t.text, err = texttemplate.New("text").Funcs(templateFuncs).Option("missingkey=error").Parse(unmask(text) + layoutText(f)); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return t, nil
}

// setSubject replaces the subject of the front matter with subject, a
// template like it (the campaign's own subject). A mistake is a
// *TemplateError.
func (t *Template) setSubject(subject string) error {
	if err := checkSource(subject, t.fields); err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			te.Line, te.Reason = 0, "subject: "+te.Reason
		}
		return err
	}
	st, err := texttemplate.New("subject").Funcs(templateFuncs).Option("missingkey=error").Parse(subject)
	if err != nil {
		return &TemplateError{Reason: "subject: " + err.Error()}
	}
	t.subject = st
	return nil
}

// Subject returns the subject of the front matter, unrendered.
func (t *Template) Subject() string { return t.subject.Root.String() }

// Render renders the template for one recipient.
func (t *Template) Render(r Recipient) (Rendered, error) {
	var out Rendered
	var b strings.Builder
	for _, p := range []struct {
		tpl  *texttemplate.Template
		dst  *string
		size int
	}{
		{t.subject, &out.Subject, 128},
		{t.preheader, &out.Preheader, 128},
		{t.text, &out.Text, len(t.Source) + 512},
	} {
		b = strings.Builder{}
		b.Grow(p.size)
		if err := p.tpl.Execute(&b, r); err != nil {
			return Rendered{}, err
		}
		*p.dst = b.String()
	}
	out.Subject = strings.Join(strings.Fields(out.Subject), " ")
	b = strings.Builder{}
	b.Grow(t.htmlSize + 1024)
	if err := t.html.Execute(&b, htmlData{FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, City: r.City,
		Language: r.Language, Attributes: r.Attributes, UnsubscribeURL: r.UnsubscribeURL, PreferencesURL: r.PreferencesURL,
		Association: r.Association, AddressLines: lines(r.PostalAddress), List: r.List, ConfirmURL: r.ConfirmURL,
		ConfirmLinks: r.ConfirmLinks, Event: r.Event, RSVPYes: r.RSVPYes, RSVPNo: r.RSVPNo, RSVPMaybe: r.RSVPMaybe,
		CalendarURL: r.CalendarURL, RSVP: r.RSVP, Change: r.Change, Preheader: out.Preheader, Lang: t.Language,
		Subject: out.Subject}); err != nil {
		return Rendered{}, err
	}
	out.HTML = b.String()
	return out, nil
}

// htmlData is what the HTML layout sees: the recipient's fields, plus the
// preheader and subject already rendered. Its fields are Recipient's
// copied, not embedded, because templates find a promoted field far more
// slowly.
type htmlData struct {
	FirstName      string
	LastName       string
	Email          string
	City           string
	Language       string
	Attributes     map[string]string
	UnsubscribeURL string
	PreferencesURL string
	Association    string
	AddressLines   []string
	List           string
	ConfirmURL     string
	ConfirmLinks   []ConfirmLink
	Event          EventFields
	RSVPYes        string
	RSVPNo         string
	RSVPMaybe      string
	CalendarURL    string
	RSVP           RSVPFields
	Change         EventChangeFields
	Preheader      string
	Subject        string
	Lang           string
}

// lines splits a multi-line text into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Attr returns the value of a free attribute, or "".
func (d htmlData) Attr(key string) string { return d.Attributes[key] }

// frontMatter splits an optional block of "key: value" lines between
// "---" lines from the body.
func frontMatter(src string) (body string, meta map[string]string, err error) {
	meta = map[string]string{}
	src = strings.TrimPrefix(strings.ReplaceAll(src, "\r\n", "\n"), "\ufeff")
	if !strings.HasPrefix(src, "---\n") {
		return src, meta, nil
	}
	rest := src[4:]
	end := strings.Index(rest, "\n---")
	if end < 0 {
		return "", nil, &TemplateError{Line: 1, Reason: "front matter: no closing --- line"}
	}
	for i, line := range strings.Split(rest[:end], "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || (k != "subject" && k != "preheader") {
			return "", nil, &TemplateError{Line: i + 2, Reason: fmt.Sprintf("front matter: want subject: or preheader:, found %q", line)}
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		meta[k] = v
	}
	body = rest[end+4:]
	body = strings.TrimPrefix(strings.TrimLeft(body, "-"), "\n")
	return body, meta, nil
}

// footer is the end of an email's layout: why the person gets it, and
// the links to leave (none in a confirmation email: nobody is on the list
// yet).
type footer struct{ why, unsubscribe, preferences string }

// footers of list emails, in the supporter's language.
var footers = map[string]footer{
	"fr": {"Vous recevez ce message parce que vous vous êtes inscrit·e à notre liste.", "Se désinscrire", "Gérer mes préférences"},
	"en": {"You receive this message because you subscribed to our list.", "Unsubscribe", "Manage my preferences"},
}

// confirmFooters end confirmation emails.
var confirmFooters = map[string]footer{
	"fr": {why: "Vous recevez ce message parce que cette adresse a été inscrite sur notre site. Sans confirmation, vous ne recevrez rien."},
	"en": {why: "You receive this message because this address was signed up on our site. Without a confirmation, you will receive nothing."},
}

func footerFor(lang string) footer {
	if f, ok := footers[lang]; ok {
		return f
	}
	return footers["fr"]
}

func confirmFooterFor(lang string) footer {
	if f, ok := confirmFooters[lang]; ok {
		return f
	}
	return confirmFooters["fr"]
}

// layoutHTML wraps the content in a simple responsive email layout with a
// hidden preheader and a visible unsubscribe link.
func layoutHTML(f footer, content string) string {
	links := ""
	if f.unsubscribe != "" {
		links = `<p><a href="{{.UnsubscribeURL}}">` + f.unsubscribe + `</a> · <a href="{{.PreferencesURL}}">` + f.preferences + `</a></p>
`
	}
	return `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
<style>
body { margin: 0; padding: 0; background: #f4f4f1; }
.wrap { max-width: 600px; margin: 0 auto; padding: 24px 16px; font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #1d1d1b; }
.card { background: #ffffff; border-radius: 6px; padding: 24px; }
a { color: #9c2a00; }
img { max-width: 100%; height: auto; }
.footer { font-size: 13px; color: #5f5f5a; padding: 16px 8px; text-align: center; }
@media (max-width: 480px) { .card { padding: 16px; } }
</style>
</head>
<body>
<div style="display:none;max-height:0;overflow:hidden;">{{.Preheader}}</div>
<div class="wrap">
<div class="card">
` + content + `</div>
<div class="footer">
{{if or .Association .AddressLines}}<p>{{.Association}}{{range .AddressLines}}<br>{{.}}{{end}}</p>{{end}}
<p>` + f.why + `</p>
` + links + `</div>
</div>
</body>
</html>
`
}

func layoutText(f footer) string {
	out := "\n\n-- \n{{with .Association}}{{.}}\n{{end}}{{with .PostalAddress}}{{.}}\n{{end}}" + f.why + "\n"
	if f.unsubscribe != "" {
		out += f.unsubscribe + ": {{.UnsubscribeURL}}\n" + f.preferences + ": {{.PreferencesURL}}\n"
	}
	return out
}
