package newsletter

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/assocrm/assocrm/crm"
)

// formTexts is what the hosted signup form, its thank-you page and the
// snippet say, in one language.
type formTexts struct {
	Title         string // the page's heading
	Intro         string
	Email         string
	FirstName     string
	Optional      string
	Lists         string
	Interests     string
	Language      string
	Submit        string
	NoLists       string
	OtherLanguage string // the link to the page in the other language
	Honeypot      string // the label of the field people do not see
	// The thank-you page: see thanksFor for when each is said.
	Subscribed     string // %s: the lists' titles
	SubscribedNote string
	CheckMailbox   string // %s: the lists' titles
	CheckNote      string // %d: the minutes between two confirmation emails
	// The form shown again for a refused value.
	ErrorEmail string
	ErrorLists string
	ErrorOther string // %s: the field
}

var formTextsByLang = map[string]formTexts{
	"fr": {
		Title:          "Restons en contact",
		Intro:          "Choisissez ce que vous voulez recevoir. Nous n'utilisons votre adresse que pour cela, et vous pouvez vous désinscrire à tout moment.",
		Email:          "Adresse e-mail",
		FirstName:      "Prénom",
		Optional:       "(facultatif)",
		Lists:          "Je veux recevoir",
		Interests:      "Comment je souhaite aider",
		Language:       "Langue de mes messages",
		Submit:         "Je m'inscris",
		NoLists:        "Aucune liste n'est ouverte aux inscriptions pour le moment.",
		OtherLanguage:  "English",
		Honeypot:       "Ne remplissez pas ce champ",
		Subscribed:     "Vous êtes inscrit·e à : %s.",
		SubscribedNote: "Si cette adresse s'était désinscrite d'une de ces listes, ou si nos messages n'y parvenaient plus, elle reçoit plutôt un e-mail pour confirmer : personne n'est réinscrit sans l'avoir voulu.",
		CheckMailbox:   "Vérifiez votre boîte mail : un e-mail contient le lien qui confirme votre inscription à : %s. Sans ce clic, vous ne recevrez rien.",
		CheckNote:      "Rien n'arrive ? Regardez dans les indésirables. Une adresse reçoit au plus un e-mail de confirmation toutes les %d minutes, et aucun pour une liste où elle est déjà inscrite.",
		ErrorEmail:     "Cette adresse e-mail n'est pas valable : vérifiez-la.",
		ErrorLists:     "Cochez au moins une des listes ci-dessous.",
		ErrorOther:     "Une valeur du formulaire n'est pas acceptée (champ « %s »).",
	},
	"en": {
		Title:          "Stay in touch",
		Intro:          "Choose what you would like to receive. We use your address for that only, and you can unsubscribe at any time.",
		Email:          "Email address",
		FirstName:      "First name",
		Optional:       "(optional)",
		Lists:          "I would like to receive",
		Interests:      "How I would like to help",
		Language:       "Language of my messages",
		Submit:         "Sign me up",
		NoLists:        "No list is open for signups at the moment.",
		OtherLanguage:  "Français",
		Honeypot:       "Leave this field empty",
		Subscribed:     "You are subscribed to: %s.",
		SubscribedNote: "If this address had unsubscribed from one of these lists, or our messages no longer reached it, it gets an email to confirm instead: nobody is signed up again without wanting it.",
		CheckMailbox:   "Check your mailbox: an email holds the link that confirms your subscription to: %s. Without that click, you will receive nothing.",
		CheckNote:      "Nothing there? Look in your spam folder. An address gets at most one confirmation email every %d minutes, and none for a list it is already subscribed to.",
		ErrorEmail:     "This email address is not valid: please check it.",
		ErrorLists:     "Tick at least one of the lists below.",
		ErrorOther:     "A value of the form was not accepted (field “%s”).",
	},
}

// signupView is what the form template renders: the hosted page, the
// same form shown again with a refused value, and the snippet.
type signupView struct {
	T          pageTexts
	FT         formTexts
	PageTitle  string
	Org        string // the association's name, "" when not set
	Action     string
	OtherLang  string // the link to the page in the other language
	Error      string
	ErrorField string // "email" or "lists": the field marked invalid
	Email      string
	FirstName  string
	Lists      []listChoice
	Interests  []checkbox
	Languages  []checkbox
	// Snippet: the hidden field that sends the person, after the POST,
	// to the signup-redirect page when one is set.
	Snippet bool
}

// listChoice is one public list on the form.
type listChoice struct {
	Name        string
	Title       string
	Description string
	Consent     string
	Checked     bool
}

// formLanguage picks the form's language: ?lang= when it is fr or en,
// else the browser's Accept-Language, else French.
func formLanguage(r *http.Request) string {
	if l := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("lang"))); l == "fr" || l == "en" {
		return l
	}
	return pageLanguage("", r.Header.Get("Accept-Language"))
}

// publicLists returns the lists offered to the public, in the order of
// their names. A private list is never offered, named or titled on a
// public page.
func (n *Newsletter) publicLists(ctx context.Context) ([]*crm.List, error) {
	all, err := n.db.Lists(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(l *crm.List) bool { return !l.Public }), nil
}

// consentFor is the consent text a form shows beside a list's checkbox:
// the list's own in the language, else the package's.
func consentFor(l *crm.List, lang string) string {
	if t := l.ConsentTextFor(lang); t != "" {
		return t
	}
	return DefaultConsentText(lang, l.TitleFor(lang))
}

// signupFormView builds the form in lang over the public lists, ticking
// those named in checked (names of other lists are ignored: a private
// list's name in a link shows nothing) and the interests in interests.
func (n *Newsletter) signupFormView(ctx context.Context, lang string, checked, interests []string) (*signupView, error) {
	lists, err := n.publicLists(ctx)
	if err != nil {
		return nil, err
	}
	ins, err := n.db.Interests(ctx)
	if err != nil {
		return nil, err
	}
	st, err := n.db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	t, ft := texts[lang], formTextsByLang[lang]
	v := &signupView{T: t, FT: ft, Org: st.Name, PageTitle: ft.Title}
	if st.Name != "" {
		v.PageTitle = ft.Title + " · " + st.Name
	}
	for _, l := range lists {
		v.Lists = append(v.Lists, listChoice{Name: l.Name, Title: l.TitleFor(lang), Description: l.DescriptionFor(lang),
			Consent: consentFor(l, lang), Checked: slices.Contains(checked, l.Name)})
	}
	for _, in := range ins {
		v.Interests = append(v.Interests, checkbox{Name: in.Name, Label: in.Label(lang), Checked: slices.Contains(interests, in.Name)})
	}
	for _, code := range []string{"fr", "en"} {
		v.Languages = append(v.Languages, checkbox{Name: code, Label: t.LanguageNames[code], Checked: code == lang})
	}
	return v, nil
}

// listNames reads the lists a link preselects: ?lists=a,b or ?lists=a&lists=b.
func listNames(values []string) []string {
	var out []string
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// signupPage is GET /subscribe: the association's signup form, in French
// or English (?lang=, else the browser's language), with the public
// lists, ticked for those ?lists= names. It changes nothing.
func (h *handler) signupPage(w http.ResponseWriter, r *http.Request) {
	lang := formLanguage(r)
	q := r.URL.Query()
	v, err := h.n.signupFormView(r.Context(), lang, listNames(q["lists"]), nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The link to the other language keeps the lists ticked, and names
	// no other: a private list's name in a link is never echoed.
	other := url.Values{"lang": {map[string]string{"fr": "en", "en": "fr"}[lang]}}
	for _, l := range v.Lists {
		if l.Checked {
			other["lists"] = append(other["lists"], l.Name)
		}
	}
	v.OtherLang = "?" + other.Encode()
	v.Action = "subscribe"
	h.writeForm(w, http.StatusOK, v)
}

// formAgain shows the form again, in lang, with what the person typed and
// the value refused, after a signup refused for a value the person can
// fix. Validation depends on what was typed only, never on the database
// (see thanksFor).
func (h *handler) formAgain(w http.ResponseWriter, r *http.Request, lang string, f signupForm, ve *crm.ValidationError) {
	v, err := h.n.signupFormView(r.Context(), lang, f.Lists, f.Interests)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Action, v.Email, v.FirstName = "subscribe", f.Email, f.FirstName
	if f.Thanks == thanksSite {
		// Posted from the snippet: the form shown again keeps sending the
		// person to the association's page, which its form-action must
		// allow (browsers check it on the POST's redirect too).
		st, err := h.n.db.Settings(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if u, err := url.Parse(st.SignupRedirect); err == nil && st.SignupRedirect != "" {
			v.Snippet = true
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+u.Scheme+"://"+u.Host)
		}
	}
	switch ve.Field {
	case "email":
		v.Error, v.ErrorField = v.FT.ErrorEmail, "email"
	case "lists":
		v.Error, v.ErrorField = v.FT.ErrorLists, "lists"
	default:
		v.Error = fmt.Sprintf(v.FT.ErrorOther, ve.Field)
	}
	if f.Language != "" {
		for i := range v.Languages {
			v.Languages[i].Checked = v.Languages[i].Name == pageLanguage(f.Language, "")
		}
	}
	h.writeForm(w, http.StatusBadRequest, v)
}

func (h *handler) writeForm(w http.ResponseWriter, status int, v *signupView) {
	var b bytes.Buffer
	if err := formTemplate.ExecuteTemplate(&b, "form", v); err != nil {
		b.Reset()
		b.WriteString("error")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// thanksSite is the value of the snippet's hidden "thanks" field: after
// the POST, the person goes to the signup-redirect page when one is set.
const thanksSite = "site"

// thanksView is the thank-you page after a signup.
type thanksView struct {
	T            pageTexts
	Subscribed   string // the titles of the single opt-in lists asked
	SubNote      string
	CheckMailbox string // the titles of the double opt-in lists asked
	CheckNote    string
	Generic      string // when no public list was asked
}

// thanksFor says what happens after a signup to lists, in lang.
//
// The rule: what the page says depends only on the lists asked (their
// titles and modes) and the language, never on the database's record of
// the address, so that nobody learns whether an address is known by
// typing it. Hence it does not read the SignupResult: a list already
// joined is in neither of its lists, a single opt-in list that the
// address left before (or whose mail bounced, or that was erased) waits
// for a confirmation, and an email sent less than the confirmation
// interval ago defers the next one; each of these tells something of the
// address's past. So the page says what happens to an address new to the
// association, exactly: "you are subscribed" for the single opt-in lists
// asked (joined at once), "check your mailbox" for the double opt-in lists
// (a confirmation email is sent, or queued, for them), both when both; and
// one fixed sentence beside each covers the other cases without saying
// which applies. The redirect to signup-redirect carries the same answer
// (signupOutcome).
func thanksFor(lang string, lists []*crm.List, confirmEvery time.Duration) thanksView {
	t, ft := texts[lang], formTextsByLang[lang]
	v := thanksView{T: t}
	var single, double []string
	for _, l := range lists {
		title := "«\u00a0" + l.TitleFor(lang) + "\u00a0»"
		if lang == "en" {
			title = "“" + l.TitleFor(lang) + "”"
		}
		if l.DoubleOptIn {
			double = append(double, title)
		} else {
			single = append(single, title)
		}
	}
	if len(single) > 0 {
		v.Subscribed, v.SubNote = fmt.Sprintf(ft.Subscribed, strings.Join(single, ", ")), ft.SubscribedNote
	}
	if len(double) > 0 {
		minutes := int(confirmEvery.Round(time.Minute) / time.Minute)
		v.CheckMailbox, v.CheckNote = fmt.Sprintf(ft.CheckMailbox, strings.Join(double, ", ")), fmt.Sprintf(ft.CheckNote, max(minutes, 1))
	}
	if len(single)+len(double) == 0 {
		v.Generic = t.SignupDone
	}
	return v
}

// signupOutcome is the signup parameter of the redirect to the
// association's own page: "subscribed", "confirm" or "both", by the rule
// of thanksFor; "" when no public list was asked.
func signupOutcome(lists []*crm.List) string {
	var single, double bool
	for _, l := range lists {
		if l.DoubleOptIn {
			double = true
		} else {
			single = true
		}
	}
	switch {
	case single && double:
		return "both"
	case double:
		return "confirm"
	case single:
		return "subscribed"
	}
	return ""
}

// askedPublicLists returns the public lists among the names a signup
// asked, in the form's order; private and unknown names are left out, so
// the thank-you page never names a private list.
func (n *Newsletter) askedPublicLists(ctx context.Context, names []string) ([]*crm.List, error) {
	lists, err := n.publicLists(ctx)
	if err != nil {
		return nil, err
	}
	asked := listNames(names)
	return slices.DeleteFunc(lists, func(l *crm.List) bool { return !slices.Contains(asked, l.Name) }), nil
}

func (h *handler) writeThanks(w http.ResponseWriter, v thanksView) {
	var b bytes.Buffer
	if err := formTemplate.ExecuteTemplate(&b, "thanks", v); err != nil {
		b.Reset()
		b.WriteString("error")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// redirectURL adds the signup parameter to the association's page.
func redirectURL(target, outcome string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target // checked when it was set
	}
	if outcome != "" {
		q := u.Query()
		q.Set("signup", outcome)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// formStyle is the hosted pages' style sheet: large enough text and
// targets for a phone, contrast above 4.5:1 (WCAG AA), and a focus ring
// that shows on every control.
const formStyle = `
body { margin: 0; background: #f4f4f1; color: #1d1d1b; font: 17px/1.5 -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 36rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 6px; }
@media (max-width: 40rem) { main { margin: 0; padding: 1rem 1.1rem; border-radius: 0; } }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .75rem; }
.org { margin: 0 0 .25rem; color: #5a5a55; font-weight: 600; }
.lang { float: right; margin: 0 0 .5rem 1rem; }
a { color: #8a2500; }
label { display: block; }
.field { margin: 0 0 1rem; }
.field label { font-weight: 600; margin-bottom: .2rem; }
input[type=email], input[type=text] { font: inherit; width: 100%; box-sizing: border-box; padding: .55rem .6rem; border: 1px solid #767672; border-radius: 4px; }
input[aria-invalid=true] { border: 2px solid #b00020; }
fieldset { border: 1px solid #c9c9c4; border-radius: 4px; margin: 0 0 1rem; padding: .5rem 1rem .75rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .6rem; align-items: flex-start; margin: .6rem 0; }
.choice input { width: 1.25rem; height: 1.25rem; margin: .2rem 0 0; flex: none; }
.choice label { flex: 1; }
.desc { display: block; }
.consent { display: block; font-size: .9rem; color: #4a4a46; }
button { font: inherit; font-weight: 600; padding: .7rem 1.4rem; border: 0; border-radius: 4px; background: #9c2a00; color: #fff; cursor: pointer; }
@media (max-width: 40rem) { button { width: 100%; } }
a:focus, button:focus, input:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.error { background: #fdecea; border-left: 4px solid #b00020; padding: .5rem 1rem; }
.note { font-size: .9rem; color: #4a4a46; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
h2 { font-size: 1.2rem; line-height: 1.3; margin: 1.25rem 0 .5rem; }
dl { margin: 0 0 1rem; }
dt { font-weight: 600; }
dd { margin: 0 0 .5rem; }
.text { white-space: pre-line; }
.status { background: #e6f4e6; border-left: 4px solid #2e7d32; padding: .5rem 1rem; }
.notice { background: #fff4e5; border-left: 4px solid #9c5700; padding: .5rem 1rem; }
.answers form { margin: 0 0 .75rem; }
input[type=number] { font: inherit; width: 6rem; padding: .45rem .5rem; border: 1px solid #767672; border-radius: 4px; }
button.secondary { background: #fff; color: #8a2500; border: 2px solid #8a2500; }
article { border-top: 1px solid #c9c9c4; margin-top: 1rem; }
`

// headData is what the pages' common head shows.
type headData struct {
	T     pageTexts
	Title string
}

var formTemplate = template.Must(template.New("form").Funcs(template.FuncMap{
	"head": func(t pageTexts, title string) headData { return headData{T: t, Title: title} },
}).Parse(`{{define "head"}}<!DOCTYPE html>
<html lang="{{.T.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + formStyle + `</style>
</head>
<body>
<main>
{{end}}{{define "form"}}{{template "head" (head .T .PageTitle)}}
{{if .OtherLang}}<p class="lang"><a href="{{.OtherLang}}" lang="{{if eq .T.Lang "fr"}}en{{else}}fr{{end}}">{{.FT.OtherLanguage}}</a></p>{{end}}
{{if .Org}}<p class="org">{{.Org}}</p>{{end}}
<h1>{{.FT.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if not .Lists}}<p>{{.FT.NoLists}}</p>{{else}}
<p>{{.FT.Intro}}</p>
<form method="post" action="{{.Action}}">
<div class="field"><label for="email">{{.FT.Email}}</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{.Email}}"{{if eq .ErrorField "email"}} aria-invalid="true"{{end}}></div>
<div class="field"><label for="first_name">{{.FT.FirstName}} <span class="note">{{.FT.Optional}}</span></label>
<input id="first_name" name="first_name" type="text" autocomplete="given-name" value="{{.FirstName}}"></div>
<fieldset{{if eq .ErrorField "lists"}} aria-invalid="true"{{end}}><legend>{{.FT.Lists}}</legend>
{{range .Lists}}<div class="choice"><input type="checkbox" id="list-{{.Name}}" name="lists" value="{{.Name}}"{{if .Checked}} checked{{end}}>
<label for="list-{{.Name}}"><strong>{{.Title}}</strong>{{if .Description}}<span class="desc">{{.Description}}</span>{{end}}<span class="consent">{{.Consent}}</span></label></div>
{{end}}</fieldset>
{{if .Interests}}<fieldset><legend>{{.FT.Interests}} <span class="note">{{.FT.Optional}}</span></legend>
{{range .Interests}}<div class="choice"><input type="checkbox" id="interest-{{.Name}}" name="interests" value="{{.Name}}"{{if .Checked}} checked{{end}}>
<label for="interest-{{.Name}}">{{.Label}}</label></div>
{{end}}</fieldset>{{end}}
<fieldset><legend>{{.FT.Language}}</legend>
{{range .Languages}}<div class="choice"><input type="radio" id="language-{{.Name}}" name="language" value="{{.Name}}"{{if .Checked}} checked{{end}}>
<label for="language-{{.Name}}" lang="{{.Name}}">{{.Label}}</label></div>
{{end}}</fieldset>
<div class="hp" aria-hidden="true"><label for="website">{{.FT.Honeypot}}</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
{{if .Snippet}}<input type="hidden" name="thanks" value="site">{{end}}
<button type="submit">{{.FT.Submit}}</button>
</form>{{end}}
</main>
</body>
</html>
{{end}}{{define "thanks"}}{{template "head" (head .T .T.SignupTitle)}}
<h1>{{.T.SignupTitle}}</h1>
{{if .Subscribed}}<p>{{.Subscribed}}</p>{{end}}
{{if .CheckMailbox}}<p><strong>{{.CheckMailbox}}</strong></p>{{end}}
{{if .Generic}}<p>{{.Generic}}</p>{{end}}
{{if .SubNote}}<p class="note">{{.SubNote}}</p>{{end}}
{{if .CheckNote}}<p class="note">{{.CheckNote}}</p>{{end}}
</main>
</body>
</html>
{{end}}`))
