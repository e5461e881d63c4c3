package newsletter_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

const webhookSecret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="

type web struct {
	*env
	n   *newsletter.Newsletter
	srv *httptest.Server
}

func newWeb(t *testing.T, opts ...newsletter.HandlerOption) *web {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	for _, l := range []crm.List{{Name: "lettre", Title: "La lettre", Public: true},
		{Name: "alertes", Title: "Alertes expulsions", DoubleOptIn: true, Public: true}} {
		if err := e.db.CreateList(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	n := e.newsletter(t)
	opts = append([]newsletter.HandlerOption{newsletter.WithConfirmationSender(e.sender(t), "Asso <news@asso.example.org>"),
		newsletter.WithWebhookSecret(webhookSecret)}, opts...)
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

func (w *web) do(t *testing.T, method, path string, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost && header["Content-Type"] == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *web) status(t *testing.T, email, list string) crm.SubscriptionStatus {
	t.Helper()
	p, err := w.db.GetProfile(context.Background(), email)
	if err != nil {
		return ""
	}
	for _, s := range p.Subscriptions {
		if s.List == list {
			return s.Status
		}
	}
	return ""
}

var linkRE = regexp.MustCompile(`https://asso\.example\.org/nl/[a-z]+\?token=[A-Za-z0-9_-]+`)

func TestSignupConfirmUnsubscribe(t *testing.T) {
	w := newWeb(t)
	form := url.Values{"email": {"Lea@Example.org"}, "first_name": {"Léa"}, "language": {"fr"},
		"lists": {"lettre", "alertes"}, "interests": {"terrain"}, "consent": {"Je veux recevoir la lettre et les alertes"}}
	code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
	if code != 200 || !strings.Contains(body, "Merci") || !strings.Contains(body, `<html lang="fr">`) {
		t.Fatalf("signup: %d\n%s", code, body)
	}
	if w.status(t, "lea@example.org", "lettre") != crm.StatusSubscribed || w.status(t, "lea@example.org", "alertes") != crm.StatusPending {
		t.Fatalf("statuses after signup: %s %s", w.status(t, "lea@example.org", "lettre"), w.status(t, "lea@example.org", "alertes"))
	}
	emails := w.env.srv.Emails()
	if len(emails) != 1 || !strings.Contains(emails[0].Subject, "Confirmez votre inscription : Alertes expulsions") {
		t.Fatalf("confirmation emails: %+v", emails)
	}
	confirm := linkRE.FindString(emails[0].Text)
	if !strings.Contains(confirm, "/nl/confirm?token=") || !strings.Contains(emails[0].HTML, confirm) {
		t.Fatalf("no confirm link in %q", emails[0].Text)
	}
	path := strings.TrimPrefix(confirm, "https://asso.example.org")

	// Tampered and expired links get a clear 4xx page.
	if code, body := w.do(t, "GET", path[:len(path)-3]+"AAA", "", nil); code != 400 || !strings.Contains(body, "Lien invalide") {
		t.Errorf("tampered confirm: %d", code)
	}
	// The link opens a page with one button (mail scanners open links);
	// the button's POST confirms.
	code, body = w.do(t, "GET", path, "", nil)
	if code != 200 || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, "Je confirme mon inscription") ||
		w.status(t, "lea@example.org", "alertes") != crm.StatusPending {
		t.Fatalf("confirm page: %d %s", code, body)
	}
	code, body = w.do(t, "POST", path, "", nil)
	if code != 200 || !strings.Contains(body, "Inscription confirmée") || w.status(t, "lea@example.org", "alertes") != crm.StatusSubscribed {
		t.Fatalf("confirm: %d %s", code, body)
	}
	// The posted consent text is not one the site registered: the
	// package's own text for the list is recorded.
	hist, _ := w.db.ConsentHistory(context.Background(), mustID(t, w.db, "lea@example.org"))
	if len(hist) != 3 || hist[0].ConsentText != newsletter.DefaultConsentText("fr", "La lettre") || hist[2].Action != crm.ActionConfirm || hist[2].IP != "" {
		t.Errorf("consent history = %+v", hist)
	}
	s, _ := w.db.GetSupporterByEmail(context.Background(), "lea@example.org")
	if s.FirstName != "Léa" || len(s.Interests) != 1 || s.Source != "web" {
		t.Errorf("supporter = %+v", s)
	}

	// Unsubscribe: a page with one button, then the POST.
	unsub := strings.TrimPrefix(w.n.UnsubscribeURL(s.ID, listID(t, w.db, "alertes")), "https://asso.example.org")
	code, body = w.do(t, "GET", unsub, "", nil)
	if code != 200 || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, "Me désinscrire") ||
		w.status(t, "lea@example.org", "alertes") != crm.StatusSubscribed {
		t.Fatalf("unsubscribe page: %d\n%s", code, body)
	}
	if strings.Contains(body, "<script") {
		t.Error("the page has JavaScript")
	}
	code, body = w.do(t, "POST", unsub, "", nil)
	if code != 200 || !strings.Contains(body, "désinscrit") || w.status(t, "lea@example.org", "alertes") != crm.StatusUnsubscribed {
		t.Fatalf("unsubscribe: %d", code)
	}
	if w.status(t, "lea@example.org", "lettre") != crm.StatusSubscribed {
		t.Error("unsubscribing from one list left another")
	}
	// The confirm link no longer confirms anything.
	if code, _ := w.do(t, "GET", path, "", nil); code != 409 {
		t.Errorf("confirm after unsubscribe: %d, want 409", code)
	}
}

func mustID(t *testing.T, db *crm.DB, email string) int64 {
	t.Helper()
	id, err := db.SupporterID(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func listID(t *testing.T, db *crm.DB, name string) int64 {
	t.Helper()
	l, err := db.GetList(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// RFC 8058: a POST with List-Unsubscribe=One-Click, no cookie, answers 200.
func TestOneClickUnsubscribe(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "jo@example.org", Language: "en"}
	w.db.CreateSupporter(ctx, s)
	w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	unsub := strings.TrimPrefix(w.n.UnsubscribeURL(s.ID, listID(t, w.db, "lettre")), "https://asso.example.org")
	for i := 0; i < 2; i++ { // the second click changes nothing and still succeeds
		code, body := w.do(t, "POST", unsub, "List-Unsubscribe=One-Click", nil)
		if code != 200 || !strings.Contains(body, "You are unsubscribed") {
			t.Fatalf("one-click %d: %d\n%s", i, code, body)
		}
	}
	if w.status(t, "jo@example.org", "lettre") != crm.StatusUnsubscribed {
		t.Error("still subscribed")
	}
	hist, _ := w.db.ConsentHistory(ctx, s.ID)
	if len(hist) != 2 || hist[1].Source != "web" || hist[1].Action != "unsubscribe" {
		t.Errorf("history %+v", hist)
	}
}

func TestSignupGivesNothingAway(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	known := &crm.Supporter{Email: "known@example.org", FirstName: "Original"}
	w.db.CreateSupporter(ctx, known)
	answers := map[string]string{}
	for _, email := range []string{"known@example.org", "new@example.org"} {
		form := url.Values{"email": {email}, "first_name": {"Changed"}, "lists": {"lettre"}, "consent": {"oui"}}
		code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil)
		if code != 200 {
			t.Fatalf("%s: %d", email, code)
		}
		answers[email] = body
	}
	if answers["known@example.org"] != answers["new@example.org"] {
		t.Error("known and unknown addresses get different answers")
	}
	s, _ := w.db.GetSupporterByEmail(ctx, "known@example.org")
	if s.FirstName != "Original" {
		t.Error("a web signup changed an existing supporter's name")
	}
	// JSON too, and the honeypot: a bot gets the same answer and nothing is stored.
	code, body := w.do(t, "POST", "/nl/subscribe", `{"email":"bot@example.org","lists":["lettre"],"website":"http://spam"}`,
		map[string]string{"Content-Type": "application/json"})
	if code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("honeypot: %d %s", code, body)
	}
	if _, err := w.db.GetSupporterByEmail(ctx, "bot@example.org"); err == nil {
		t.Error("the honeypot signup was stored")
	}
	code, body = w.do(t, "POST", "/nl/subscribe", `{"email":"not-an-address","lists":["lettre"]}`, map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(body, "invalid address") {
		t.Errorf("bad address: %d %s", code, body)
	}
	code, _ = w.do(t, "POST", "/nl/subscribe", url.Values{"email": {"a@example.org"}, "lists": {"nope"}}.Encode(), nil)
	if code != 400 {
		t.Errorf("unknown list: %d", code)
	}
	code, _ = w.do(t, "POST", "/nl/subscribe", "email="+strings.Repeat("a", 100<<10), nil)
	if code != 400 {
		t.Errorf("oversized body: %d", code)
	}
}

func TestSignupRateLimit(t *testing.T) {
	w := newWeb(t, newsletter.WithSignupRate(3))
	codes := []int{}
	for i := 0; i < 5; i++ {
		code, _ := w.do(t, "POST", "/nl/subscribe", url.Values{"email": {fmt.Sprintf("p%d@example.org", i)}, "lists": {"lettre"}}.Encode(), nil)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Errorf("codes = %v", codes)
	}
}

func TestPreferences(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "p@example.org", Interests: []crm.SupporterInterest{{Interest: "terrain"}}}
	w.db.CreateSupporter(ctx, s)
	w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	prefs := strings.TrimPrefix(w.n.PreferencesURL(s.ID), "https://asso.example.org")
	code, body := w.do(t, "GET", prefs, "", nil)
	if code != 200 || !strings.Contains(body, `value="lettre" checked`) || !strings.Contains(body, `value="terrain" checked`) ||
		!strings.Contains(body, `value="alertes">`) {
		t.Fatalf("preferences page: %d\n%s", code, body)
	}
	form := url.Values{"lists": {"alertes"}, "language": {"en"}, "interests": {"traduction", "transport"}}
	code, body = w.do(t, "POST", prefs, form.Encode(), nil)
	if code != 200 || !strings.Contains(body, "Your preferences are saved") {
		t.Fatalf("save: %d\n%s", code, body)
	}
	got, _ := w.db.GetSupporter(ctx, s.ID)
	if got.Language != "en" || len(got.Interests) != 2 || got.Interests[0].Interest != "traduction" {
		t.Errorf("after save: %+v", got)
	}
	if w.status(t, "p@example.org", "lettre") != crm.StatusUnsubscribed || w.status(t, "p@example.org", "alertes") != crm.StatusSubscribed {
		t.Error("lists not applied")
	}
	if code, _ := w.do(t, "GET", "/nl/preferences?token=nope", "", nil); code != 400 {
		t.Errorf("bad token: %d", code)
	}
	// An unsubscribe token is not a preferences token.
	unsub := w.n.UnsubscribeURL(s.ID, 0)
	token := unsub[strings.Index(unsub, "token=")+6:]
	if code, _ := w.do(t, "GET", "/nl/preferences?token="+token, "", nil); code != 400 {
		t.Errorf("token of another purpose: %d", code)
	}
}

func TestExpiredConfirmation(t *testing.T) {
	w := newWeb(t)
	form := url.Values{"email": {"late@example.org"}, "lists": {"alertes"}, "consent": {"oui"}}
	w.do(t, "POST", "/nl/subscribe", form.Encode(), map[string]string{"Accept-Language": "en-GB,en;q=0.9"})
	emails := w.env.srv.Emails()
	if len(emails) != 1 {
		t.Fatalf("%d emails", len(emails))
	}
	w.clock.Advance(8 * 24 * time.Hour)
	path := strings.TrimPrefix(linkRE.FindString(emails[0].Text), "https://asso.example.org")
	code, body := w.do(t, "GET", path, "", map[string]string{"Accept-Language": "en"})
	if code != 410 || !strings.Contains(body, "Expired link") {
		t.Errorf("expired: %d\n%s", code, body)
	}
}

func sign(t *testing.T, id string, ts int64, payload string) string {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(webhookSecret, "whsec_"))
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, payload)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestWebhooks(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	for _, e := range []string{"b@example.org", "c@example.org", "d@example.org"} {
		s := &crm.Supporter{Email: e}
		w.db.CreateSupporter(ctx, s)
		w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: crm.Consent{Source: "cli"}})
	}
	post := func(id, payload string, signed bool) (int, string) {
		now := time.Now().Unix()
		sig := "v1,bad"
		if signed {
			sig = sign(t, id, now, payload)
		}
		return w.do(t, "POST", "/nl/webhooks/resend", payload, map[string]string{"Content-Type": "application/json",
			"svix-id": id, "svix-timestamp": strconv.FormatInt(now, 10), "svix-signature": sig})
	}
	bounce := `{"type":"email.bounced","data":{"email_id":"x1","to":["b@example.org"],"bounce":{"type":"Permanent","subType":"General","message":"550"}}}`
	if code, _ := post("msg_1", bounce, false); code != 401 {
		t.Errorf("bad signature: %d", code)
	}
	if s, _ := w.db.GetSupporterByEmail(ctx, "b@example.org"); s.EmailStatus != crm.EmailOK {
		t.Fatal("an unsigned webhook changed data")
	}
	if code, body := post("msg_1", bounce, true); code != 200 || !strings.Contains(body, "applied") {
		t.Fatalf("bounce: %d %s", code, body)
	}
	if code, body := post("msg_1", bounce, true); code != 200 || !strings.Contains(body, "replayed") {
		t.Errorf("replay: %d %s", code, body)
	}
	complaint := `{"type":"email.complained","data":{"email_id":"x2","to":["c@example.org"]}}`
	post("msg_2", complaint, true)
	transient := `{"type":"email.bounced","data":{"email_id":"x3","to":["d@example.org"],"bounce":{"type":"Transient"}}}`
	if _, body := post("msg_3", transient, true); !strings.Contains(body, "ignored") {
		t.Errorf("transient bounce: %s", body)
	}
	if _, body := post("msg_4", `{"type":"email.opened","data":{"email_id":"x4","to":["d@example.org"]}}`, true); !strings.Contains(body, "ignored") {
		t.Errorf("unknown event: %s", body)
	}
	if code, _ := post("msg_5", `{not json`, true); code != 400 {
		t.Errorf("bad JSON: %d", code)
	}
	if code, _ := post("msg_6", `{"type":"email.bounced","data":{"pad":"`+strings.Repeat("x", 70<<10)+`"}}`, true); code != 413 {
		t.Errorf("oversized webhook: %d", code)
	}
	b, _ := w.db.GetSupporterByEmail(ctx, "b@example.org")
	c, _ := w.db.GetSupporterByEmail(ctx, "c@example.org")
	d, _ := w.db.GetSupporterByEmail(ctx, "d@example.org")
	if b.EmailStatus != crm.EmailBounced || c.EmailStatus != crm.EmailComplained || d.EmailStatus != crm.EmailOK {
		t.Errorf("statuses %s %s %s", b.EmailStatus, c.EmailStatus, d.EmailStatus)
	}
	if w.status(t, "c@example.org", "lettre") != crm.StatusUnsubscribed || w.status(t, "b@example.org", "lettre") != crm.StatusSubscribed {
		t.Error("a complaint must unsubscribe from every list, a bounce only suppresses")
	}
	hist, _ := w.db.ConsentHistory(ctx, b.ID)
	if len(hist) != 2 || hist[1].Source != "webhook" {
		t.Errorf("history %+v", hist)
	}
}

// Signing up to two lists that need confirmation sends one email with a
// link for each.
func TestOneConfirmationEmailForSeveralLists(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if err := w.db.CreateList(ctx, &crm.List{Name: "communiques", Title: "Communiqués", DoubleOptIn: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"email": {"two@example.org"}, "lists": {"alertes", "communiques"}, "consent": {"oui"}}
	if code, _ := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
		t.Fatalf("signup: %d", code)
	}
	emails := w.env.srv.Emails()
	if len(emails) != 1 || !strings.Contains(emails[0].Subject, "Alertes expulsions, Communiqués") {
		t.Fatalf("emails: %+v", emails)
	}
	links := linkRE.FindAllString(emails[0].Text, -1)
	if len(links) != 2 {
		t.Fatalf("links: %v", links)
	}
	for _, l := range links {
		if code, _ := w.do(t, "POST", strings.TrimPrefix(l, "https://asso.example.org"), "", nil); code != 200 {
			t.Fatalf("confirm %s: %d", l, code)
		}
	}
	if w.status(t, "two@example.org", "alertes") != crm.StatusSubscribed || w.status(t, "two@example.org", "communiques") != crm.StatusSubscribed {
		t.Error("both lists should be confirmed")
	}
}
