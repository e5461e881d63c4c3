package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// axeScript returns axe-core's axe.min.js: $CRM_AXE_JS, else where .ci/run
// installs it (npm install --prefix .ci/node axe-core), else "" with the
// reason.
func axeScript() (string, string) {
	path := os.Getenv("CRM_AXE_JS")
	if path == "" {
		path = filepath.Join("..", "..", ".ci", "node", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "axe-core is not installed (" + path + ": run npm install --prefix .ci/node axe-core, " +
			"or set CRM_AXE_JS to an axe.min.js): the accessibility check is skipped"
	}
	return string(b), ""
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// TestBrowserHostedForm loads the hosted signup form (GET /subscribe) in a
// headless Chromium, in French and in English, on a desktop and a phone
// viewport, checks it with axe-core (serious and critical violations
// fail the test; the others are logged), and saves screenshots in
// $CRM_SCREENSHOTS. Then it signs up with two lists and two interests,
// and checks the thank-you page the same way; the form shown again for a
// missing list too. No page shows the private list.
func TestBrowserHostedForm(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		t.Skip("chromium is not installed (apt-get install chromium): the browser test is skipped")
	}
	axe, why := axeScript()
	if axe == "" {
		t.Skip(why)
	}
	shots := os.Getenv("CRM_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "crm-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := crm.Open(ctx, filepath.Join(t.TempDir(), "form.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, l := range []crm.List{
		{Name: "lettre", Title: "La lettre mensuelle", TitleEN: "The monthly letter", Public: true,
			Description:   "Une lettre par mois : nos actions, nos besoins, nos rendez-vous.",
			DescriptionEN: "One letter a month: what we do, what we need, where to meet."},
		{Name: "alertes", Title: "Alertes expulsions", TitleEN: "Eviction alerts", Kind: crm.KindAlerts, DoubleOptIn: true, Public: true,
			Description:   "Un message quand une expulsion est annoncée, pour venir en soutien.",
			DescriptionEN: "A message when an eviction is announced, to come and support.",
			ConsentText:   "J'accepte de recevoir les alertes expulsions par e-mail, à tout moment du jour. Je peux me désinscrire quand je veux.",
			ConsentTextEN: "I agree to receive eviction alerts by email, at any time of day. I can unsubscribe whenever I want."},
		{Name: "presse", Title: "Contacts presse", Kind: crm.KindPress},
	} {
		if err := db.CreateList(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	nl, err := newsletter.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := nl.SetListTemplates(ctx, "alertes", newsletter.NoticeWelcome, []newsletter.ListTemplate{
		{Language: "fr", Source: newsletter.DefaultWelcome("fr")}, {Language: "en", Source: newsletter.DefaultWelcome("en")}}); err != nil {
		t.Fatal(err)
	}
	fake := resendtest.NewServer(resendtest.Options{})
	defer fake.Close()
	sender, err := newsletter.NewResendSender(resendtest.APIKey, newsletter.WithBaseURL(fake.BaseURL()), newsletter.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("http://"+srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newsletter.NewHandler(n, newsletter.WithConfirmationSender(sender, "Solidarité Calais <bonjour@asso.example.org>"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	alloc, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	browser, cancel = context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		must(err)
		must(os.WriteFile(filepath.Join(shots, name), png, 0o644))
	}
	// check runs axe-core on the page shown and looks for the private
	// list in its HTML.
	check := func(what string) {
		t.Helper()
		html, err := chromedp.Run(browser, chromedp.OuterHTML(chromedp.CSS("html")))
		must(err)
		if strings.Contains(html, "presse") || strings.Contains(html, "Contacts presse") {
			t.Errorf("%s shows the private list", what)
		}
		if strings.Contains(html, "<script") {
			t.Errorf("%s has a script", what)
		}
		must(chromedp.Do(browser, chromedp.Evaluate[chromedp.Void](axe)))
		raw, err := chromedp.Run(browser, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
			JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.map(n => n.target.join(" "))}))))`, chromedp.EvalAwaitPromise))
		must(err)
		var found []axeViolation
		must(json.Unmarshal([]byte(raw), &found))
		for _, v := range found {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: axe %s violation %s: %s, at %v", what, v.Impact, v.ID, v.Help, v.Nodes)
			} else {
				t.Logf("%s: axe %s violation %s: %s, at %v", what, v.Impact, v.ID, v.Help, v.Nodes)
			}
		}
	}
	// heading is the page's h1, "" while a page goes and the next comes.
	heading := func() string {
		title, _ := chromedp.Run(browser, chromedp.Text(chromedp.CSS("h1")))
		return title
	}
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	desktop := chromedp.EmulateViewport(1280, 900)

	for _, lang := range []string{"fr", "en"} {
		must(chromedp.Do(browser, desktop, chromedp.Navigate(srv.URL+"/subscribe?lang="+lang+"&lists=alertes,presse"),
			chromedp.WaitVisible(chromedp.CSS("#email"))))
		check("the " + lang + " form on a desktop")
		shot("form-" + lang + "-desktop.png")
		must(chromedp.Do(browser, phone, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#email"))))
		check("the " + lang + " form on a phone")
		// Nothing wider than the phone's screen: no sideways scrolling.
		wide, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		must(err)
		if wide {
			t.Errorf("the %s form is wider than a phone's screen", lang)
		}
		shot("form-" + lang + "-phone.png")
	}
	// ?lists=alertes ticked the alerts (in English, the last page loaded).
	ticked, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.querySelector("#list-alertes").checked && !document.querySelector("#list-lettre").checked`))
	must(err)
	if !ticked {
		t.Error("?lists=alertes did not tick the alerts alone")
	}

	// Sent without a list: the form comes back with the message.
	must(chromedp.Do(browser, desktop, chromedp.Navigate(srv.URL+"/subscribe?lang=fr"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "amina@example.org"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".error"))))
	check("the form shown again")
	shot("form-again-desktop.png")
	// Two lists and two interests.
	must(chromedp.Do(browser,
		chromedp.SendKeys(chromedp.CSS("#first_name"), "Amina"),
		chromedp.Click(chromedp.CSS("#list-lettre")),
		chromedp.Click(chromedp.CSS("#list-alertes")),
		chromedp.Click(chromedp.CSS("#interest-terrain")),
		chromedp.Click(chromedp.CSS("#interest-hebergement")),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	deadline := time.Now().Add(20 * time.Second)
	for heading() != "Merci\u00a0!" {
		if time.Now().After(deadline) {
			t.Fatalf("after the signup the page says %q", heading())
		}
		time.Sleep(100 * time.Millisecond)
	}
	check("the thank-you page")
	shot("thanks-desktop.png")
	must(chromedp.Do(browser, phone))
	shot("thanks-phone.png")
	text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("main")))
	must(err)
	if !strings.Contains(text, "Vous êtes inscrit·e à : «\u00a0La lettre mensuelle\u00a0».") || !strings.Contains(text, "Vérifiez votre boîte mail") {
		t.Errorf("the thank-you page says %q", text)
	}
	emails := fake.Emails()
	if len(emails) != 1 || !strings.Contains(emails[0].Subject, "Alertes expulsions") {
		t.Fatalf("confirmation emails: %d", len(emails))
	}
	s, err := db.GetSupporterByEmail(ctx, "amina@example.org")
	if err != nil || s.FirstName != "Amina" || len(s.Interests) != 2 {
		t.Errorf("supporter %+v, %v", s, err)
	}

	// The confirmation link: a page with a button, and the welcome of the
	// alerts (the list with one) once the button is pressed.
	confirm := linkIn(t, emails[0].Text, "/confirm?token=")
	must(chromedp.Do(browser, desktop, chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`))))
	check("the confirm page")
	if len(fake.Emails()) != 1 {
		t.Fatal("opening the confirmation link sent an email")
	}
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	for deadline := time.Now().Add(20 * time.Second); len(fake.Emails()) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no welcome email after the confirmation")
		}
	}
	check("the confirmed page")
	emails = fake.Emails()
	if len(emails) != 2 || emails[1].Subject != "Bienvenue : Alertes expulsions" || emails[1].To[0] != "amina@example.org" {
		t.Fatalf("after the confirmation: %+v", emails[1:])
	}
	// Preferences, from the welcome's link: no private list; leave the
	// letter.
	must(chromedp.Do(browser, chromedp.Navigate(linkIn(t, emails[1].Text, "/preferences?token=")),
		chromedp.WaitVisible(chromedp.CSS(`input[value="lettre"]`))))
	check("the preferences page")
	shot("preferences-desktop.png")
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`input[value="lettre"]`)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`))))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p, err := db.GetProfile(ctx, "amina@example.org")
		must(err)
		states := map[string]crm.SubscriptionStatus{}
		for _, sub := range p.Subscriptions {
			states[sub.List] = sub.Status
		}
		if states["lettre"] == crm.StatusUnsubscribed && states["alertes"] == crm.StatusSubscribed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after saving the preferences: %v", states)
		}
	}
	if n := len(fake.Emails()); n != 2 {
		t.Errorf("%d emails in all, want the confirmation and one welcome", n)
	}
	t.Logf("screenshots in %s", shots)
}

// linkIn returns the link of an email's text that contains part.
func linkIn(t *testing.T, text, part string) string {
	t.Helper()
	for _, f := range strings.Fields(text) {
		if strings.Contains(f, part) {
			return strings.Trim(f, "<>()")
		}
	}
	t.Fatalf("no %s link in %q", part, text)
	return ""
}
