// Command send-from-go shows the library used from Go: it imports the
// sample supporters CSV into a new database, creates a campaign for a
// segment and sends it to an outbox folder of .eml files.
//
// Run it from the repository root:
//
//	go run ./examples/send-from-go
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

func main() {
	data := flag.String("data", filepath.Join("examples", "data"), "folder with supporters.csv and the templates")
	out := flag.String("out", "send-from-go-demo", "folder for the database and the outbox")
	flag.Parse()
	if err := run(context.Background(), *data, *out, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, data, out string, w io.Writer) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	db, err := crm.Open(ctx, filepath.Join(out, "crm.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	if err := db.CreateList(ctx, &crm.List{Name: "alertes", Title: "Alertes expulsions", Kind: crm.KindAlerts}); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(data, "supporters.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := db.ImportSupporters(ctx, f, crm.ImportOptions{FileName: "supporters.csv", List: "alertes",
		Consent: "Inscription papier aux alertes"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "imported %d supporters (%d rejected)\n", rep.Created, rep.Rejected)

	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL("https://asso.example.org/newsletter"))
	if err != nil {
		return err
	}
	var templates []newsletter.TemplateSource
	for _, t := range []struct{ lang, file string }{{"fr", "lettre.fr.md"}, {"en", "letter.en.md"}} {
		src, err := os.ReadFile(filepath.Join(data, t.file))
		if err != nil {
			return err
		}
		templates = append(templates, newsletter.TemplateSource{Language: t.lang, Source: string(src)})
	}
	if _, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{
		Name: "expulsion-demain", List: "alertes", From: "Solidarité Calais <alertes@asso.example.org>",
		Segment:   "interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse",
		Templates: templates,
	}); err != nil {
		return err
	}
	outbox := &newsletter.Outbox{Dir: filepath.Join(out, "outbox")}
	sent, err := n.Send(ctx, "expulsion-demain", outbox, newsletter.SendOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sent %d messages to %s\n", sent.Sent, outbox.Dir)
	return nil
}
