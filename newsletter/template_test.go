package newsletter_test

import (
	"strings"
	"testing"

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
		"Le communiqué <https://asso.example.org/communique?a=1&b=2>",
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
		{"---\nsubject: x\n", "no closing ---"},
		{"---\ntitle: x\n---\nbody", `front matter line 2: want subject: or preheader:`},
		{"Bonjour {{.Prenom}}", ""}, // found when rendered
		{"Bonjour {{.FirstName", "template"},
		{"---\nsubject: {{if}}\n---\nx", "subject"},
	}
	for _, tt := range tests {
		tpl, err := newsletter.ParseTemplate("fr", tt.src)
		if tt.want == "" {
			if err == nil {
				_, err = tpl.Render(newsletter.Recipient{})
			}
			if err == nil || !strings.Contains(err.Error(), "Prenom") {
				t.Errorf("%q: %v, want an error naming the field", tt.src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.src, err, tt.want)
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
