package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// findChromium returns Debian's chromium, or "" when it is not installed.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowserSignupConfirmUnsubscribe drives a real headless Chromium
// through the association's form, the confirmation link captured from the
// fake Resend, and the unsubscribe page, then does the RFC 8058 one-click
// POST a mail client would. It saves a screenshot of each page in
// $CRM_SCREENSHOTS (default: a folder in the system's temporary folder).
func TestBrowserSignupConfirmUnsubscribe(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		t.Skip("chromium is not installed (apt-get install chromium): the browser test is skipped")
	}
	shots := os.Getenv("CRM_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "crm-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := crm.Open(ctx, filepath.Join(t.TempDir(), "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fake := resendtest.NewServer(resendtest.Options{})
	defer fake.Close()
	sender, err := newsletter.NewResendSender(resendtest.APIKey, newsletter.WithBaseURL(fake.BaseURL()), newsletter.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	site, err := newSite(ctx, db, public, sender)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: site}}
	srv.Start()
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 1000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	alloc, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	browser, cancel = context.WithTimeout(browser, 90*time.Second)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// heading waits for the page after a navigation or a form post and
	// returns its h1; while the old page goes away, queries can fail.
	heading := func(previous string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			title, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("h1")))
			if err == nil && title != previous {
				return title
			}
			if time.Now().After(deadline) {
				t.Fatalf("no new page after %q: %v", previous, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	must(chromedp.Do(browser,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "amina@example.org"),
		chromedp.SendKeys(chromedp.CSS("#first_name"), "Amina"),
		chromedp.Click(chromedp.CSS(`input[value="alertes"]`)),
		chromedp.Click(chromedp.CSS(`input[value="terrain"]`)),
	))
	shot("1-signup-form.png")
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	if title := heading("Rejoins-nous"); title != "Merci\u00a0!" {
		t.Fatalf("after signup the page says %q", title)
	}
	shot("2-signup-thanks.png")
	emails := fake.Emails()
	if len(emails) != 1 {
		t.Fatalf("%d confirmation emails", len(emails))
	}
	link := regexp.MustCompile(regexp.QuoteMeta(public) + `/newsletter/confirm\?token=[A-Za-z0-9_-]+`).FindString(emails[0].Text)
	if link == "" {
		t.Fatalf("no confirmation link in %q", emails[0].Text)
	}
	// The link shows a page with one button (mail scanners open links
	// without confirming anything); the button confirms.
	must(chromedp.Do(browser, chromedp.Navigate(link)))
	if title := heading("Merci\u00a0!"); title != "Confirmer mon inscription" {
		t.Fatalf("confirmation link's page says %q", title)
	}
	shot("3-confirm-page.png")
	if p, _ := db.GetProfile(ctx, "amina@example.org"); p.Subscriptions[0].List != "alertes" || p.Subscriptions[0].Status != crm.StatusPending {
		t.Fatalf("opening the link changed the subscription: %+v", p.Subscriptions)
	}
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	if title := heading("Confirmer mon inscription"); title != "Inscription confirmée" {
		t.Fatalf("confirmation page says %q", title)
	}
	shot("4-confirmed.png")
	p, _ := db.GetProfile(ctx, "amina@example.org")
	status := map[string]crm.SubscriptionStatus{}
	for _, s := range p.Subscriptions {
		status[s.List] = s.Status
	}
	if status["alertes"] != crm.StatusSubscribed || status["lettre"] != crm.StatusSubscribed {
		t.Fatalf("subscriptions after confirming: %v", status)
	}

	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL(public+"/newsletter"))
	if err != nil {
		t.Fatal(err)
	}
	alertes, _ := db.GetList(ctx, "alertes")
	lettre, _ := db.GetList(ctx, "lettre")
	must(chromedp.Do(browser, chromedp.Navigate(n.UnsubscribeURL(p.Supporter.ID, alertes.ID))))
	if title := heading("Inscription confirmée"); title != "Se désinscrire" {
		t.Fatalf("unsubscribe page says %q", title)
	}
	shot("5-unsubscribe-page.png")
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	title := heading("Se désinscrire")
	shot("6-unsubscribed.png")
	if !strings.Contains(title, "désinscrit") {
		t.Fatalf("unsubscribe page says %q", title)
	}
	// A mail client's one-click unsubscribe (RFC 8058): a bare POST.
	resp, err := http.Post(n.UnsubscribeURL(p.Supporter.ID, lettre.ID), "application/x-www-form-urlencoded",
		strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", resp, err)
	}
	p, _ = db.GetProfile(ctx, "amina@example.org")
	for _, s := range p.Subscriptions {
		if s.Status != crm.StatusUnsubscribed {
			t.Errorf("still %s to %s", s.Status, s.List)
		}
	}
	t.Logf("screenshots in %s", shots)
}
