package newsletter_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
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
