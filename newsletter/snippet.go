package newsletter

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"

	"github.com/assocrm/assocrm/crm"
)

// SnippetOptions says what a signup snippet offers.
type SnippetOptions struct {
	// Lists are the public lists it offers, in this order; none means
	// every public list.
	Lists []string
	// Language is the snippet's language, fr or en ("" for fr).
	Language string
}

// WriteSignupSnippet writes an HTML form that an association pastes into
// its own site (a WordPress block, a page of its own): the public lists
// with their consent texts, the volunteer interests, email, first name and
// language, posting to the public URL's /subscribe. It is self-contained:
// style attributes only, no script, no style sheet, no <style> element
// that would restyle the page around it, and ids that start with "crm-".
// After the POST the person sees the hosted thank-you page, or the
// settings' signup-redirect page when one is set (read at each signup, so
// setting it later needs no new snippet).
//
// It returns an error wrapping ErrNoPublicURL when n has no public URL
// (the form must post where crm serve is reached), and a
// *crm.ValidationError for a list that is unknown or private (field
// "lists"), a language other than fr and en (field "language"), or no
// public list at all.
func (n *Newsletter) WriteSignupSnippet(ctx context.Context, w io.Writer, o SnippetOptions) error {
	if !n.publicURLSet {
		return fmt.Errorf("signup snippet: %w", ErrNoPublicURL)
	}
	lang := strings.ToLower(strings.TrimSpace(o.Language))
	if lang == "" {
		lang = "fr"
	}
	if lang != "fr" && lang != "en" {
		return &crm.ValidationError{Field: "language", Value: o.Language, Reason: "want fr or en"}
	}
	public, err := n.publicLists(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(public))
	for i, l := range public {
		names[i] = l.Name
	}
	if len(public) == 0 {
		return &crm.ValidationError{Field: "lists", Reason: "no public list to offer: a signup form offers public lists only"}
	}
	v, err := n.signupFormView(ctx, lang, nil, nil)
	if err != nil {
		return err
	}
	if asked := listNames(o.Lists); len(asked) > 0 {
		var chosen []listChoice
		for _, name := range asked {
			i := slices.IndexFunc(v.Lists, func(c listChoice) bool { return c.Name == name })
			if i < 0 {
				reason := "no such list; the public lists are " + strings.Join(names, ", ")
				if l, err := n.db.GetList(ctx, name); err == nil && !l.Public {
					reason = "private: a private list is offered on no public form (the public lists are " + strings.Join(names, ", ") + ")"
				}
				return &crm.ValidationError{Field: "lists", Value: name, Reason: reason}
			}
			chosen = append(chosen, v.Lists[i])
		}
		v.Lists = chosen
	}
	v.Action = n.PublicURL() + "/subscribe"
	v.Snippet = true
	return snippetTemplate.Execute(w, v)
}

// The snippet's styles are attributes: a page's own style sheet cannot be
// relied on, and a <style> element would restyle the page around it. The
// browser's own focus ring is kept (no outline is removed).
var snippetTemplate = template.Must(template.New("snippet").Parse(`<form action="{{.Action}}" method="post" accept-charset="UTF-8" lang="{{.T.Lang}}" style="box-sizing:border-box;max-width:34rem;margin:1rem 0;padding:1rem 1.25rem;border:1px solid #c9c9c4;border-radius:6px;background:#ffffff;color:#1d1d1b;font-size:1rem;line-height:1.5;text-align:left">
<p style="margin:0 0 .75rem;font-size:1.25rem;font-weight:700">{{.FT.Title}}</p>
<p style="margin:0 0 1rem">{{.FT.Intro}}</p>
<label for="crm-email" style="display:block;font-weight:600;margin:0 0 .2rem">{{.FT.Email}}</label>
<input id="crm-email" name="email" type="email" required autocomplete="email" style="box-sizing:border-box;width:100%;font:inherit;padding:.5rem .6rem;margin:0 0 1rem;border:1px solid #767672;border-radius:4px;background:#ffffff;color:#1d1d1b">
<label for="crm-first-name" style="display:block;font-weight:600;margin:0 0 .2rem">{{.FT.FirstName}} <span style="font-weight:400;color:#4a4a46">{{.FT.Optional}}</span></label>
<input id="crm-first-name" name="first_name" type="text" autocomplete="given-name" style="box-sizing:border-box;width:100%;font:inherit;padding:.5rem .6rem;margin:0 0 1rem;border:1px solid #767672;border-radius:4px;background:#ffffff;color:#1d1d1b">
<fieldset style="border:1px solid #c9c9c4;border-radius:4px;margin:0 0 1rem;padding:.5rem 1rem .75rem">
<legend style="font-weight:600;padding:0 .25rem">{{.FT.Lists}}</legend>
{{range .Lists}}<div style="display:flex;gap:.6rem;align-items:flex-start;margin:.6rem 0"><input type="checkbox" id="crm-list-{{.Name}}" name="lists" value="{{.Name}}" style="width:1.25rem;height:1.25rem;margin:.2rem 0 0;flex:none">
<label for="crm-list-{{.Name}}" style="flex:1"><strong>{{.Title}}</strong>{{if .Description}}<span style="display:block">{{.Description}}</span>{{end}}<span style="display:block;font-size:.9rem;color:#4a4a46">{{.Consent}}</span></label></div>
{{end}}</fieldset>
{{if .Interests}}<fieldset style="border:1px solid #c9c9c4;border-radius:4px;margin:0 0 1rem;padding:.5rem 1rem .75rem">
<legend style="font-weight:600;padding:0 .25rem">{{.FT.Interests}} <span style="font-weight:400;color:#4a4a46">{{.FT.Optional}}</span></legend>
{{range .Interests}}<div style="display:flex;gap:.6rem;align-items:flex-start;margin:.4rem 0"><input type="checkbox" id="crm-interest-{{.Name}}" name="interests" value="{{.Name}}" style="width:1.25rem;height:1.25rem;margin:.2rem 0 0;flex:none">
<label for="crm-interest-{{.Name}}" style="flex:1">{{.Label}}</label></div>
{{end}}</fieldset>{{end}}
<fieldset style="border:1px solid #c9c9c4;border-radius:4px;margin:0 0 1rem;padding:.5rem 1rem .75rem">
<legend style="font-weight:600;padding:0 .25rem">{{.FT.Language}}</legend>
{{range .Languages}}<div style="display:flex;gap:.6rem;align-items:flex-start;margin:.4rem 0"><input type="radio" id="crm-language-{{.Name}}" name="language" value="{{.Name}}"{{if .Checked}} checked{{end}} style="width:1.25rem;height:1.25rem;margin:.2rem 0 0;flex:none">
<label for="crm-language-{{.Name}}" lang="{{.Name}}" style="flex:1">{{.Label}}</label></div>
{{end}}</fieldset>
<div aria-hidden="true" style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"><label for="crm-website">{{.FT.Honeypot}}</label><input id="crm-website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<input type="hidden" name="thanks" value="site">
<button type="submit" style="font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:4px;background:#9c2a00;color:#ffffff;cursor:pointer">{{.FT.Submit}}</button>
</form>
`))
