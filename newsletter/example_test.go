package newsletter_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// A campaign to the volunteers of one city, in French and English, sent
// to a folder of .eml files. Sending again sends nothing.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "newsletter-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Kind: crm.KindAlerts}); err != nil {
		log.Fatal(err)
	}
	sheet := "email;prénom;ville;langue;intérêts\n" +
		"amina@example.org;Amina;Calais;fr;terrain\n" +
		"tom@example.org;Tom;Calais;en;terrain\n" +
		"jo@example.org;Jo;Liège;fr;hébergement\n"
	if _, err := db.ImportSupporters(ctx, strings.NewReader(sheet), crm.ImportOptions{
		List: "alertes", Consent: "Formulaire papier"}); err != nil {
		log.Fatal(err)
	}

	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/newsletter"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = n.CreateCampaign(ctx, newsletter.CampaignSpec{
		Name: "demain", List: "alertes", Segment: "interest:terrain AND city:calais",
		From: "Asso <alertes@asso.example.org>",
		Templates: []newsletter.TemplateSource{
			{Language: "fr", Source: "---\nsubject: Demain à {{.City}}\n---\nBonjour {{.FirstName}} !"},
			{Language: "en", Source: "---\nsubject: Tomorrow in {{.City}}\n---\nHello {{.FirstName}}!"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	outbox := &newsletter.Outbox{Dir: filepath.Join(dir, "outbox")}
	for range 2 {
		rep, err := n.Send(ctx, "demain", outbox, newsletter.SendOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("sent %d, already done: %v\n", rep.Sent, rep.AlreadyDone)
	}
	st, _ := n.CampaignStats(ctx, "demain")
	fmt.Println(st.Campaign.Status, st.ByLanguage["fr"], st.ByLanguage["en"])
	// Output:
	// sent 2, already done: false
	// sent 0, already done: true
	// sent 1 1
}

// Sending through Resend, here to the fake API of package resendtest: the
// real client, pointed at it, sends one batch; a second Send finds the
// campaign done and sends nothing.
func ExampleNewsletter_Send() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "newsletter-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ImportSupporters(ctx, strings.NewReader("email\namina@example.org\ntom@example.org\n"),
		crm.ImportOptions{List: "lettre", Consent: "Formulaire papier"}); err != nil {
		log.Fatal(err)
	}
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/newsletter"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "decembre", List: "lettre",
		From: "Asso <lettre@asso.example.org>",
		Templates: []newsletter.TemplateSource{{Language: "fr",
			Source: "---\nsubject: La lettre de décembre\n---\nBonjour !"}}}); err != nil {
		log.Fatal(err)
	}

	api := resendtest.NewServer(resendtest.Options{})
	defer api.Close()
	sender, err := newsletter.NewResendSender(resendtest.APIKey, newsletter.WithBaseURL(api.BaseURL()))
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		rep, err := n.Send(ctx, "decembre", sender, newsletter.SendOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("sent %d, already done: %v\n", rep.Sent, rep.AlreadyDone)
	}
	for _, e := range api.Emails() {
		fmt.Println(e.To[0], e.Subject, e.Headers["List-Unsubscribe-Post"])
	}
	// Unordered output:
	// sent 2, already done: false
	// sent 0, already done: true
	// amina@example.org La lettre de décembre List-Unsubscribe=One-Click
	// tom@example.org La lettre de décembre List-Unsubscribe=One-Click
}

// The signup, confirmation, unsubscribe and preference pages and the
// webhook, mounted under /newsletter/ of a site. A signup to a double
// opt-in list sends the confirmation email (here to a folder) and answers
// the same page whether the address was known or not.
func ExampleNewHandler() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "newsletter-example")
	defer os.RemoveAll(dir)
	db, err := crm.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Title: "Alertes expulsions", DoubleOptIn: true, Public: true}); err != nil {
		log.Fatal(err)
	}
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/newsletter"))
	if err != nil {
		log.Fatal(err)
	}
	outbox := &newsletter.Outbox{Dir: filepath.Join(dir, "outbox")}
	h, err := newsletter.NewHandler(n, newsletter.WithConfirmationSender(outbox, "Asso <alertes@asso.example.org>"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/newsletter/", http.StripPrefix("/newsletter", h))
	site := httptest.NewServer(mux)
	defer site.Close()

	resp, err := http.PostForm(site.URL+"/newsletter/subscribe",
		url.Values{"email": {"amina@example.org"}, "lists": {"alertes"}, "language": {"fr"}})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	sent, _ := filepath.Glob(filepath.Join(outbox.Dir, "*.eml"))
	s, _ := db.GetSupporterByEmail(ctx, "amina@example.org")
	subs, _ := db.Subscriptions(ctx, s.ID)
	fmt.Println(resp.StatusCode, len(sent), subs[0].Status)
	// Output:
	// 200 1 pending
}
