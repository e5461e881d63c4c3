package newsletter_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// path turns a link of the newsletter into a path on the test server.
func path(link string) string { return strings.TrimPrefix(link, "https://asso.example.org") }

// footprint is what a request to a page could change about a supporter.
func (w *web) footprint(t *testing.T, id int64) string {
	t.Helper()
	ctx := context.Background()
	s, err := w.db.GetSupporter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	subs, _ := w.db.Subscriptions(ctx, id)
	hist, _ := w.db.ConsentHistory(ctx, id)
	log, _ := w.db.AuditLog(ctx, crm.AuditFilter{})
	return fmt.Sprintf("%s %s %v %v %d events %d audit", s.Email, s.Language, s.Interests, subs, len(hist), len(log))
}

// Every link of an erased supporter answers one generic 410 page, in
// the browser's language, shows no placeholder and changes nothing.
func TestErasedSupporterLinksAreDead(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	form := url.Values{"email": {"gone@example.org"}, "language": {"en"}, "lists": {"lettre", "alertes"}}
	if code, _ := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
		t.Fatalf("signup: %d", code)
	}
	confirm := path(linkRE.FindString(w.env.srv.Emails()[0].Text))
	s, _ := w.db.GetSupporterByEmail(ctx, "gone@example.org")
	links := []string{
		path(w.n.UnsubscribeURL(s.ID, listID(t, w.db, "lettre"))),
		path(w.n.UnsubscribeURL(s.ID, 0)),
		path(w.n.PreferencesURL(s.ID)),
		confirm,
	}
	if _, err := w.n.Forget(ctx, "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	before := w.footprint(t, s.ID)
	prefs := url.Values{"lists": {"lettre", "alertes"}, "language": {"fr"}, "interests": {"terrain"}}.Encode()
	for _, link := range links {
		for _, method := range []string{"GET", "POST"} {
			for _, lang := range []string{"fr", "en"} {
				code, body := w.do(t, method, link, prefs, map[string]string{"Accept-Language": lang})
				want := map[string]string{"fr": "Lien inactif", "en": "Inactive link"}[lang]
				if code != http.StatusGone || !strings.Contains(body, want) {
					t.Errorf("%s %s (%s): %d\n%s", method, link, lang, code, body)
				}
				if strings.Contains(body, crm.ErasedDomain) || strings.Contains(body, "supporter-") {
					t.Errorf("%s %s shows the placeholder", method, link)
				}
			}
		}
	}
	if after := w.footprint(t, s.ID); after != before {
		t.Errorf("dead links changed the erased row:\nbefore %s\nafter  %s", before, after)
	}
}

// GET and HEAD /confirm change nothing (mail scanners open every link);
// the page's button POSTs and confirms; the audit log says "erasure
// lifted" only for someone whose erasure was lifted.
func TestConfirmLinkNeedsThePost(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	form := url.Values{"email": {"scan@example.org"}, "lists": {"alertes"}}
	w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
	link := path(linkRE.FindString(w.env.srv.Emails()[0].Text))
	id := mustID(t, w.db, "scan@example.org")
	before := w.footprint(t, id)
	for _, method := range []string{"GET", "HEAD", "GET"} {
		if code, _ := w.do(t, method, link, "", nil); code != 200 {
			t.Errorf("%s: %d", method, code)
		}
	}
	if after := w.footprint(t, id); after != before || w.status(t, "scan@example.org", "alertes") != crm.StatusPending {
		t.Fatalf("opening the link changed something:\nbefore %s\nafter  %s", before, after)
	}
	code, body := w.do(t, "POST", link, "", nil)
	if code != 200 || !strings.Contains(body, "Inscription confirmée") || w.status(t, "scan@example.org", "alertes") != crm.StatusSubscribed {
		t.Fatalf("POST: %d %s", code, body)
	}
	if n := countAudit(t, w.db, "erasure lifted (fresh consent)"); n != 0 {
		t.Errorf("%d \"erasure lifted\" entries for someone never erased", n)
	}

	// Someone erased comes back through the form: their confirmation
	// lifts the erasure, once.
	if _, err := w.n.Forget(ctx, "scan@example.org"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour)
	w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
	emails := w.env.srv.Emails()
	link = path(linkRE.FindString(emails[len(emails)-1].Text))
	if code, _ := w.do(t, "POST", link, "", nil); code != 200 {
		t.Fatalf("confirm after erasure: %d", code)
	}
	if n := countAudit(t, w.db, "erasure lifted (fresh consent)"); n != 1 {
		t.Errorf("%d \"erasure lifted\" entries, want 1", n)
	}
}

func countAudit(t *testing.T, db *crm.DB, action string) int {
	t.Helper()
	log, err := db.AuditLog(context.Background(), crm.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n
}

// Tokens signed with the real key but naming nothing sensible get a 4xx
// page, never a panic or a 500.
func TestMalformedSignedTokens(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "m@example.org"}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	sign := func(p newsletter.Purpose, supporter, list int64, expires time.Time) string {
		return newsletter.SignerOf(w.n).Sign(newsletter.Token{Purpose: p, SupporterID: supporter, ListID: list, Expires: expires})
	}
	tokens := map[string]string{
		"/nl/confirm":      sign(newsletter.PurposeConfirm, s.ID, 0, exp),
		"/nl/confirm?":     sign(newsletter.PurposeConfirm, 0, listID(t, w.db, "alertes"), exp),
		"/nl/confirm?x":    sign(newsletter.PurposeConfirm, s.ID, 9999, exp),
		"/nl/confirm?y":    sign(newsletter.PurposeConfirm, 1<<40, 1, exp),
		"/nl/unsubscribe":  sign(newsletter.PurposeUnsubscribe, 9999, 0, time.Time{}),
		"/nl/unsubscribe?": sign(newsletter.PurposeUnsubscribe, s.ID, 9999, time.Time{}),
		"/nl/preferences":  sign(newsletter.PurposePreferences, s.ID, 7, time.Time{}),
		"/nl/preferences?": sign(newsletter.PurposePreferences, 0, 0, time.Time{}),
	}
	for p, token := range tokens {
		p = strings.TrimRight(strings.TrimRight(p, "xy"), "?")
		for _, method := range []string{"GET", "POST"} {
			code, body := w.do(t, method, p+"?token="+token, "", nil)
			if code < 400 || code >= 500 || !strings.Contains(body, "<h1>") {
				t.Errorf("%s %s with a malformed token: %d\n%s", method, p, code, body)
			}
		}
	}
}

// A repeated signup mails a pending address at most once per interval,
// whatever lists are asked; list names are deduplicated and capped.
func TestConfirmationEmailThrottle(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if err := w.db.CreateList(ctx, &crm.List{Name: "communiques", Title: "Communiqués", DoubleOptIn: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	signup := func(lists ...string) int {
		code, _ := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"bomb@example.org"}, "lists": lists}.Encode(), nil)
		return code
	}
	// 4,000 repeats of one list: one list in one short email.
	if code := signup(slicesRepeat("alertes", 4000)...); code != 200 {
		t.Fatalf("repeated list: %d", code)
	}
	emails := w.env.srv.Emails()
	if len(emails) != 1 || strings.Count(emails[0].Subject, "Alertes") != 1 || len(linkRE.FindAllString(emails[0].Text, -1)) != 1 {
		t.Fatalf("emails after repeats: %d, subject %q", len(emails), emails[0].Subject)
	}
	for _, lists := range [][]string{{"alertes"}, {"communiques"}, {"alertes", "communiques", "lettre"}} {
		w.clock.Advance(4 * time.Minute)
		if code := signup(lists...); code != 200 {
			t.Fatalf("signup %v: %d", lists, code)
		}
	}
	if n := len(w.env.srv.Emails()); n != 1 {
		t.Errorf("%d confirmation emails within 15 minutes, want 1", n)
	}
	if w.status(t, "bomb@example.org", "communiques") != crm.StatusPending {
		t.Error("a deferred confirmation lost the list asked")
	}
	w.clock.Advance(4 * time.Minute) // 16 minutes after the first
	signup("communiques")
	emails = w.env.srv.Emails()
	if len(emails) != 2 || !strings.Contains(emails[1].Subject, "Communiqués") {
		t.Errorf("after the interval: %d emails", len(emails))
	}

	// Too many distinct lists, each of which exists: a clear 400, in HTML
	// and JSON, and nothing asked.
	many := make([]string, newsletter.MaxSignupLists+1)
	for i := range many {
		many[i] = "liste-" + strconv.Itoa(i)
		if err := w.db.CreateList(context.Background(), &crm.List{Name: many[i], Public: true}); err != nil {
			t.Fatal(err)
		}
	}
	if code := signup(many...); code != 400 {
		t.Errorf("%d lists: %d", len(many), code)
	}
	if st := w.status(t, "bomb@example.org", many[0]); st != "" {
		t.Errorf("a refused signup still asked for %s: %s", many[0], st)
	}
	code, body := w.do(t, "POST", "/nl/subscribe", `{"email":"j@example.org","lists":["`+strings.Join(many, `","`)+`"]}`,
		map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(body, "more than 20 lists") {
		t.Errorf("JSON with too many lists: %d %s", code, body)
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// The interval is the handler's option.
func TestConfirmationIntervalOption(t *testing.T) {
	if _, err := newsletter.NewHandler(nil, newsletter.WithConfirmationInterval(0)); err == nil {
		t.Error("a zero interval was accepted")
	}
	w := newWeb(t, newsletter.WithConfirmationInterval(time.Hour))
	for i := 0; i < 3; i++ {
		w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"h@example.org"}, "lists": {"alertes"}}.Encode(), nil)
		w.clock.Advance(20 * time.Minute)
	}
	if n := len(w.env.srv.Emails()); n != 1 {
		t.Errorf("%d emails in 60 minutes with a one-hour interval", n)
	}
	w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"h@example.org"}, "lists": {"alertes"}}.Encode(), nil)
	if n := len(w.env.srv.Emails()); n != 2 {
		t.Errorf("%d emails after an hour", n)
	}
}

// The consent text recorded is the server's, never the client's.
func TestSignupRecordsTheServersConsentText(t *testing.T) {
	const shown = "J'accepte de recevoir les messages de l'association. Je peux me désinscrire à tout moment."
	w := newWeb(t, newsletter.WithConsentTexts(shown))
	ctx := context.Background()
	for email, posted := range map[string]string{
		"forged@example.org":     "Je m'appelle Odile Varenne et j'habite 3 impasse des Mûriers " + strings.Repeat("x", 30000),
		"registered@example.org": "  J'accepte de recevoir les messages de l'association.\n Je peux me désinscrire  à tout moment. ",
		"none@example.org":       "",
	} {
		form := url.Values{"email": {email}, "lists": {"lettre"}, "consent": {posted}}
		if code, _ := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
			t.Fatalf("%s: %d", email, code)
		}
		hist, _ := w.db.ConsentHistory(ctx, mustID(t, w.db, email))
		want := newsletter.DefaultConsentText("fr", "La lettre")
		if email == "registered@example.org" {
			want = shown
		}
		if len(hist) != 1 || hist[0].ConsentText != want {
			t.Errorf("%s: consent history %+v, want text %q", email, hist, want)
		}
	}
}

// POST /preferences changes nothing when any value is refused, and the
// 400 page is in the supporter's language.
func TestPreferencesAllOrNothing(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "en@example.org", Language: "en", Interests: []crm.SupporterInterest{{Interest: "terrain"}}}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	prefs := path(w.n.PreferencesURL(s.ID))
	before := w.footprint(t, s.ID)
	for _, form := range []url.Values{
		{"lists": {"alertes"}, "language": {"not a language!"}, "interests": {"traduction"}},
		{"lists": {"alertes"}, "language": {"fr"}, "interests": {"traduction", "no-such-interest"}},
		{"lists": {"alertes", "no-such-list"}, "language": {"fr"}},
	} {
		code, body := w.do(t, "POST", prefs, form.Encode(), map[string]string{"Accept-Language": "fr"})
		if code != 400 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Nothing was saved") {
			t.Errorf("%v: %d\n%s", form, code, body)
		}
		if after := w.footprint(t, s.ID); after != before {
			t.Fatalf("a refused form changed something:\nbefore %s\nafter  %s", before, after)
		}
	}
	// A good form still saves everything.
	form := url.Values{"lists": {"alertes"}, "language": {"fr"}, "interests": {"traduction"}}
	if code, body := w.do(t, "POST", prefs, form.Encode(), nil); code != 200 || !strings.Contains(body, "Vos préférences sont enregistrées") {
		t.Fatalf("good form: %d\n%s", code, body)
	}
	if w.status(t, "en@example.org", "alertes") != crm.StatusSubscribed || w.status(t, "en@example.org", "lettre") != crm.StatusUnsubscribed {
		t.Error("lists not applied")
	}
}

// lockedBuffer is a log destination the handler's goroutines and the
// test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The webhook secret is trimmed; a refused signature is logged, without
// the body.
func TestWebhookSecretTrimmedAndRefusalLogged(t *testing.T) {
	if _, err := newsletter.NewHandler(nil, newsletter.WithWebhookSecret(" \n")); err == nil {
		t.Error("a blank secret was accepted")
	}
	var logs lockedBuffer
	w := newWeb(t, newsletter.WithWebhookSecret("  "+webhookSecret+"\n"))
	newsletter.SetLogger(w.n, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	b := &crm.Supporter{Email: "bounce-me@example.org"}
	if err := w.db.CreateSupporter(ctx, b); err != nil {
		t.Fatal(err)
	}
	payload := `{"type":"email.bounced","data":{"email_id":"x1","to":["bounce-me@example.org"],"bounce":{"type":"Permanent"}}}`
	post := func(id, sig string) int {
		now := time.Now().Unix()
		if sig == "" {
			sig = sign(t, id, now, payload)
		}
		code, _ := w.do(t, "POST", "/nl/webhooks/resend", payload, map[string]string{"Content-Type": "application/json",
			"svix-id": id, "svix-timestamp": strconv.FormatInt(now, 10), "svix-signature": sig})
		return code
	}
	if code := post("msg_bad", "v1,d3Jvbmc="); code != 401 {
		t.Errorf("bad signature: %d", code)
	}
	if l := logs.String(); !strings.Contains(l, "bad signature") || !strings.Contains(l, "msg_bad") || strings.Contains(l, "bounce-me") {
		t.Errorf("log after a refused webhook: %q", l)
	}
	if code := post("msg_good", ""); code != 200 {
		t.Errorf("signed with the trimmed secret: %d", code)
	}
	if s, _ := w.db.GetSupporter(ctx, b.ID); s.EmailStatus != crm.EmailBounced {
		t.Errorf("status %s", s.EmailStatus)
	}
}

// A confirmation link of a list deleted since says so in the person's
// language, with a 410, and changes nothing, even when a new list took
// the name.
func TestConfirmLinkOfADeletedList(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	for _, lang := range []string{"fr", "en"} {
		form := url.Values{"email": {lang + "@example.org"}, "language": {lang}, "lists": {"alertes"}}
		if code, _ := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
			t.Fatalf("signup: %d", code)
		}
	}
	emails := w.env.srv.Emails()
	if len(emails) != 2 {
		t.Fatalf("%d confirmation emails", len(emails))
	}
	if _, err := w.n.DeleteList(ctx, "alertes", crm.DeleteListOptions{EndSubscriptions: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.db.CreateList(ctx, &crm.List{Name: "alertes", DoubleOptIn: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"Cette liste n'existe plus", "This list no longer exists"} {
		s, _ := w.db.GetSupporterByEmail(ctx, []string{"fr", "en"}[i]+"@example.org")
		before := w.footprint(t, s.ID)
		link := path(linkRE.FindString(emails[i].Text))
		for _, method := range []string{"GET", "POST"} {
			code, body := w.do(t, method, link, "", nil)
			if code != http.StatusGone || !strings.Contains(html.UnescapeString(body), want) {
				t.Errorf("%s %s: %d, want 410 and %q:\n%s", method, link, code, want, body)
			}
		}
		if after := w.footprint(t, s.ID); after != before {
			t.Errorf("the link changed something:\n%s\n%s", before, after)
		}
	}
}
