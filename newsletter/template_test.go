package newsletter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

const letterFR = `---
subject: Bonjour {{.FirstName}}, rassemblement demain
preheader: "Rendez-vous à 8 h devant le squat"
---
# Expulsion prévue demain à {{.City}}

Bonjour **{{.FirstName}}**,

Nous avons besoin de monde *demain matin*. Ta pointure : {{.Attr "pointure"}}.

- Rendez-vous à 8 h
- Apporte un thermos

[Le communiqué](https://asso.example.org/communique?a=1&b=2)
`

func TestTemplateRender(t *testing.T) {
	tpl, err := newsletter.ParseTemplate("fr", letterFR)
	if err != nil {
		t.Fatal(err)
	}
	r := newsletter.Recipient{
		FirstName: `<script>alert("x")</script>`, City: "Calais", Email: "a@example.org",
		Attributes:     map[string]string{"pointure": "42"},
		UnsubscribeURL: "https://asso.example.org/unsubscribe?token=abc",
		PreferencesURL: "https://asso.example.org/preferences?token=def",
	}
	out, err := tpl.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != `Bonjour <script>alert("x")</script>, rassemblement demain` {
		t.Errorf("subject = %q", out.Subject)
	}
	if out.Preheader != "Rendez-vous à 8 h devant le squat" {
		t.Errorf("preheader = %q", out.Preheader)
	}
	for _, want := range []string{
		`<h1>Expulsion prévue demain à Calais</h1>`,
		`<strong>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</strong>`,
		`Ta pointure : 42.`,
		`<li>Rendez-vous à 8 h</li>`,
		`href="https://asso.example.org/communique?a=1&amp;b=2"`,
		`<a href="https://asso.example.org/unsubscribe?token=abc">Se désinscrire</a>`,
		`<html lang="fr">`,
	} {
		if !strings.Contains(out.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, out.HTML)
		}
	}
	if strings.Contains(out.HTML, "<script>") {
		t.Error("supporter data was not escaped in HTML")
	}
	for _, want := range []string{
		"Expulsion prévue demain à Calais", `Bonjour <script>alert("x")</script>,`, "Rendez-vous à 8 h",
		"Le communiqué (https://asso.example.org/communique?a=1&b=2)",
		"Se désinscrire: https://asso.example.org/unsubscribe?token=abc",
	} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, out.Text)
		}
	}
	if strings.Contains(out.Text, "<h1>") || strings.Contains(out.Text, "**") {
		t.Errorf("text has markup:\n%s", out.Text)
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"---\nsubject: x\n", "template line 1: front matter: no closing ---"},
		{"---\ntitle: x\n---\nbody", `template line 2: front matter: want subject: or preheader:, found "title: x"`},
		{"---\nsubject: Hi\n---\n\nBonjour {{.Prenom}}", `template line 5: unknown field "Prenom" (did you mean FirstName?); ` +
			`fields are FirstName, LastName, Email, City, Language, Attr "key", UnsubscribeURL, PreferencesURL`},
		{"Bonjour\n{{if .Ville}}x{{end}}", `template line 2: unknown field "Ville" (did you mean City?)`},
		{"Bonjour {{.Pointure}}", `template line 1: unknown field "Pointure"; fields are`},
		{"Bonjour {{.FirstName", "template line 1: a {{ is not closed by }}"},
		{"a\nb\nBonjour {{.FirstName}}}", ""}, // a stray brace is text
		{"Bonjour\n{{.FirstName}, merci", "template line 2: a field is written {{.FirstName}}: two braces on each side"},
		{"Bonjour\n{{if .FirstName}}toi\n", "is not closed by {{end}}"},
		{"Bonjour {{FirstName}}", `template line 1: function "FirstName" not defined (fields start with a dot`},
		{"---\nsubject: {{if}}\n---\nx", "template line 2: missing value for if"},
	}
	for _, tt := range tests {
		_, err := newsletter.ParseTemplate("fr", tt.src)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.src, err)
			}
			continue
		}
		var te *newsletter.TemplateError
		if !errors.As(err, &te) || !errors.Is(err, crm.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.src, err, tt.want)
		}
	}
}

// An empty field falls back to a default with {{or}} or default.
func TestTemplateDefault(t *testing.T) {
	tpl, err := newsletter.ParseTemplate("fr", "---\nsubject: Salut {{.FirstName | default \"ami·e\"}}\n---\n"+
		"Bonjour {{or .FirstName \"ami·e\"}}, {{.City | default \"chez toi\"}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		r               newsletter.Recipient
		subject, inText string
	}{
		{newsletter.Recipient{}, "Salut ami·e", "Bonjour ami·e, chez toi"},
		{newsletter.Recipient{FirstName: "Lina", City: " "}, "Salut Lina", "Bonjour Lina, chez toi"},
		{newsletter.Recipient{FirstName: "Lina", City: "Liège"}, "Salut Lina", "Bonjour Lina, Liège"},
	} {
		out, err := tpl.Render(tt.r)
		if err != nil || out.Subject != tt.subject || !strings.Contains(out.Text, tt.inText) || !strings.Contains(out.HTML, tt.inText) {
			t.Errorf("%+v: %q %q %v", tt.r, out.Subject, out.Text, err)
		}
	}
}

func TestTemplateEnglishFooter(t *testing.T) {
	tpl, err := newsletter.ParseTemplate("en", "Hello {{.FirstName}}")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(newsletter.Recipient{FirstName: "Jo", UnsubscribeURL: "https://x.example/u", PreferencesURL: "https://x.example/p"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.HTML, ">Unsubscribe</a>") || !strings.Contains(out.Text, "Unsubscribe: https://x.example/u") {
		t.Errorf("english footer missing:\n%s\n%s", out.HTML, out.Text)
	}
}

// BenchmarkTemplateRender renders one message (subject, preheader, HTML
// and text parts) of a typical letter.
func BenchmarkTemplateRender(b *testing.B) {
	tpl, err := newsletter.ParseTemplate("fr", letterFR)
	if err != nil {
		b.Fatal(err)
	}
	r := newsletter.Recipient{FirstName: "Camille", LastName: "Martin", City: "Calais", Email: "camille@example.org",
		Attributes:     map[string]string{"pointure": "42"},
		UnsubscribeURL: "https://asso.example.org/unsubscribe?token=AQIBAgAAj1c0Cw2w0bZ6vlxqg7ZPRQ",
		PreferencesURL: "https://asso.example.org/preferences?token=AQMBAAChVb5V1Ky2Qbkiv9ZxT1dT"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(r); err != nil {
			b.Fatal(err)
		}
	}
}

// The language of a template file, as crm campaign create --template
// reads it when no LANG= is given.
func TestTemplateLanguage(t *testing.T) {
	for name, want := range map[string]string{
		"lettre.fr.md":             "fr",
		"letter.en.md":             "en",
		"/tmp/x.y/mail.de.txt":     "de",
		"lettre.md":                "fr", // crm.DefaultLanguage
		"lettre":                   "fr",
		"mars.2026.md":             "fr", // not two letters
		"archive.fr.old/lettre.md": "fr",
		"campagne.es.md":           "es",
	} {
		if got := newsletter.TemplateLanguage(name); got != want {
			t.Errorf("TemplateLanguage(%q) = %q, want %q", name, got, want)
		}
	}
}

// The plain-text part keeps what a reader of plain text needs: headings
// marked, numbered lists numbered, links with their address.
func TestTemplateTextPart(t *testing.T) {
	tpl, err := newsletter.ParseTemplate("fr", "---\nsubject: x\n---\n# Rendez-vous à {{.City}}\n\n## Où\n\n"+
		"3. premier\n4. second\n   suite\n\n- a\n  - sous\n- b\n\n> citation\n\n"+
		"Voir [le site](https://asso.org/x), **gras**, <https://asso.org/y>.\n")
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(newsletter.Recipient{City: "Liège"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Rendez-vous à Liège\n\n## Où\n\n3. premier\n4. second\n   suite\n\n- a\n  - sous\n- b\n\n> citation\n\n" +
		"Voir le site (https://asso.org/x), gras, https://asso.org/y.\n\n-- \n"
	if !strings.HasPrefix(out.Text, want) {
		t.Errorf("text part:\n%s\nwant it to begin with:\n%s", out.Text, want)
	}
}
