package newsletter_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// What of the private list must never show on a page of someone who is
// not on it: its name and its titles.
var secrets = []string{"elus-cabinets", "Élus et cabinets", "Officials and their staff", "&#201;lus"}

func addPrivateList(t *testing.T, w *web) *crm.List {
	t.Helper()
	l := &crm.List{Name: "elus-cabinets", Title: "Élus et cabinets", TitleEN: "Officials and their staff", Kind: crm.KindPress}
	if err := w.db.CreateList(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

func assertNoSecret(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("%s shows %q of the private list:\n%s", what, s, body)
		}
	}
}

// No public page shows a private list: neither the answers of the signup
// form (which refuses it as it refuses a list that does not exist), nor
// the confirm, unsubscribe, preference and error pages of someone who
// is not on it, in French or English.
func TestPrivateListOnNoPublicPage(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	addPrivateList(t, w)
	for _, lang := range []string{"fr", "en"} {
		hdr := map[string]string{"Accept-Language": lang}
		email := lang + "@example.org"
		// The signup form: a private list is refused exactly as an
		// unknown one, in a form and in JSON.
		codeP, bodyP := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {email}, "lists": {"lettre", "elus-cabinets"}}.Encode(), hdr)
		codeU, bodyU := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {email}, "lists": {"lettre", "no-such-list"}}.Encode(), hdr)
		if codeP != 400 || codeP != codeU || bodyP != bodyU {
			t.Errorf("%s: a private list is answered %d\n%s\nan unknown one %d\n%s", lang, codeP, bodyP, codeU, bodyU)
		}
		assertNoSecret(t, "the refused signup", bodyP)
		json := map[string]string{"Content-Type": "application/json", "Accept-Language": lang}
		codeP, bodyP = w.do(t, "POST", "/nl/subscribe", `{"email":"`+email+`","lists":["elus-cabinets"]}`, json)
		codeU, bodyU = w.do(t, "POST", "/nl/subscribe", `{"email":"`+email+`","lists":["no-such-list"]}`, json)
		if codeP != 400 || codeP != codeU || strings.ReplaceAll(bodyP, "elus-cabinets", "no-such-list") != bodyU {
			t.Errorf("%s: JSON: a private list is answered %d %s, an unknown one %d %s", lang, codeP, bodyP, codeU, bodyU)
		}
		if _, err := w.db.GetSupporterByEmail(ctx, email); !errors.Is(err, crm.ErrNotFound) {
			t.Errorf("%s: a refused signup recorded the person: %v", lang, err)
		}

		// The pages of a person on the public lists only.
		code, body := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {email}, "language": {lang},
			"lists": {"lettre", "alertes"}}.Encode(), hdr)
		if code != 200 {
			t.Fatalf("%s: signup: %d\n%s", lang, code, body)
		}
		assertNoSecret(t, "the thank-you page", body)
		id := mustID(t, w.db, email)
		pages := map[string]string{
			"confirm":           path(w.n.ConfirmURL(id, listID(t, w.db, "alertes"))),
			"unsubscribe":       path(w.n.UnsubscribeURL(id, listID(t, w.db, "lettre"))),
			"unsubscribe (all)": path(w.n.UnsubscribeURL(id, 0)),
			"preferences":       path(w.n.PreferencesURL(id)),
			"a bad link":        "/nl/preferences?token=nope",
		}
		for what, p := range pages {
			code, body := w.do(t, "GET", p, "", hdr)
			if code >= 500 {
				t.Errorf("%s: GET %s: %d", lang, what, code)
			}
			assertNoSecret(t, lang+": GET "+what, body)
		}
		for _, what := range []string{"confirm", "preferences", "unsubscribe"} {
			code, body := w.do(t, "POST", pages[what], url.Values{"lists": {"lettre"}}.Encode(), hdr)
			if code != 200 {
				t.Errorf("%s: POST %s: %d", lang, what, code)
			}
			assertNoSecret(t, lang+": POST "+what, body)
		}
	}
}

// The preference page of someone on a private list (subscribed or
// pending) offers it, with its title in their language, so they can
// leave; once they have left, it is gone from their page too.
func TestPrivateListOnItsMembersPreferences(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	addPrivateList(t, w)
	for _, tt := range []struct {
		email, lang, title string
		pending            bool
	}{
		{"journaliste@example.org", "en", "Officials and their staff", false},
		{"attache@example.org", "fr", "Élus et cabinets", true},
	} {
		s := &crm.Supporter{Email: tt.email, Language: tt.lang}
		if err := w.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "elus-cabinets",
			RequireConfirmation: tt.pending, Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
			t.Fatal(err)
		}
		prefs := path(w.n.PreferencesURL(s.ID))
		code, body := w.do(t, "GET", prefs, "", nil)
		if code != 200 || !strings.Contains(body, `value="elus-cabinets" checked> `+strings.ReplaceAll(tt.title, "É", "&#201;")) &&
			!strings.Contains(body, `value="elus-cabinets" checked> `+tt.title) {
			t.Fatalf("%s: preferences: %d\n%s", tt.email, code, body)
		}
		// Untick it: they leave it, and the page no longer shows it.
		code, body = w.do(t, "POST", prefs, url.Values{"lists": {"lettre"}}.Encode(), nil)
		if code != 200 || w.status(t, tt.email, "elus-cabinets") != crm.StatusUnsubscribed || w.status(t, tt.email, "lettre") != crm.StatusSubscribed {
			t.Fatalf("%s: leave: %d, %s", tt.email, code, w.status(t, tt.email, "elus-cabinets"))
		}
		assertNoSecret(t, tt.email+": the page after leaving", body)
		// And they cannot come back through the page.
		if code, _ := w.do(t, "POST", prefs, url.Values{"lists": {"lettre", "elus-cabinets"}}.Encode(), nil); code != 400 ||
			w.status(t, tt.email, "elus-cabinets") != crm.StatusUnsubscribed {
			t.Errorf("%s: rejoined a private list through the page: %d", tt.email, code)
		}
	}
}

// A forged preference form naming a private list the person is not on
// is refused as a list that does not exist, changing nothing at all.
func TestForgedPreferencesNamingAPrivateList(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	addPrivateList(t, w)
	s := &crm.Supporter{Email: "curieux@example.org"}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	prefs := path(w.n.PreferencesURL(s.ID))
	before := w.footprint(t, s.ID)
	forged := url.Values{"lists": {"lettre", "elus-cabinets"}, "language": {"en"}}
	code, body := w.do(t, "POST", prefs, forged.Encode(), nil)
	_, unknown := w.do(t, "POST", prefs, url.Values{"lists": {"lettre", "no-such-list"}, "language": {"en"}}.Encode(), nil)
	if code != 400 || body != unknown {
		t.Errorf("forged form: %d\n%s\nunknown list:\n%s", code, body, unknown)
	}
	assertNoSecret(t, "the refusal", body)
	if after := w.footprint(t, s.ID); after != before {
		t.Errorf("the forged form changed something:\nbefore %s\nafter  %s", before, after)
	}
	token := prefs[strings.Index(prefs, "token=")+6:]
	if err := w.n.UpdatePreferences(ctx, token, newsletter.PreferenceChange{Lists: []string{"elus-cabinets"}}, crm.Consent{}); err == nil {
		t.Error("UpdatePreferences subscribed someone to a private list")
	}
	if st := w.status(t, "curieux@example.org", "elus-cabinets"); st != "" {
		t.Errorf("status on the private list: %q", st)
	}
}

// Go code may sign someone up to a private list, only when it says so.
func TestSignupPrivateListFromGo(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	addPrivateList(t, w)
	r := newsletter.SignupRequest{Email: "presse@example.org", Lists: []string{"elus-cabinets"}}
	_, err := w.n.Signup(ctx, r, nil, "")
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || ve.Field != "lists" || ve.Reason != "no such list" {
		t.Fatalf("signup to a private list without AllowPrivateLists: %v", err)
	}
	r.AllowPrivateLists = true
	res, err := w.n.Signup(ctx, r, nil, "")
	if err != nil || len(res.Subscribed) != 1 || w.status(t, "presse@example.org", "elus-cabinets") != crm.StatusSubscribed {
		t.Fatalf("signup with AllowPrivateLists: %+v, %v", res, err)
	}
}

// The consent text a signup records is the list's own, in the signup's
// language; else the registered text the form posted; else the
// package's; never what a client made up.
func TestSignupRecordsTheListsConsentText(t *testing.T) {
	const registered = "J'accepte les messages de l'association."
	w := newWeb(t, newsletter.WithConsentTexts(registered))
	ctx := context.Background()
	if _, err := w.db.EditList(ctx, "lettre", crm.ListEdit{TitleEN: ptr("The letter"),
		ConsentText: ptr("Je veux recevoir la lettre, une fois par mois."), ConsentTextEN: ptr("I want the monthly letter.")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.EditList(ctx, "alertes", crm.ListEdit{TitleEN: ptr("Eviction alerts")}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		email, lang, posted string
		want                map[string]string // by list
	}{
		{"fr@example.org", "fr", registered, map[string]string{
			"lettre": "Je veux recevoir la lettre, une fois par mois.", "alertes": registered}},
		{"en@example.org", "en", registered, map[string]string{
			"lettre": "I want the monthly letter.", "alertes": registered}},
		{"made-up@example.org", "en", "I agree to anything", map[string]string{
			"lettre": "I want the monthly letter.", "alertes": newsletter.DefaultConsentText("en", "Eviction alerts")}},
		{"none@example.org", "fr", "", map[string]string{
			"lettre": "Je veux recevoir la lettre, une fois par mois.", "alertes": newsletter.DefaultConsentText("fr", "Alertes expulsions")}},
	} {
		form := url.Values{"email": {tt.email}, "language": {tt.lang}, "lists": {"lettre", "alertes"}, "consent": {tt.posted}}
		if code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
			t.Fatalf("%s: %d\n%s", tt.email, code, body)
		}
		hist, err := w.db.ConsentHistory(ctx, mustID(t, w.db, tt.email))
		if err != nil || len(hist) != 2 {
			t.Fatalf("%s: history %+v, %v", tt.email, hist, err)
		}
		for _, ev := range hist {
			if ev.ConsentText != tt.want[ev.List] {
				t.Errorf("%s, %s: recorded %q, want %q", tt.email, ev.List, ev.ConsentText, tt.want[ev.List])
			}
		}
	}
}

// The pages name a list by its title in the page's language.
func TestPagesShowTitlesInTheirLanguage(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if _, err := w.db.EditList(ctx, "alertes", crm.ListEdit{TitleEN: ptr("Eviction alerts")}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ lang, title, other string }{{"en", "Eviction alerts", "Alertes expulsions"}, {"fr", "Alertes expulsions", "Eviction alerts"}} {
		s := &crm.Supporter{Email: tt.lang + "@example.org", Language: tt.lang}
		if err := w.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes", Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
			t.Fatal(err)
		}
		id := listID(t, w.db, "alertes")
		for what, p := range map[string]string{"confirm": path(w.n.ConfirmURL(s.ID, id)),
			"unsubscribe": path(w.n.UnsubscribeURL(s.ID, id)), "preferences": path(w.n.PreferencesURL(s.ID))} {
			_, body := w.do(t, "GET", p, "", nil)
			if !strings.Contains(body, tt.title) || strings.Contains(body, tt.other) {
				t.Errorf("%s %s page: want %q, not %q:\n%s", tt.lang, what, tt.title, tt.other, body)
			}
		}
	}
}
