package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

func interestsCommand() *cli.Command {
	return &cli.Command{
		Name:  "interests",
		Usage: "the ways supporters can help",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the vocabulary",
				Flags: outputFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					ins, err := db.Interests(c.Context)
					if err != nil {
						return err
					}
					recs := records{columns: textColumns("name", "label_fr", "label_en"), json: ins}
					for _, in := range ins {
						recs.rows = append(recs.rows, []sheet.Value{sheet.Text(in.Name), sheet.Text(in.LabelFR), sheet.Text(in.LabelEN)})
					}
					return printRecords(c, recs)
				}),
			},
			{
				Name:      "add",
				Usage:     "add a way of helping",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "label-fr", Usage: "French label", Required: true},
					&cli.StringFlag{Name: "label-en", Usage: "English label", Required: true},
				},
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					in := &crm.Interest{Name: c.Args().First(), LabelFR: c.String("label-fr"), LabelEN: c.String("label-en")}
					if err := db.AddInterest(c.Context, in); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "added interest %s\n", in.Name)
					return nil
				}),
			},
		},
	}
}

func listsCommand() *cli.Command {
	return &cli.Command{
		Name:  "lists",
		Usage: "mailing lists",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a list",
				ArgsUsage: "NAME",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "kind", Value: "newsletter", Usage: "newsletter, alerts or press"},
				}, listFlags()...),
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					e, err := listEdit(c)
					if err != nil {
						return err
					}
					l := &crm.List{Name: c.Args().First(), Kind: crm.ListKind(c.String("kind"))}
					l.Public = l.Kind != crm.KindPress // press contacts are nobody else's business
					for _, f := range []struct {
						to   *string
						from *string
					}{
						{&l.Title, e.Title}, {&l.TitleEN, e.TitleEN}, {&l.Description, e.Description},
						{&l.DescriptionEN, e.DescriptionEN}, {&l.ConsentText, e.ConsentText}, {&l.ConsentTextEN, e.ConsentTextEN},
					} {
						if f.from != nil {
							*f.to = *f.from
						}
					}
					if e.Public != nil {
						l.Public = *e.Public
					}
					if e.DoubleOptIn != nil {
						l.DoubleOptIn = *e.DoubleOptIn
					}
					if err := db.CreateList(c.Context, l); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "created list %s (%s, %s)\n", l.Name, visibility(l), optIn(l))
					return nil
				}),
			},
			{
				Name:      "edit",
				Usage:     "change a list's titles, descriptions, consent texts, visibility, opt-in or its own emails",
				ArgsUsage: "NAME",
				Flags: append(listFlags(),
					&cli.StringSliceFlag{Name: "welcome", Usage: "the welcome email sent when someone becomes subscribed: " +
						"LANG=FILE.md (repeatable; the first goes to other languages), \"default\" for the built-in one in French and English, \"none\" for none"},
					&cli.StringSliceFlag{Name: "confirmation", Usage: "the confirmation email of a double opt-in list: " +
						"LANG=FILE.md with {{.ConfirmURL}} (repeatable), \"default\" for the built-in one"},
				),
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					e, err := listEdit(c)
					if err != nil {
						return err
					}
					emails := c.IsSet("welcome") || c.IsSet("confirmation")
					if e == (crm.ListEdit{}) && emails {
						return setListEmails(c, db)
					}
					if e == (crm.ListEdit{}) {
						var names []string
						for _, f := range c.Command.Flags {
							if f.Names()[0] != "help" {
								names = append(names, "--"+f.Names()[0])
							}
						}
						return usagef("lists edit: nothing to change; give one or more of %s", strings.Join(names, ", "))
					}
					l, err := db.EditList(c.Context, c.Args().First(), e)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "updated list %s (%s, %s)\n", l.Name, visibility(l), optIn(l))
					if emails {
						return setListEmails(c, db)
					}
					return nil
				}),
			},
			{
				Name:      "delete",
				Usage:     "delete a list (refused while a campaign not yet sent uses it); consent history is kept",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "end the subscriptions of the people on it without asking"},
				},
				Action: withDB(1, 1, deleteList),
			},
			{
				Name:  "list",
				Usage: "list the lists",
				Flags: outputFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					ls, err := db.Lists(c.Context)
					if err != nil {
						return err
					}
					recs := records{columns: append(textColumns("name", "title", "kind", "visibility", "opt_in"),
						sheet.Column{Name: "subscribed", Kind: sheet.KindInteger}), json: ls}
					for _, l := range ls {
						recs.rows = append(recs.rows, []sheet.Value{sheet.Text(l.Name), sheet.Text(l.Title),
							sheet.Text(string(l.Kind)), sheet.Text(visibility(l)), sheet.Text(optIn(l)), sheet.Int(int64(l.Subscribed))})
					}
					return printRecords(c, recs)
				}),
			},
			snippetCommand(),
		},
	}
}

// listFlags are the flags of lists create and lists edit.
func listFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "title", Usage: "title shown to supporters, in French and by default (default: the name)"},
		&cli.StringFlag{Name: "title-en", Usage: "title shown to English speakers (default: the title)"},
		&cli.StringFlag{Name: "description", Usage: "what the list sends and how often, for the signup form"},
		&cli.StringFlag{Name: "description-en", Usage: "the description in English"},
		&cli.BoolFlag{Name: "public", Usage: "offered on the signup form and everyone's preferences page (default, but for --kind press)"},
		&cli.BoolFlag{Name: "private", Usage: "on no public page, but the preferences page of the people on it"},
		&cli.BoolFlag{Name: "double-opt-in", Usage: "new subscribers must confirm by email"},
		&cli.BoolFlag{Name: "single-opt-in", Usage: "new subscribers are subscribed at once (default)"},
		&cli.StringFlag{Name: "consent-text", Usage: "shown beside the list's checkbox and recorded as proof of consent"},
		&cli.StringFlag{Name: "consent-text-en", Usage: "the consent text in English"},
	}
}

// listEdit reads the flags of listFlags that are set. A flag and its
// opposite together are refused, naming both.
func listEdit(c *cli.Context) (crm.ListEdit, error) {
	var e crm.ListEdit
	for _, pair := range [][2]string{{"public", "private"}, {"double-opt-in", "single-opt-in"}} {
		if c.IsSet(pair[0]) && c.IsSet(pair[1]) {
			return e, usagef("%s: --%s and --%s contradict each other: give one of them", commandName(c), pair[0], pair[1])
		}
	}
	text := func(flag string) *string {
		if !c.IsSet(flag) {
			return nil
		}
		v := c.String(flag)
		return &v
	}
	choice := func(yes, no string) *bool {
		switch {
		case c.IsSet(yes):
			v := c.Bool(yes)
			return &v
		case c.IsSet(no):
			v := !c.Bool(no)
			return &v
		}
		return nil
	}
	e.Title, e.TitleEN = text("title"), text("title-en")
	e.Description, e.DescriptionEN = text("description"), text("description-en")
	e.ConsentText, e.ConsentTextEN = text("consent-text"), text("consent-text-en")
	e.Public, e.DoubleOptIn = choice("public", "private"), choice("double-opt-in", "single-opt-in")
	return e, nil
}

func visibility(l *crm.List) string {
	if l.Public {
		return "public"
	}
	return "private"
}

func optIn(l *crm.List) string {
	if l.DoubleOptIn {
		return "double"
	}
	return "single"
}

// deleteList deletes a list; one with people on it only when --yes (or
// the answer at the terminal) says to end their subscriptions.
func deleteList(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	name := c.Args().First()
	ended, err := n.DeleteList(c.Context, name, crm.DeleteListOptions{EndSubscriptions: c.Bool("yes")})
	if errors.Is(err, crm.ErrListHasSubscribers) {
		why := strings.TrimSuffix(err.Error(), ": "+crm.ErrListHasSubscribers.Error())
		yes, asked := ask(c, why+". Delete it? Their consent history is kept.")
		if !asked {
			return usagef("lists delete: %s; add --yes to delete it (their consent history is kept)", why)
		}
		if !yes {
			return errors.New("nothing was deleted")
		}
		ended, err = n.DeleteList(c.Context, name, crm.DeleteListOptions{EndSubscriptions: true})
	}
	if err != nil {
		return err
	}
	if ended > 0 {
		fmt.Fprintf(c.App.Writer, "deleted list %s; %d subscription(s) ended, their consent history is kept\n", name, ended)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "deleted list %s\n", name)
	return nil
}

func subscribeCommand() *cli.Command {
	return &cli.Command{
		Name:      "subscribe",
		Usage:     "subscribe a supporter to a list, recording their consent",
		ArgsUsage: "EMAIL",
		Description: "On a double opt-in list the person stays pending until they confirm: the confirmation email goes\n" +
			"through Resend (RESEND_API_KEY) or into --outbox DIR, at most once per address per --confirmation-interval.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "list", Usage: "list name", Required: true},
			&cli.StringFlag{Name: "consent", Usage: "what the person agreed to, as they were told"},
			&cli.BoolFlag{Name: "confirmed", Usage: "consent is already proven: skip the pending state of a double opt-in list"},
			&cli.BoolFlag{Name: "resend-confirmation", Usage: "send the confirmation email again to someone already pending"},
			&cli.BoolFlag{Name: "welcome", Usage: "send the list's welcome email (crm lists edit NAME --welcome) if the person becomes subscribed"},
			&cli.StringFlag{Name: "outbox", Usage: "write the emails to this folder as .eml files instead of sending them through Resend"},
			&cli.StringFlag{Name: "from", EnvVars: []string{"CRM_FROM"}, Usage: "sender of the emails (default: the from setting)"},
			&cli.DurationFlag{Name: "confirmation-interval", Value: newsletter.DefaultConfirmationInterval,
				Usage: "least time between two confirmation emails to one address"},
			publicURLFlag(),
		},
		Action: withDB(1, 1, subscribe),
	}
}

func subscribe(c *cli.Context, db *crm.DB) error {
	email := c.Args().First()
	id, err := supporterID(c, db, email)
	if err != nil {
		return err
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, err := noticeSender(c, n, "subscribe")
	if err != nil {
		return err
	}
	if sender == nil && (c.Bool("welcome") || c.Bool("resend-confirmation")) {
		flag := "--welcome"
		if c.Bool("resend-confirmation") {
			flag = "--resend-confirmation"
		}
		return usagef("subscribe %s: no email can go: set RESEND_API_KEY, or write it to a folder with --outbox DIR", flag)
	}
	var from string
	if sender != nil {
		if from, err = fromSetting(c, db, "subscribe", "emails"); err != nil {
			return err
		}
	}
	out, err := n.Subscribe(c.Context, crm.SubscribeRequest{
		SupporterID: id, List: c.String("list"), Confirmed: c.Bool("confirmed"),
		Consent: crm.Consent{Source: crm.SourceCLI, Text: c.String("consent")},
	}, newsletter.SubscribeOptions{Confirm: sender != nil, ResendConfirmation: c.Bool("resend-confirmation"),
		ConfirmationInterval: c.Duration("confirmation-interval"), Welcome: c.Bool("welcome")})
	if err != nil {
		return err
	}
	w := c.App.Writer
	switch {
	case !out.Changed && !out.ConfirmationQueued:
		fmt.Fprintf(w, "already %s\n", out.Status)
	case out.Status == crm.StatusPending && out.Changed:
		fmt.Fprintln(w, "pending: the list needs double opt-in, the person must confirm by email (or use --confirmed)")
	case out.Changed:
		fmt.Fprintln(w, out.Status)
	}
	switch {
	case out.ConfirmationDeferred:
		fmt.Fprintf(w, "no confirmation email sent: one went to this address less than %s ago (--confirmation-interval)\n",
			c.Duration("confirmation-interval"))
	case out.Status == crm.StatusPending && sender == nil:
		fmt.Fprintf(w, "no confirmation email sent: no sender (RESEND_API_KEY, or --outbox DIR); send it with:\n"+
			"  crm subscribe %s --list %s --resend-confirmation\n", email, c.String("list"))
	case out.Status == crm.StatusPending && !out.ConfirmationQueued && !c.Bool("resend-confirmation"):
		fmt.Fprintln(w, "no confirmation email sent: already pending (--resend-confirmation sends it again)")
	case c.Bool("welcome") && out.Changed && out.Status == crm.StatusSubscribed && !out.WelcomeQueued:
		fmt.Fprintf(w, "no welcome email: list %s has none (crm lists edit %s --welcome default)\n", c.String("list"), c.String("list"))
	}
	if len(out.Notices) == 0 {
		return nil
	}
	rep, err := n.SendNotices(c.Context, sender, newsletter.NoticeOptions{From: from, IDs: out.Notices})
	if err != nil {
		return err
	}
	return printNotices(c, rep)
}

func unsubscribeCommand() *cli.Command {
	return &cli.Command{
		Name:      "unsubscribe",
		Usage:     "unsubscribe a supporter from a list, or from all",
		ArgsUsage: "EMAIL",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "list", Usage: "list name"},
			&cli.BoolFlag{Name: "all", Usage: "every list"},
		},
		Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
			if c.IsSet("list") == c.Bool("all") {
				return usagef("unsubscribe: give exactly one of --list or --all")
			}
			id, err := supporterID(c, db, c.Args().First())
			if err != nil {
				return err
			}
			n, err := db.Unsubscribe(c.Context, id, c.String("list"), crm.Consent{Source: crm.SourceCLI})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "unsubscribed from %d list(s)\n", n)
			return nil
		}),
	}
}

// setListEmails sets the list's own welcome and confirmation emails from
// --welcome and --confirmation.
func setListEmails(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	list := c.Args().First()
	for _, kind := range []newsletter.NoticeKind{newsletter.NoticeWelcome, newsletter.NoticeConfirm} {
		flag := string(kind)
		if kind == newsletter.NoticeConfirm {
			flag = "confirmation"
		}
		if !c.IsSet(flag) {
			continue
		}
		vals := c.StringSlice(flag)
		var tpls []newsletter.ListTemplate
		switch {
		case len(vals) == 1 && vals[0] == "none" && kind == newsletter.NoticeWelcome:
		case len(vals) == 1 && vals[0] == "default" && kind == newsletter.NoticeConfirm:
		case len(vals) == 1 && vals[0] == "default":
			for _, lang := range []string{"fr", "en"} {
				tpls = append(tpls, newsletter.ListTemplate{Language: lang, Source: newsletter.DefaultWelcome(lang)})
			}
		default:
			for _, v := range vals {
				if v == "none" || v == "default" {
					return usagef("lists edit --%s %s: give it alone", flag, v)
				}
				lang, file := templateFlag(v)
				b, err := os.ReadFile(file)
				if err != nil {
					return usagef("lists edit --%s: %v", flag, err)
				}
				tpls = append(tpls, newsletter.ListTemplate{Language: lang, Source: string(b)})
			}
		}
		if err := n.SetListTemplates(c.Context, list, kind, tpls); err != nil {
			var te *newsletter.TemplateError
			if errors.As(err, &te) {
				return usagef("lists edit --%s: %v", flag, err)
			}
			return err
		}
		switch {
		case len(tpls) == 0 && kind == newsletter.NoticeWelcome:
			fmt.Fprintf(c.App.Writer, "list %s sends no welcome email\n", list)
		case len(tpls) == 0:
			fmt.Fprintf(c.App.Writer, "list %s sends the built-in confirmation email\n", list)
		default:
			langs := make([]string, len(tpls))
			for i, t := range tpls {
				langs[i] = t.Language
			}
			fmt.Fprintf(c.App.Writer, "list %s: %s email set (%s)\n", list, flag, strings.Join(langs, ", "))
		}
	}
	return nil
}
