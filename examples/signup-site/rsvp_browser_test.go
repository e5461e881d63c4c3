package main

import (
	"context"
	"encoding/json"
	"html"
	"net/http/httptest"
	"os"
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

// TestBrowserRSVP answers an event from the link of an email, in a
// headless Chromium: the link opens the event with one button (and
// records nothing), the button records the answer and the page shows it
// with the places left; a full event puts the next person on the waiting
// list. Every page is checked with axe-core (serious and critical
// violations fail) and saved as a screenshot in $CRM_SCREENSHOTS; then
// the public events page, in French and English.
//
// The links come from real invitations (CreateInvitation, sent by the
// campaign engine through the fake Resend), read back from what the fake
// received, as a person would click them in their mailbox.
func TestBrowserRSVP(t *testing.T) {
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
	db, err := crm.Open(ctx, filepath.Join(t.TempDir(), "rsvp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	// Tomorrow at 7:30 in Paris, as an eviction call would be.
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	y, m, d := time.Now().In(paris).AddDate(0, 0, 1).Date()
	start := time.Date(y, m, d, 7, 30, 0, 0, paris)
	eviction := &crm.Event{Name: "expulsion-lilas", Title: "Expulsion rue des Lilas", TitleEN: "Eviction on rue des Lilas",
		Description: "Rendez-vous devant le n° 12, 15 minutes avant.\nApportez du café et des thermos.",
		Address:     "12 rue des Lilas", City: "Calais", Postcode: "62100", Capacity: 3, Kind: crm.KindAction,
		StartsAt: start, EndsAt: start.Add(2 * time.Hour)}
	meeting := &crm.Event{Name: "reunion", Title: "Réunion de préparation", TitleEN: "Preparation meeting", Capacity: 1,
		Address: "Maison des associations", City: "Calais", Public: true, StartsAt: start.Add(36 * time.Hour)}
	for _, e := range []*crm.Event{eviction, meeting} {
		if err := db.CreateEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	amina := &crm.Supporter{Email: "amina@example.org", FirstName: "Amina", Language: "fr"}
	sam := &crm.Supporter{Email: "sam@example.org", FirstName: "Sam", Language: "en"}
	for _, s := range []*crm.Supporter{amina, sam} {
		if err := db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
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

	// The invitations: one campaign per event to the list alertes, sent
	// by the campaign engine through the fake Resend; each person's "yes"
	// link is read back from the email the fake received.
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Title: "Alertes", Kind: crm.KindAlerts}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*crm.Supporter{amina, sam} {
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "alertes",
			Consent: crm.Consent{Source: crm.SourceCLI, Text: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	const callFR = "---\nsubject: \"Appel : {{.Event.Title}}\"\n---\nQui peut venir, {{.Event.When}} ?\n\n[Oui, je viens]({{.RSVPYes}})\n"
	const callEN = "---\nsubject: \"Call: {{.Event.Title}}\"\n---\nWho can come, {{.Event.When}}?\n\n[Yes, I'm coming]({{.RSVPYes}})\n"
	links := map[string]string{} // email + " " + event → the "yes" link
	for _, e := range []*crm.Event{eviction, meeting} {
		c, err := n.CreateInvitation(ctx, newsletter.CampaignSpec{Event: e.Name, List: "alertes",
			From:      "Solidarité Calais <bonjour@asso.example.org>",
			Templates: []newsletter.TemplateSource{{Language: "fr", Source: callFR}, {Language: "en", Source: callEN}}})
		if err != nil {
			t.Fatal(err)
		}
		before := len(fake.Emails())
		if _, err := n.Send(ctx, c.Name, sender, newsletter.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, m := range fake.Emails()[before:] {
			link := regexp.MustCompile(`href="([^"]*/rsvp\?[^"]*answer=yes)"`).FindStringSubmatch(m.HTML)
			if link == nil {
				t.Fatalf("no answer link in the invitation to %s: %s", m.To[0], m.HTML)
			}
			links[m.To[0]+" "+e.Name] = html.UnescapeString(link[1])
		}
	}
	invite := func(s *crm.Supporter, e *crm.Event) string {
		t.Helper()
		link, ok := links[s.Email+" "+e.Name]
		if !ok {
			t.Fatalf("no invitation to %s for %s", s.Email, e.Name)
		}
		return link
	}

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
	check := func(what string) {
		t.Helper()
		page, err := chromedp.Run(browser, chromedp.OuterHTML(chromedp.CSS("html")))
		must(err)
		if strings.Contains(page, "<script") {
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
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(sel)))
		must(err)
		return s
	}
	buttons := func() int {
		t.Helper()
		count, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("button").length`))
		must(err)
		return count
	}
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	desktop := chromedp.EmulateViewport(1280, 900)

	// Amina opens the link of her email: the event and one button.
	link := invite(amina, eviction)
	must(chromedp.Do(browser, desktop, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`))))
	if title := text("h1"); title != "Expulsion rue des Lilas" {
		t.Errorf("the link's page is titled %q", title)
	}
	if b, label := buttons(), text("button"); b != 1 || label != "Oui, je viens" {
		t.Errorf("%d buttons, the first %q; want one, Oui, je viens", b, label)
	}
	if details := text("dl"); !strings.Contains(details, "7\u00a0h\u00a030") || !strings.Contains(details, "3 places restantes") ||
		!strings.Contains(details, "12 rue des Lilas, 62100 Calais") {
		t.Errorf("the event's details: %q", details)
	}
	check("the answer page")
	shot("rsvp-fr-desktop.png")
	must(chromedp.Do(browser, phone))
	check("the answer page on a phone")
	wide, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	must(err)
	if wide {
		t.Error("the answer page is wider than a phone's screen")
	}
	shot("rsvp-fr-phone.png")
	if r, err := db.GetRSVP(ctx, eviction.ID, amina.ID); r != nil || err != nil {
		t.Fatalf("opening the link recorded %+v, %v", r, err)
	}

	// Yes, with one person: recorded, and the page says so with the
	// place left.
	must(chromedp.Do(browser, desktop, chromedp.SetValue(chromedp.CSS("#guests"), "1"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.status`))))
	if done := text("p.status"); done != "C'est noté : vous venez avec 1 personne. Merci !" {
		t.Errorf("after yes the page says %q", done)
	}
	if details := text("dl"); !strings.Contains(details, "1 place restante") {
		t.Errorf("after yes the details say %q", details)
	}
	check("the page after the answer")
	shot("rsvp-fr-answered.png")
	r, err := db.GetRSVP(ctx, eviction.ID, amina.ID)
	if err != nil || !r.Coming() || r.Guests != 1 || r.Source != "web" {
		t.Fatalf("recorded %+v, %v", r, err)
	}

	// Sam, in English, takes the meeting's only place; Amina's yes then
	// goes on the waiting list.
	must(chromedp.Do(browser, chromedp.Navigate(invite(sam, meeting)), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`p.status`))))
	if done := text("p.status"); done != "Noted: you are coming. Thank you!" {
		t.Errorf("Sam's answer: %q", done)
	}
	must(chromedp.Do(browser, chromedp.Navigate(invite(amina, meeting)), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`))))
	if label, notice := text("button"), text("p.notice"); label != "M'inscrire sur la liste d'attente" || !strings.HasPrefix(notice, "Complet") {
		t.Errorf("the full meeting: button %q, notice %q", label, notice)
	}
	check("the page of a full event")
	shot("rsvp-fr-full.png")
	must(chromedp.Do(browser, chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(`p.status`))))
	if done := text("p.status"); !strings.Contains(done, "liste d'attente, en position 1.") {
		t.Errorf("on the waiting list: %q", done)
	}
	check("the waiting list page")
	shot("rsvp-fr-waiting.png")

	// The public events page: the meeting only (the eviction call is not
	// public).
	for _, lang := range []string{"fr", "en"} {
		must(chromedp.Do(browser, chromedp.Navigate(srv.URL+"/events?lang="+lang), chromedp.WaitVisible(chromedp.CSS("h1"))))
		body := text("main")
		if !strings.Contains(body, map[string]string{"fr": "Réunion de préparation", "en": "Preparation meeting"}[lang]) ||
			strings.Contains(body, "Lilas") {
			t.Errorf("the %s events page says %q", lang, body)
		}
		check("the " + lang + " events page")
		shot("events-" + lang + ".png")
	}
	t.Logf("screenshots in %s", shots)
}
