package newsletter

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"golang.org/x/text/language"
)

// pageTexts is everything a supporter reads on the pages and in the
// confirmation email, in one language.
type pageTexts struct {
	Lang               string
	SignupTitle        string
	SignupDone         string
	ConfirmSubject     string // %s is the list's title
	ConfirmHello       string // the greeting without a name; %s is the first name in ConfirmHelloName
	ConfirmHelloName   string
	ConfirmIntro       string // %s is the list's title
	ConfirmIntroFrom   string // %[1]s is the list's title, %[2]s the association's name
	ConfirmButton      string
	ConfirmIgnore      string
	ConfirmTitle       string
	ConfirmAsk         string // %s is the list's title
	ConfirmedTitle     string
	ConfirmedBody      string
	ConsentDefault     string // %s is the list's title
	UnsubscribeTitle   string
	UnsubscribeAsk     string
	UnsubscribeAskAll  string
	UnsubscribeButton  string
	UnsubscribedTitle  string
	UnsubscribedBody   string
	PreferencesTitle   string
	PreferencesLists   string
	PreferencesLang    string
	PreferencesHelp    string
	PreferencesSave    string
	PreferencesSaved   string
	InvalidTitle       string
	InvalidBody        string
	ExpiredTitle       string
	ExpiredBody        string
	NothingTitle       string
	NothingBody        string
	BadRequestTitle    string
	BadRequestBody     string // %s is the field's name
	GoneTitle          string
	GoneBody           string
	ListGoneTitle      string
	ListGoneBody       string
	TooManyTitle       string
	TooManyBody        string
	ErrorTitle         string
	ErrorBody          string
	LanguageNames      map[string]string
	PreferencesLinkTxt string
}

var texts = map[string]pageTexts{
	"fr": {
		Lang: "fr", SignupTitle: "Merci\u00a0!",
		SignupDone:         "Si cette adresse peut recevoir nos messages, vous allez recevoir un courriel. Pour certaines listes, il faut cliquer sur le lien de confirmation qu'il contient.",
		ConfirmSubject:     "Confirmez votre inscription : %s",
		ConfirmHello:       "Bonjour,",
		ConfirmHelloName:   "Bonjour %s,",
		ConfirmIntro:       "Pour recevoir « %s », confirmez votre inscription en ouvrant ce lien :",
		ConfirmIntroFrom:   "Pour recevoir « %[1]s » de %[2]s, confirmez votre inscription en ouvrant ce lien :",
		ConfirmButton:      "Je confirme mon inscription",
		ConfirmIgnore:      "Si vous n'avez rien demandé, ignorez ce message : vous ne recevrez rien.",
		ConfirmTitle:       "Confirmer mon inscription",
		ConfirmAsk:         "Pour recevoir « %s », confirmez votre inscription avec ce bouton.",
		ConsentDefault:     "J'accepte de recevoir « %s » par courriel. Je peux me désinscrire à tout moment.",
		ConfirmedTitle:     "Inscription confirmée",
		ConfirmedBody:      "C'est fait : vous recevrez « %s ». Merci !",
		UnsubscribeTitle:   "Se désinscrire",
		UnsubscribeAsk:     "Ne plus recevoir « %s » à l'adresse %s ?",
		UnsubscribeAskAll:  "Ne plus recevoir aucun de nos messages à l'adresse %s ?",
		UnsubscribeButton:  "Me désinscrire",
		UnsubscribedTitle:  "Vous êtes désinscrit·e",
		UnsubscribedBody:   "Vous ne recevrez plus ces messages. Vous pouvez vous réinscrire à tout moment.",
		PreferencesTitle:   "Mes préférences",
		PreferencesLists:   "Les listes que je reçois",
		PreferencesLang:    "Langue de mes messages",
		PreferencesHelp:    "Comment je souhaite aider",
		PreferencesSave:    "Enregistrer",
		PreferencesSaved:   "Vos préférences sont enregistrées.",
		InvalidTitle:       "Lien invalide",
		InvalidBody:        "Ce lien est incomplet ou a été modifié. Copiez-le en entier depuis le message reçu.",
		ExpiredTitle:       "Lien expiré",
		ExpiredBody:        "Ce lien de confirmation a expiré. Inscrivez-vous à nouveau pour en recevoir un autre.",
		NothingTitle:       "Rien à confirmer",
		NothingBody:        "Cette inscription n'est plus en attente (vous vous êtes peut-être désinscrit·e entre-temps).",
		BadRequestTitle:    "Formulaire incomplet",
		BadRequestBody:     "Une valeur du formulaire n'est pas acceptée (champ « %s »). Rien n'a été enregistré : rechargez la page et réessayez.",
		GoneTitle:          "Lien inactif",
		GoneBody:           "Ce lien ne fonctionne plus. Plus aucun message ne sera envoyé à l’adresse à laquelle il était destiné.",
		ListGoneTitle:      "Liste supprimée",
		ListGoneBody:       "Cette liste n'existe plus : il n'y a plus rien à confirmer, et rien n'a été enregistré.",
		TooManyTitle:       "Trop de demandes",
		TooManyBody:        "Trop de demandes depuis votre connexion. Réessayez dans quelques minutes.",
		ErrorTitle:         "Erreur",
		ErrorBody:          "Une erreur s'est produite de notre côté. Réessayez plus tard.",
		LanguageNames:      map[string]string{"fr": "Français", "en": "English"},
		PreferencesLinkTxt: "Gérer mes préférences",
	},
	"en": {
		Lang: "en", SignupTitle: "Thank you!",
		SignupDone:         "If this address can receive our messages, you will get an email. For some lists, you need to click the confirmation link in it.",
		ConfirmSubject:     "Confirm your subscription: %s",
		ConfirmHello:       "Hello,",
		ConfirmHelloName:   "Hello %s,",
		ConfirmIntro:       "To receive “%s”, confirm your subscription by opening this link:",
		ConfirmIntroFrom:   "To receive “%[1]s” from %[2]s, confirm your subscription by opening this link:",
		ConfirmButton:      "I confirm my subscription",
		ConfirmIgnore:      "If you did not ask for anything, ignore this message: you will receive nothing.",
		ConfirmTitle:       "Confirm my subscription",
		ConfirmAsk:         "To receive “%s”, confirm your subscription with this button.",
		ConsentDefault:     "I agree to receive “%s” by email. I can unsubscribe at any time.",
		ConfirmedTitle:     "Subscription confirmed",
		ConfirmedBody:      "Done: you will receive “%s”. Thank you!",
		UnsubscribeTitle:   "Unsubscribe",
		UnsubscribeAsk:     "Stop receiving “%s” at %s?",
		UnsubscribeAskAll:  "Stop receiving all our messages at %s?",
		UnsubscribeButton:  "Unsubscribe me",
		UnsubscribedTitle:  "You are unsubscribed",
		UnsubscribedBody:   "You will not receive these messages any more. You can subscribe again at any time.",
		PreferencesTitle:   "My preferences",
		PreferencesLists:   "The lists I receive",
		PreferencesLang:    "Language of my messages",
		PreferencesHelp:    "How I would like to help",
		PreferencesSave:    "Save",
		PreferencesSaved:   "Your preferences are saved.",
		InvalidTitle:       "Invalid link",
		InvalidBody:        "This link is incomplete or was changed. Copy it whole from the message you received.",
		ExpiredTitle:       "Expired link",
		ExpiredBody:        "This confirmation link has expired. Sign up again to get a new one.",
		NothingTitle:       "Nothing to confirm",
		NothingBody:        "This subscription is no longer waiting (perhaps you unsubscribed in between).",
		BadRequestTitle:    "Incomplete form",
		BadRequestBody:     "A value of the form was not accepted (field “%s”). Nothing was saved: reload the page and try again.",
		GoneTitle:          "Inactive link",
		GoneBody:           "This link no longer works. No more messages will be sent to the address it was for.",
		ListGoneTitle:      "List deleted",
		ListGoneBody:       "This list no longer exists: there is nothing left to confirm, and nothing was recorded.",
		TooManyTitle:       "Too many requests",
		TooManyBody:        "Too many requests from your connection. Try again in a few minutes.",
		ErrorTitle:         "Error",
		ErrorBody:          "Something went wrong on our side. Try again later.",
		LanguageNames:      map[string]string{"fr": "Français", "en": "English"},
		PreferencesLinkTxt: "Manage my preferences",
	},
}

var pageMatcher = language.NewMatcher([]language.Tag{language.French, language.English})

// pageLanguage picks fr or en: the supporter's language if it is one of
// them, else the browser's Accept-Language, else French.
func pageLanguage(supporterLang, acceptLanguage string) string {
	if _, ok := texts[supporterLang]; ok {
		return supporterLang
	}
	if acceptLanguage != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, i, conf := pageMatcher.Match(tags...)
			if conf != language.No && i == 1 {
				return "en"
			}
		}
	}
	return "fr"
}

// page is what the page template renders.
type page struct {
	T       pageTexts
	Title   string
	Message string
	Form    *formView
	Prefs   *prefsView
}

type formView struct {
	Action string
	Button string
}

type prefsView struct {
	Action    string
	Saved     bool
	Lists     []checkbox
	Languages []checkbox
	Interests []checkbox
}

type checkbox struct {
	Name    string
	Label   string
	Checked bool
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="{{.T.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
body { margin: 0; background: #f4f4f1; color: #1d1d1b; font: 17px/1.5 -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 6px; }
h1 { font-size: 1.5rem; margin-top: 0; }
button { font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: 4px; background: #9c2a00; color: #fff; cursor: pointer; }
button:focus, input:focus, select:focus { outline: 3px solid #f2b138; outline-offset: 2px; }
fieldset { border: 1px solid #ccc; border-radius: 4px; margin: 0 0 1rem; }
label { display: block; margin: .3rem 0; }
.saved { background: #e6f4e6; padding: .5rem 1rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{with .Form}}<form method="post" action="{{.Action}}"><button type="submit">{{.Button}}</button></form>{{end}}
{{with .Prefs}}
{{if .Saved}}<p class="saved" role="status">{{$.T.PreferencesSaved}}</p>{{end}}
<form method="post" action="{{.Action}}">
<fieldset><legend>{{$.T.PreferencesLists}}</legend>
{{range .Lists}}<label><input type="checkbox" name="lists" value="{{.Name}}"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
<fieldset><legend>{{$.T.PreferencesLang}}</legend>
{{range .Languages}}<label><input type="radio" name="language" value="{{.Name}}"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
<fieldset><legend>{{$.T.PreferencesHelp}}</legend>
{{range .Interests}}<label><input type="checkbox" name="interests" value="{{.Name}}"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
<button type="submit">{{$.T.PreferencesSave}}</button>
</form>
{{end}}
</main>
</body>
</html>
`))

func renderPage(p page) []byte {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return []byte("error")
	}
	return b.Bytes()
}

var confirmHTML = template.Must(template.New("confirm").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:24px 16px;background:#f4f4f1;font-family:Arial,sans-serif;font-size:16px;line-height:1.5;color:#1d1d1b">
<div style="max-width:600px;margin:0 auto;background:#fff;padding:24px;border-radius:6px">
<p>{{.Hello}}</p>
{{range .Links}}<p>{{.Intro}}</p>
<p><a href="{{.URL}}" style="display:inline-block;padding:10px 18px;background:#9c2a00;color:#fff;text-decoration:none;border-radius:4px">{{$.Button}}</a></p>
<p style="font-size:13px;color:#5f5f5a">{{.URL}}</p>
{{end}}<p style="font-size:13px;color:#5f5f5a">{{.Ignore}}</p>
</div></body></html>
`))

// confirmLink is one list to confirm and its link.
type confirmLink struct {
	Title string
	URL   string
	Intro string
}

// confirmationBody renders the double opt-in email: a greeting, by the
// first name when it is known, then one link per list, each naming the
// association when its name is set.
func confirmationBody(lang, firstName, association string, links []confirmLink) (html, text string, err error) {
	t := texts[lang]
	hello := t.ConfirmHello
	if firstName = strings.TrimSpace(firstName); firstName != "" {
		hello = fmt.Sprintf(t.ConfirmHelloName, firstName)
	}
	var tb strings.Builder
	tb.WriteString(hello + "\n\n")
	for i := range links {
		if association != "" {
			links[i].Intro = fmt.Sprintf(t.ConfirmIntroFrom, links[i].Title, association)
		} else {
			links[i].Intro = fmt.Sprintf(t.ConfirmIntro, links[i].Title)
		}
		tb.WriteString(links[i].Intro + "\n\n" + links[i].URL + "\n\n")
	}
	tb.WriteString(t.ConfirmIgnore + "\n")
	var b bytes.Buffer
	if err := confirmHTML.Execute(&b, map[string]any{"Lang": lang, "Hello": hello, "Links": links,
		"Button": t.ConfirmButton, "Ignore": t.ConfirmIgnore}); err != nil {
		return "", "", err
	}
	return b.String(), tb.String(), nil
}
