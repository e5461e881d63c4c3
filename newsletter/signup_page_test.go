package newsletter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// newFormWeb is newWeb with the lists an association offers on its form:
// "lettre" (public, single opt-in, with English texts and its own consent
// texts), "alertes" (public, double opt-in, with the package's consent
// text) and "presse" (private), and the association's name.
func newFormWeb(t *testing.T, opts ...newsletter.HandlerOption) *web {
	t.Helper()
	w := newBareWeb(t, opts...)
	ctx := context.Background()
	for _, l := range []crm.List{
		{Name: "info", Title: "La lettre d'info", TitleEN: "The newsletter", Public: true,
			Description: "Une lettre par mois.", DescriptionEN: "One letter a month.",
			ConsentText: "J'accepte de recevoir la lettre d'info.", ConsentTextEN: "I agree to receive the newsletter."},
		{Name: "urgences", Title: "Alertes expulsions", TitleEN: "Eviction alerts", Public: true, DoubleOptIn: true,
			Description: "Quand une expulsion est annoncée.", DescriptionEN: "When an eviction is announced."},
		{Name: "presse", Title: "Contacts presse confidentiels", Kind: crm.KindPress},
	} {
		if err := w.db.CreateList(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	return w
}

// newBareWeb is newWeb without its lists.
func newBareWeb(t *testing.T, opts ...newsletter.HandlerOption) *web {
	t.Helper()
	e := newEnv(t)
	n := e.newsletter(t)
	opts = append([]newsletter.HandlerOption{newsletter.WithConfirmationSender(e.sender(t), "Asso <news@asso.example.org>")}, opts...)
	h, err := newsletter.NewHandler(n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/nl/", http.StripPrefix("/nl", h))
	w := &web{env: e, n: n, srv: httptest.NewServer(mux)}
	t.Cleanup(w.srv.Close)
	return w
}

// private is what no public page may show of the private list.
var private = []string{"presse", "Contacts presse confidentiels"}

func assertNoPrivateList(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range private {
		if strings.Contains(body, s) {
			t.Errorf("%s shows the private list (%q)", what, s)
		}
	}
}

func TestSignupFormPage(t *testing.T) {
	w := newFormWeb(t)
	for _, tt := range []struct {
		name, path, accept string
		want               []string
	}{
		{"French by default", "/nl/subscribe", "", []string{`<html lang="fr">`, "Solidarité Calais", "Restons en contact",
			"La lettre d&#39;info", "Une lettre par mois.", "J&#39;accepte de recevoir la lettre d&#39;info.",
			"Alertes expulsions", "Quand une expulsion est annoncée.",
			strings.ReplaceAll(newsletter.DefaultConsentText("fr", "Alertes expulsions"), "'", "&#39;"),
			"Présence sur le terrain", "Adresse e-mail", "Prénom", `href="?lang=en"`}},
		{"English from the browser", "/nl/subscribe", "en-GB,en;q=0.9", []string{`<html lang="en">`, "Stay in touch",
			"The newsletter", "One letter a month.", "I agree to receive the newsletter.", "Eviction alerts",
			"When an eviction is announced.", newsletter.DefaultConsentText("en", "Eviction alerts"), "Email address",
			"First name", `href="?lang=fr"`}},
		{"?lang= wins over the browser", "/nl/subscribe?lang=en", "fr-FR", []string{`<html lang="en">`, "Eviction alerts"}},
		{"?lang=fr", "/nl/subscribe?lang=fr", "en", []string{`<html lang="fr">`, "Alertes expulsions"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := w.do(t, "GET", tt.path, "", map[string]string{"Accept-Language": tt.accept})
			if code != 200 {
				t.Fatalf("%d\n%s", code, body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			if strings.Contains(body, "<script") || !strings.Contains(body, `action="subscribe"`) ||
				regexp.MustCompile(`type="checkbox"[^>]* checked`).MatchString(body) {
				t.Error("the page has a script, a box ticked or no action")
			}
			if !strings.Contains(body, `name="viewport"`) || !strings.Contains(body, `<label for="email">`) ||
				!strings.Contains(body, `<label for="list-urgences">`) || !strings.Contains(body, `name="website"`) {
				t.Error("the page lacks a viewport, a label or the honeypot")
			}
			assertNoPrivateList(t, "the form", body)
			// Every input a person fills has a label.
			for _, id := range regexp.MustCompile(`<input[^>]* id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `<label for="`+id[1]+`"`) {
					t.Errorf("no label for #%s", id[1])
				}
			}
		})
	}
	// ?lists= ticks the public lists it names; private or unknown names
	// are ignored and never shown.
	code, body := w.do(t, "GET", "/nl/subscribe?lists=urgences,presse,nope", "", nil)
	if code != 200 || !regexp.MustCompile(`value="urgences" checked>`).MatchString(body) || strings.Contains(body, `value="info" checked`) ||
		strings.Contains(body, "nope") {
		t.Errorf("?lists=urgences,presse,nope: %d\n%s", code, body)
	}
	assertNoPrivateList(t, "the form with ?lists=presse", body)
	if code, body := w.do(t, "GET", "/nl/subscribe?lists=info&lists=urgences&lang=en", "", nil); code != 200 ||
		!strings.Contains(body, `value="info" checked>`) || !strings.Contains(body, `value="urgences" checked>`) ||
		!strings.Contains(body, `href="?lang=fr&amp;lists=info&amp;lists=urgences"`) {
		t.Errorf("?lists= twice: %d\n%s", code, body)
	}
	// HEAD works and a GET changes nothing.
	if code, _ := w.do(t, "HEAD", "/nl/subscribe", "", nil); code != 200 {
		t.Errorf("HEAD: %d", code)
	}
	if n, _ := w.db.CountSupporters(context.Background(), crm.SupporterFilter{}); n != 0 {
		t.Errorf("%d supporters after GETs", n)
	}
}

func TestSignupFormWithoutPublicLists(t *testing.T) {
	w := newBareWeb(t)
	if err := w.db.CreateList(context.Background(), &crm.List{Name: "alertes", Title: "Alertes"}); err != nil { // private
		t.Fatal(err)
	}
	for _, lang := range []string{"fr", "en"} {
		code, body := w.do(t, "GET", "/nl/subscribe?lang="+lang, "", nil)
		want := map[string]string{"fr": "Aucune liste n&#39;est ouverte", "en": "No list is open"}[lang]
		if code != 200 || !strings.Contains(body, want) || strings.Contains(body, "<form") || strings.Contains(body, "alertes") {
			t.Errorf("%s: %d\n%s", lang, code, body)
		}
	}
}

func TestSignupThanksPage(t *testing.T) {
	for _, tt := range []struct {
		lang        string
		lists       []string
		emails      int
		want, never []string
	}{
		{"fr", []string{"info"}, 0, []string{"Vous êtes inscrit·e à : «\u00a0La lettre d&#39;info\u00a0».", "s&#39;était désinscrite"},
			[]string{"Vérifiez", "boîte mail"}},
		{"en", []string{"info"}, 0, []string{"You are subscribed to: “The newsletter”.", "had unsubscribed"},
			[]string{"Check your mailbox", "spam"}},
		{"fr", []string{"urgences"}, 1, []string{"Vérifiez votre boîte mail", "«\u00a0Alertes expulsions\u00a0»", "toutes les 15 minutes"},
			[]string{"Vous êtes inscrit·e"}},
		{"en", []string{"urgences"}, 1, []string{"Check your mailbox", "“Eviction alerts”", "every 15 minutes"},
			[]string{"You are subscribed"}},
		{"fr", []string{"info", "urgences"}, 1, []string{"Vous êtes inscrit·e à : «\u00a0La lettre d&#39;info\u00a0».",
			"Vérifiez votre boîte mail : un e-mail contient le lien qui confirme votre inscription à : «\u00a0Alertes expulsions\u00a0»."}, nil},
		{"en", []string{"urgences", "info"}, 1, []string{"You are subscribed to: “The newsletter”.",
			"Check your mailbox: an email holds the link that confirms your subscription to: “Eviction alerts”."}, nil},
	} {
		t.Run(tt.lang+" "+strings.Join(tt.lists, "+"), func(t *testing.T) {
			w := newFormWeb(t)
			form := url.Values{"email": {"lea@example.org"}, "language": {tt.lang}, "lists": tt.lists}
			code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
			if code != 200 || !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
				t.Fatalf("%d\n%s", code, body)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q\n%s", s, body)
				}
			}
			for _, s := range tt.never {
				if strings.Contains(body, s) {
					t.Errorf("the page says %q\n%s", s, body)
				}
			}
			// "Check your mailbox" is said exactly when an email went.
			if got := len(w.env.srv.Emails()); got != tt.emails {
				t.Errorf("%d confirmation emails, want %d", got, tt.emails)
			}
			assertNoPrivateList(t, "the thank-you page", body)
		})
	}
}

// TestSignupThanksSameForEveryAddress holds the rule of thanksFor: the
// thank-you page for the same lists is the same, byte for byte, whatever
// the database knew of the address, so nobody learns it by typing one.
func TestSignupThanksSameForEveryAddress(t *testing.T) {
	ctx := context.Background()
	w := newFormWeb(t, newsletter.WithSignupRate(1000))
	subscribe := func(email string, lists ...string) (int, string) {
		form := url.Values{"email": {email}, "language": {"fr"}, "lists": lists}
		return w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
	}
	// The states an address can be in.
	if _, body := subscribe("pending@example.org", "urgences"); !strings.Contains(body, "Vérifiez") {
		t.Fatal(body)
	}
	for _, email := range []string{"subscribed@example.org", "left@example.org", "bounced@example.org"} {
		s := &crm.Supporter{Email: email}
		if err := w.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"info", "urgences"} {
			if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: l, Confirmed: true,
				Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
				t.Fatal(err)
			}
		}
		switch email {
		case "left@example.org":
			if _, err := w.db.Unsubscribe(ctx, s.ID, "", crm.Consent{Source: crm.SourceCLI}); err != nil {
				t.Fatal(err)
			}
		case "bounced@example.org":
			if _, err := w.db.SetEmailStatus(ctx, s.ID, crm.EmailBounced, crm.Consent{Source: crm.SourceWebhook}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, lists := range [][]string{{"info"}, {"urgences"}, {"info", "urgences"}} {
		_, want := subscribe("new-"+strings.Join(lists, "-")+"@example.org", lists...)
		for _, email := range []string{"pending@example.org", "subscribed@example.org", "left@example.org", "bounced@example.org"} {
			code, body := subscribe(email, lists...)
			if code != 200 || body != want {
				t.Errorf("%v for %s: %d, and the page differs from a new address's:\n%s\n---\n%s", lists, email, code, body, want)
			}
		}
	}
}

func TestSignupFormShownAgain(t *testing.T) {
	w := newFormWeb(t)
	for _, tt := range []struct {
		lang string
		form url.Values
		want []string
	}{
		{"fr", url.Values{"email": {"lea@example.org"}, "first_name": {"Léa"}, "interests": {"terrain"}},
			[]string{"Cochez au moins une des listes ci-dessous.", `value="lea@example.org"`, `value="Léa"`, `value="terrain" checked>`, `<fieldset aria-invalid="true">`}},
		{"en", url.Values{"email": {"lea@example.org"}},
			[]string{"Tick at least one of the lists below.", `value="lea@example.org"`}},
		{"fr", url.Values{"email": {"pas une adresse"}, "lists": {"urgences"}},
			[]string{"Cette adresse e-mail n&#39;est pas valable", `value="pas une adresse"`, `aria-invalid="true"`, `value="urgences" checked>`}},
		{"en", url.Values{"email": {"nope"}, "lists": {"info"}},
			[]string{"This email address is not valid", `value="info" checked>`}},
	} {
		tt.form.Set("language", tt.lang)
		code, body := w.do(t, "POST", "/nl/subscribe", tt.form.Encode(), nil)
		if code != 400 || !strings.Contains(body, `<html lang="`+tt.lang+`">`) || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%v: %d\n%s", tt.form, code, body)
			continue
		}
		for _, s := range tt.want {
			if !strings.Contains(body, s) {
				t.Errorf("%v: the page lacks %q", tt.form, s)
			}
		}
		assertNoPrivateList(t, "the form shown again", body)
	}
	// A private list posted is refused as an unknown one, and the form
	// shown again names it nowhere.
	for _, name := range []string{"presse", "nope"} {
		form := url.Values{"email": {"lea@example.org"}, "lists": {name}}
		code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
		if code != 400 || !strings.Contains(body, "Cochez au moins une des listes ci-dessous.") {
			t.Errorf("a signup to %s: %d\n%s", name, code, body)
		}
		assertNoPrivateList(t, "the answer to a signup naming a private list", body)
	}
	// JSON callers keep their API.
	code, body := w.do(t, "POST", "/nl/subscribe", `{"email":"x@example.org"}`, map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("JSON: %d %s", code, body)
	}
}

func TestSignupRedirect(t *testing.T) {
	ctx := context.Background()
	w := newFormWeb(t, newsletter.WithSignupRate(1000))
	post := func(form url.Values) *http.Response {
		t.Helper()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.PostForm(w.srv.URL+"/nl/subscribe", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	form := url.Values{"email": {"a@example.org"}, "lists": {"info", "urgences"}, "thanks": {"site"}}
	// Without the setting, the snippet's POST lands on the thank-you page.
	if resp := post(form); resp.StatusCode != 200 {
		t.Errorf("no signup-redirect: %d", resp.StatusCode)
	}
	if err := w.db.SetSetting(ctx, "signup-redirect", "https://asso.example.org/merci?from=site#top"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lists []string
		want  string
	}{
		{[]string{"info", "urgences"}, "both"}, {[]string{"urgences"}, "confirm"}, {[]string{"info"}, "subscribed"},
	} {
		form := url.Values{"email": {"b@example.org"}, "lists": tt.lists, "thanks": {"site"}}
		resp := post(form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://asso.example.org/merci?from=site&signup="+tt.want+"#top" {
			t.Errorf("%v: %d %q", tt.lists, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A bot's POST (the honeypot filled) goes the same way.
	bot := url.Values{"email": {"c@example.org"}, "lists": {"info"}, "thanks": {"site"}, "website": {"spam"}}
	if resp := post(bot); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "signup=subscribed#top") {
		t.Errorf("bot: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The hosted form does not redirect, and a request never names the
	// target: whatever "thanks" says, only the stored page is used.
	for _, thanks := range []string{"", "https://evil.example.net/", "//evil.example.net"} {
		form := url.Values{"email": {"d@example.org"}, "lists": {"info"}, "thanks": {thanks}, "redirect": {"https://evil.example.net/"}}
		if resp := post(form); resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
			t.Errorf("thanks=%q: %d %q", thanks, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A refused value shows the form again, keeping the snippet's field,
	// with a form-action that lets the browser follow the redirect.
	code, body := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"e@example.org"}, "thanks": {"site"}}.Encode(), nil)
	if code != 400 || !strings.Contains(body, `name="thanks" value="site"`) {
		t.Errorf("refused snippet POST: %d\n%s", code, body)
	}
	req, _ := http.NewRequest("POST", w.srv.URL+"/nl/subscribe", strings.NewReader(url.Values{"email": {"e@example.org"}, "thanks": {"site"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://asso.example.org") {
		t.Errorf("CSP of the form shown again: %q", csp)
	}
	// The hosted form's own refusal keeps form-action 'self' alone.
	code, body = w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"e@example.org"}}.Encode(), nil)
	if code != 400 || strings.Contains(body, `name="thanks"`) {
		t.Errorf("refused hosted POST: %d\n%s", code, body)
	}
}

func TestSignupSnippet(t *testing.T) {
	ctx := context.Background()
	w := newFormWeb(t)
	var b strings.Builder
	if err := w.n.WriteSignupSnippet(ctx, &b, newsletter.SnippetOptions{}); err != nil {
		t.Fatal(err)
	}
	fr := b.String()
	for _, s := range []string{`<form action="https://asso.example.org/nl/subscribe" method="post"`, `lang="fr"`,
		`name="thanks" value="site"`, `for="crm-email"`, `id="crm-list-info"`, `id="crm-list-urgences"`,
		"J&#39;accepte de recevoir la lettre d&#39;info.", `name="website"`, "Présence sur le terrain"} {
		if !strings.Contains(fr, s) {
			t.Errorf("the snippet lacks %q", s)
		}
	}
	for _, s := range []string{"<script", "<style", "<link", `type="checkbox" checked`, "class="} {
		if strings.Contains(fr, s) {
			t.Errorf("the snippet has %q", s)
		}
	}
	assertNoPrivateList(t, "the snippet", fr)
	b.Reset()
	if err := w.n.WriteSignupSnippet(ctx, &b, newsletter.SnippetOptions{Lists: []string{"urgences"}, Language: "en"}); err != nil {
		t.Fatal(err)
	}
	if en := b.String(); !strings.Contains(en, `lang="en"`) || !strings.Contains(en, "Eviction alerts") || strings.Contains(en, "The newsletter") ||
		!strings.Contains(en, newsletter.DefaultConsentText("en", "Eviction alerts")) {
		t.Errorf("--lists urgences --lang en:\n%s", en)
	}
	for _, tt := range []struct {
		o     newsletter.SnippetOptions
		field string
		want  string
	}{
		{newsletter.SnippetOptions{Lists: []string{"presse"}}, "lists", "private"},
		{newsletter.SnippetOptions{Lists: []string{"info", "nope"}}, "lists", "the public lists are info, urgences"},
		{newsletter.SnippetOptions{Language: "de"}, "language", "fr or en"},
	} {
		var ve *crm.ValidationError
		if err := w.n.WriteSignupSnippet(ctx, &b, tt.o); !errors.As(err, &ve) || ve.Field != tt.field || !strings.Contains(ve.Reason, tt.want) {
			t.Errorf("%+v: %v", tt.o, err)
		}
	}
	// Without a public URL there is nowhere to post.
	n, err := newsletter.New(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteSignupSnippet(ctx, &b, newsletter.SnippetOptions{}); !errors.Is(err, newsletter.ErrNoPublicURL) {
		t.Errorf("no public URL: %v", err)
	}
}

// TestSignupSnippetPostsToTheForm posts what the snippet's form holds to
// the handler, as a browser would from the association's site.
func TestSignupSnippetPostsToTheForm(t *testing.T) {
	w := newFormWeb(t)
	var b strings.Builder
	if err := w.n.WriteSignupSnippet(context.Background(), &b, newsletter.SnippetOptions{Language: "en"}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"email": {"sam@example.org"}, "lists": {"info"}, "language": {"en"}, "thanks": {"site"}, "website": {""}}
	for _, name := range []string{"email", "lists", "language", "thanks", "website", "first_name", "interests"} {
		if !strings.Contains(b.String(), `name="`+name+`"`) {
			t.Errorf("the snippet has no field %q", name)
		}
	}
	code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), map[string]string{"Origin": "https://asso.example.org"})
	if code != 200 || !strings.Contains(body, "You are subscribed to: “The newsletter”.") || w.status(t, "sam@example.org", "info") != crm.StatusSubscribed {
		t.Errorf("%d\n%s", code, body)
	}
}

func TestTrustedProxies(t *testing.T) {
	ctx := context.Background()
	// The test server's peer address is 127.0.0.1.
	for _, tt := range []struct {
		name    string
		trusted []string
		xff     []string
		want    string
	}{
		{"no proxy trusted: headers ignored", nil, []string{"203.0.113.7"}, "127.0.0.1"},
		{"peer not trusted: headers ignored", []string{"10.0.0.0/8"}, []string{"203.0.113.7"}, "127.0.0.1"},
		{"trusted peer: the client", []string{"127.0.0.1/32"}, []string{"203.0.113.7"}, "203.0.113.7"},
		{"the rightmost untrusted hop, not a spoofed left one", []string{"127.0.0.1"}, []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"trusted hops are skipped", []string{"127.0.0.0/8", "10.0.0.0/8"}, []string{"198.51.100.1, 203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"headers repeated", []string{"127.0.0.1/32"}, []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"IPv6 client", []string{"127.0.0.1/32"}, []string{"2001:db8::1"}, "2001:db8::1"},
		{"garbage: the proxy", []string{"127.0.0.1/32"}, []string{"203.0.113.7, not-an-ip"}, "127.0.0.1"},
		{"no header: the proxy", []string{"127.0.0.1/32"}, nil, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newFormWeb(t, newsletter.WithRecordIP(true), newsletter.WithTrustedProxies(tt.trusted...))
			req, _ := http.NewRequest("POST", w.srv.URL+"/nl/subscribe", strings.NewReader(url.Values{"email": {"a@example.org"}, "lists": {"info"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			hist, err := w.db.ConsentHistory(ctx, mustID(t, w.db, "a@example.org"))
			if err != nil || len(hist) != 1 || hist[0].IP != tt.want {
				t.Errorf("recorded %+v (%v), want IP %s", hist, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"nope", "10.0.0.0/33", "", "0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96"} {
		if _, err := newsletter.NewHandler(newEnv(t).newsletter(t), newsletter.WithTrustedProxies(bad)); !errors.Is(err, crm.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Every address a proxy would let the client choose its own.
	if _, err := newsletter.ParseTrustedProxies("127.0.0.1/32", "0.0.0.0/0"); err == nil || !strings.Contains(err.Error(), "anyone could choose") {
		t.Errorf("0.0.0.0/0: %v", err)
	}
	ps, err := newsletter.ParseTrustedProxies("10.1.2.3/8", "::ffff:127.0.0.1")
	if err != nil || len(ps) != 2 || ps[0].String() != "10.0.0.0/8" || ps[1].String() != "127.0.0.1/32" {
		t.Errorf("ParseTrustedProxies = %v, %v", ps, err)
	}
}

// TestTrustedProxiesRateLimit: behind a trusted proxy each client has its
// own limit; a client that writes X-Forwarded-For itself, without a
// trusted proxy, still shares the limit of its own address.
func TestTrustedProxiesRateLimit(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		opts := []newsletter.HandlerOption{newsletter.WithSignupRate(1)}
		if trusted {
			opts = append(opts, newsletter.WithTrustedProxies("127.0.0.1/32"))
		}
		w := newFormWeb(t, opts...)
		codes := ""
		for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.1"} {
			form := url.Values{"email": {"r" + string(rune('a'+i)) + "@example.org"}, "lists": {"info"}}
			code, _ := w.do(t, "POST", "/nl/subscribe", form.Encode(), map[string]string{"X-Forwarded-For": xff})
			codes += http.StatusText(code)[:2] + " "
		}
		want := map[bool]string{true: "OK OK To ", false: "OK To To "}[trusted]
		if codes != want {
			t.Errorf("trusted %v: %q, want %q", trusted, codes, want)
		}
	}
}

func TestTrustedProxiesScheme(t *testing.T) {
	for _, tt := range []struct {
		trusted []string
		proto   string
		want    string
	}{
		{[]string{"192.0.2.1/32"}, "https", "https"},
		{[]string{"192.0.2.1/32"}, "http, https", "https"},
		{[]string{"192.0.2.1/32"}, "gopher", ""},
		{[]string{"10.0.0.0/8"}, "https", ""},
		{nil, "https", ""},
	} {
		r := httptest.NewRequest("GET", "/subscribe", nil)
		r.RemoteAddr = "192.0.2.1:4242"
		r.Header.Set("X-Forwarded-Proto", tt.proto)
		r.Header.Set("X-Forwarded-For", "203.0.113.5")
		got := newsletter.FromProxy(t, tt.trusted, r)
		if got.URL.Scheme != tt.want {
			t.Errorf("%v %q: scheme %q, want %q", tt.trusted, tt.proto, got.URL.Scheme, tt.want)
		}
		if wantIP := map[bool]string{true: "203.0.113.5", false: "192.0.2.1:4242"}[tt.want != "" || tt.proto == "gopher"]; got.RemoteAddr != wantIP {
			t.Errorf("%v: RemoteAddr %q, want %q", tt.trusted, got.RemoteAddr, wantIP)
		}
	}
}
