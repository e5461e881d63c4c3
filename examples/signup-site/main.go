// Command signup-site is an association's small website with its own
// signup form ("Rejoins-nous"), embedding the newsletter handler for
// confirmation, unsubscribe and preference pages. Confirmation emails go
// to an outbox folder, or through Resend when RESEND_API_KEY is set.
//
// Run it from the repository root, then open http://127.0.0.1:8081:
//
//	go run ./examples/signup-site
package main

import (
	"context"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	dbPath := flag.String("db", "signup-site.db", "SQLite database")
	outbox := flag.String("outbox", "signup-site-outbox", "folder for confirmation emails when RESEND_API_KEY is not set")
	flag.Parse()
	ctx := context.Background()
	db, err := crm.Open(ctx, *dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	h, err := newSite(ctx, db, "http://"+*addr, senderFor(*outbox))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("signup site on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

func senderFor(outbox string) newsletter.Sender {
	if key := os.Getenv("RESEND_API_KEY"); key != "" {
		s, err := newsletter.NewResendSender(key)
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	return &newsletter.Outbox{Dir: outbox}
}

// newSite makes sure the lists exist and returns the site: the form at /
// and the newsletter pages under /newsletter/.
func newSite(ctx context.Context, db *crm.DB, publicURL string, sender newsletter.Sender) (http.Handler, error) {
	for _, l := range []crm.List{
		{Name: "lettre", Title: "La lettre mensuelle", Public: true},
		{Name: "alertes", Title: "Alertes expulsions", Kind: crm.KindAlerts, DoubleOptIn: true, Public: true},
	} {
		if _, err := db.GetList(ctx, l.Name); err != nil {
			if err := db.CreateList(ctx, &l); err != nil {
				return nil, err
			}
		}
	}
	n, err := newsletter.New(ctx, db, newsletter.WithPublicURL(publicURL+"/newsletter"))
	if err != nil {
		return nil, err
	}
	// The consent text the form shows is registered: the handler records
	// it when the form posts it, and never a text a client made up.
	nl, err := newsletter.NewHandler(n, newsletter.WithConfirmationSender(sender, "Solidarité Calais <bonjour@asso.example.org>"),
		newsletter.WithConsentTexts(consentText))
	if err != nil {
		return nil, err
	}
	interests, err := db.Interests(ctx)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/newsletter/", http.StripPrefix("/newsletter", nl))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		form.Execute(w, map[string]any{"Interests": interests, "Consent": consentText})
	})
	return mux, nil
}

// consentText is what the form shows and posts, and what the consent
// history records for a signup through it.
const consentText = "J'accepte de recevoir les messages de Solidarité Calais aux listes cochées. Je peux me désinscrire à tout moment."

var form = template.Must(template.New("form").Parse(`<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rejoins-nous · Solidarité Calais</title>
<style>
body { font: 17px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1b; }
label { display: block; margin: .3rem 0; }
input[type=email], input[type=text] { font: inherit; padding: .4rem; width: 100%; box-sizing: border-box; }
fieldset { border: 1px solid #ccc; border-radius: 4px; margin: 1rem 0; }
button { font: inherit; padding: .6rem 1.2rem; background: #9c2a00; color: #fff; border: 0; border-radius: 4px; }
.hp { position: absolute; left: -10000px; }
</style>
</head>
<body>
<h1>Rejoins-nous</h1>
<p>Reçois notre lettre mensuelle et nos alertes quand une expulsion est annoncée.</p>
<form method="post" action="/newsletter/subscribe">
<label for="email">Courriel</label>
<input id="email" name="email" type="email" required autocomplete="email">
<label for="first_name">Prénom</label>
<input id="first_name" name="first_name" type="text" autocomplete="given-name">
<input type="hidden" name="language" value="fr">
<fieldset><legend>Je veux recevoir</legend>
<label><input type="checkbox" name="lists" value="lettre" checked> La lettre mensuelle</label>
<label><input type="checkbox" name="lists" value="alertes"> Les alertes expulsions (confirmation par courriel)</label>
</fieldset>
<fieldset><legend>Comment veux-tu aider ?</legend>
{{range .Interests}}<label><input type="checkbox" name="interests" value="{{.Name}}"> {{.LabelFR}}</label>
{{end}}</fieldset>
<div class="hp" aria-hidden="true"><label for="website">Ne pas remplir</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<input type="hidden" name="consent" value="{{.Consent}}">
<p><small>{{.Consent}}</small></p>
<button type="submit">Je m'inscris</button>
</form>
</body>
</html>
`))
