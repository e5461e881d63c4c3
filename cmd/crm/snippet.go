package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
)

// snippetCommand is crm lists snippet: the signup form to paste into the
// association's own site.
func snippetCommand() *cli.Command {
	return &cli.Command{
		Name:  "snippet",
		Usage: "print an HTML signup form to paste into your site (it posts to the public-url setting's /subscribe)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lists", Usage: "the public lists it offers, comma-separated (default: every public list)"},
			&cli.StringFlag{Name: "lang", Value: "fr", Usage: "its language: fr or en"},
		},
		Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
			st, err := db.Settings(c.Context)
			if err != nil {
				return err
			}
			if st.PublicURL == "" {
				return errors.New("no public URL: the form posts to the address where crm serve is reached; " +
					"set it first with crm settings set public-url https://asso.org/newsletter")
			}
			n, err := newsletter.New(c.Context, db, newsletter.WithPublicURL(st.PublicURL))
			if err != nil {
				return err
			}
			var lists []string
			if c.String("lists") != "" {
				lists = strings.Split(c.String("lists"), ",")
			}
			var b strings.Builder
			if err := n.WriteSignupSnippet(c.Context, &b, newsletter.SnippetOptions{Lists: lists, Language: c.String("lang")}); err != nil {
				var ve *crm.ValidationError
				if errors.As(err, &ve) && ve.Field == "language" {
					return fmt.Errorf("--lang %q: %s", ve.Value, ve.Reason)
				}
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, b.String())
			return err
		}),
	}
}
