package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

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
				}, listFlags(true)...),
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
				Flags: append(listFlags(false),
					&cli.StringSliceFlag{Name: "welcome", Usage: "the welcome email sent when someone becomes subscribed: " +
						"LANG=FILE.md sets the one of LANG (fr or en) and keeps the other, LANG=none removes it " +
						"(repeatable; the first set goes to other languages); \"default\" sets the built-in one in French and English, \"none\" removes all"},
					&cli.StringSliceFlag{Name: "confirmation", Usage: "the confirmation email of a double opt-in list: " +
						"LANG=FILE.md with {{.ConfirmURL}} sets the one of LANG (fr or en) and keeps the other, LANG=none removes it " +
						"(repeatable); \"default\" (or \"none\") goes back to the built-in one"},
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
				Usage: "list the lists, with how many people are subscribed and how many pending (yet to confirm)",
				Flags: outputFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					ls, err := db.Lists(c.Context)
					if err != nil {
						return err
					}
					recs := records{columns: append(textColumns("name", "title", "kind", "visibility", "opt_in"),
						sheet.Column{Name: "subscribed", Kind: sheet.KindInteger}, sheet.Column{Name: "pending", Kind: sheet.KindInteger}), json: ls}
					for _, l := range ls {
						recs.rows = append(recs.rows, []sheet.Value{sheet.Text(l.Name), sheet.Text(l.Title),
							sheet.Text(string(l.Kind)), sheet.Text(visibility(l)), sheet.Text(optIn(l)), sheet.Int(int64(l.Subscribed)),
							sheet.Int(int64(l.Pending))})
					}
					return printRecords(c, recs)
				}),
			},
			{
				Name:      "show",
				Usage:     "show a list's setup: titles, texts, visibility, opt-in, counts, and its welcome and confirmation emails",
				ArgsUsage: "NAME",
				Flags:     outputFlags(),
				Action:    withReadDB(1, 1, showList),
			},
			snippetCommand(),
		},
	}
}

// listFlags are the flags of lists create and, without the defaults
// only a creation has, of lists edit.
func listFlags(create bool) []cli.Flag {
	def := func(usage, dflt string) string {
		if create {
			return usage + " " + dflt
		}
		return usage
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "title", Usage: def("title shown to supporters, in French and by default", "(default: the name)")},
		&cli.StringFlag{Name: "title-en", Usage: "title shown to English speakers (without one: the title)"},
		&cli.StringFlag{Name: "description", Usage: "what the list sends and how often, for the signup form"},
		&cli.StringFlag{Name: "description-en", Usage: "the description in English"},
		&cli.BoolFlag{Name: "public", Usage: def("offered on the signup form and everyone's preferences page", "(default, but for --kind press)")},
		&cli.BoolFlag{Name: "private", Usage: "on no public page, but the preferences page of the people on it"},
		&cli.BoolFlag{Name: "double-opt-in", Usage: "new subscribers must confirm by email"},
		&cli.BoolFlag{Name: "single-opt-in", Usage: def("new subscribers are subscribed at once", "(default)")},
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
		Usage:     "subscribe someone to a list, recording their consent (adding them as a supporter if new)",
		ArgsUsage: "EMAIL",
		Description: "An address not yet known is added as a supporter (source cli); an erased one only with fresh consent\n" +
			"(crm supporters add --email EMAIL --fresh-consent). On a double opt-in list the person stays pending until\n" +
			"they confirm: the confirmation email goes through Resend (RESEND_API_KEY) or into --outbox DIR, at most once\n" +
			"per address per --confirmation-interval. Without either, the email is queued, and crm serve or crm send --due\n" +
			"(with RESEND_API_KEY, or --outbox DIR) sends it; so is the welcome email of --welcome.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "list", Usage: "list name", Required: true},
			&cli.StringFlag{Name: "consent", Usage: "what the person agreed to, as they were told"},
			&cli.BoolFlag{Name: "confirmed", Usage: "consent is already proven: skip the pending state of a double opt-in list"},
			&cli.BoolFlag{Name: "resend-confirmation", Usage: "send the confirmation email again to someone already pending on a double opt-in list"},
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

// queuedHint is what a command that queued emails without a sender says
// of how they go: commands that work as written.
const queuedHint = "no sender now; crm serve or crm send --due (with RESEND_API_KEY, or --outbox DIR) sends it"

func subscribe(c *cli.Context, db *crm.DB) error {
	email, list := c.Args().First(), c.String("list")
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	sender, err := noticeSender(c, n, "subscribe")
	if err != nil {
		return err
	}
	var from string
	if sender != nil {
		if from, err = fromSetting(c, db, "subscribe", "emails"); err != nil {
			return err
		}
	}
	// Without a sender the emails are queued all the same: crm serve or
	// crm send --due sends them.
	out, err := n.Subscribe(c.Context, crm.SubscribeRequest{
		List: list, Confirmed: c.Bool("confirmed"), Consent: crm.Consent{Source: crm.SourceCLI, Text: c.String("consent")},
	}, newsletter.SubscribeOptions{NewSupporter: &crm.Supporter{Email: email, Source: crm.SourceCLI},
		Confirm: true, ResendConfirmation: c.Bool("resend-confirmation"),
		ConfirmationInterval: c.Duration("confirmation-interval"), Welcome: c.Bool("welcome")})
	if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) && ve.Field == "email" {
		return usagef("subscribe %q: %s", email, ve.Reason)
	} else if errors.Is(err, crm.ErrErased) {
		return fmt.Errorf("subscribe %q: %w (crm supporters add --email %s --fresh-consent, then subscribe)", email, crm.ErrErased, email)
	} else if err != nil {
		return err
	}
	w := c.App.Writer
	if out.Created {
		fmt.Fprintf(w, "added %s\n", email)
	}
	switch {
	case !out.Changed && !out.ConfirmationQueued:
		fmt.Fprintf(w, "already %s\n", out.Status)
	case out.Status == crm.StatusPending && out.Changed:
		fmt.Fprintln(w, "pending: the list needs double opt-in, the person must confirm by email (or use --confirmed)")
	case out.Changed:
		fmt.Fprintln(w, out.Status)
	}
	switch {
	case c.Bool("resend-confirmation") && out.Status != crm.StatusPending:
		fmt.Fprintf(w, "nothing to confirm: the person is %s, not pending (--resend-confirmation is for a double opt-in list)\n", out.Status)
	case out.ConfirmationDeferred && sender == nil:
		fmt.Fprintf(w, "no new confirmation email: one was queued or sent to this address less than %s ago (--confirmation-interval); "+
			"one still queued goes with crm serve or crm send --due (with RESEND_API_KEY, or --outbox DIR)\n",
			c.Duration("confirmation-interval"))
	case out.ConfirmationDeferred:
		fmt.Fprintf(w, "no new confirmation email: one was queued or sent to this address less than %s ago (--confirmation-interval)\n",
			c.Duration("confirmation-interval"))
	case out.Status == crm.StatusPending && !out.ConfirmationQueued && !c.Bool("resend-confirmation"):
		fmt.Fprintln(w, "no confirmation email sent: already pending (--resend-confirmation sends it again)")
	case c.Bool("welcome") && out.Changed && out.Status == crm.StatusSubscribed && !out.WelcomeQueued:
		fmt.Fprintf(w, "no welcome email: list %s has none (crm lists edit %s --welcome default)\n", list, list)
	case out.WelcomeSkipped:
		fmt.Fprintf(w, "no welcome email sent: list %s has one, which goes only with --welcome\n", list)
	}
	if sender == nil {
		for _, what := range []struct {
			queued bool
			name   string
		}{{out.ConfirmationQueued, "confirmation"}, {out.WelcomeQueued, "welcome"}} {
			if what.queued {
				fmt.Fprintf(w, "%s email queued: %s\n", what.name, queuedHint)
			}
		}
		return nil
	}
	// The person's emails queued before (by a subscribe without a
	// sender, or a signup) go too.
	rep, err := n.SendNotices(c.Context, sender, newsletter.NoticeOptions{From: from, SupporterID: out.SupporterID})
	if err != nil {
		return err
	}
	return printNotices(c, rep, c.String("outbox"))
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

func donationsCommand() *cli.Command {
	return &cli.Command{
		Name:    "donations",
		Aliases: []string{"donation"},
		Usage:   "record and report gifts",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "record a gift",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "email", Usage: "the donor, an existing supporter", Required: true},
					&cli.StringFlag{Name: "amount", Usage: "amount in major units: 25.50 or 25,50", Required: true},
					&cli.StringFlag{Name: "currency", Value: "EUR", Usage: "ISO 4217 code"},
					&cli.StringFlag{Name: "date", Usage: "date received, YYYY-MM-DD or DD/MM/YYYY (default today)"},
					&cli.StringFlag{Name: "method", Usage: "cash, cheque, transfer, card, helloasso or other", Required: true},
					&cli.StringFlag{Name: "fund", Usage: "fund or campaign"},
					&cli.BoolFlag{Name: "recurring", Usage: "part of a regular gift"},
					&cli.StringFlag{Name: "ref", Usage: "external reference (bank or receipt number); unique"},
					&cli.StringFlag{Name: "note"},
				},
				Action: withDB(0, 0, addDonation),
			},
			{
				Name:  "list",
				Usage: "list gifts",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "email", Usage: "only this donor's"},
					&cli.StringFlag{Name: "since", Usage: "received on or after this date"},
					&cli.StringFlag{Name: "until", Usage: "received on or before this date"},
					&cli.StringFlag{Name: "fund", Usage: "only this fund"},
				}, outputFlags()...),
				Action: withReadDB(0, 0, listDonations),
			},
			{
				Name:  "report",
				Usage: "sum gifts by month, year, fund or method",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "by", Value: "month", Usage: "month, year, fund or method"},
					&cli.StringFlag{Name: "since", Usage: "received on or after this date"},
					&cli.StringFlag{Name: "until", Usage: "received on or before this date"},
					&cli.StringFlag{Name: "fund", Usage: "only this fund"},
				}, outputFlags()...),
				Action: withReadDB(0, 0, reportDonations),
			},
		},
	}
}

func addDonation(c *cli.Context, db *crm.DB) error {
	id, err := supporterID(c, db, c.String("email"))
	if err != nil {
		return fmt.Errorf("--email: %w (add the supporter first with crm supporters add)", err)
	}
	amount, err := crm.ParseAmount(c.String("amount"), c.String("currency"))
	if err != nil {
		return err
	}
	date := db.Now()
	if c.IsSet("date") {
		if date, err = crm.ParseDate(c.String("date"), time.UTC); err != nil {
			return err
		}
	}
	d := &crm.Donation{SupporterID: id, Amount: amount, Currency: c.String("currency"), ReceivedAt: date,
		Method: crm.DonationMethod(c.String("method")), Fund: c.String("fund"), Recurring: c.Bool("recurring"),
		ExternalRef: c.String("ref"), Note: c.String("note")}
	if err := db.AddDonation(c.Context, d); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "recorded donation %d: %s %s\n", d.ID, crm.FormatAmount(d.Amount, d.Currency), d.Currency)
	return nil
}

// donationFilter reads --email, --since, --until and --fund. --until is
// inclusive on the command line: the whole day counts.
func donationFilter(c *cli.Context, db *crm.DB) (crm.DonationFilter, error) {
	var f crm.DonationFilter
	if c.IsSet("email") {
		id, err := supporterID(c, db, c.String("email"))
		if err != nil {
			return f, fmt.Errorf("--email: %w", err)
		}
		f.SupporterID = &id
	}
	for _, flag := range []string{"since", "until"} {
		if !c.IsSet(flag) {
			continue
		}
		d, err := crm.ParseDate(c.String(flag), time.UTC)
		if err != nil {
			return f, fmt.Errorf("--%s: %w", flag, err)
		}
		if flag == "since" {
			f.Since = &d
		} else {
			d = d.AddDate(0, 0, 1)
			f.Until = &d
		}
	}
	if c.IsSet("fund") {
		v := c.String("fund")
		f.Fund = &v
	}
	return f, nil
}

func listDonations(c *cli.Context, db *crm.DB) error {
	f, err := donationFilter(c, db)
	if err != nil {
		return err
	}
	ds, err := db.ListDonations(c.Context, f)
	if err != nil {
		return err
	}
	recs := records{columns: []sheet.Column{{Name: "email"}, {Name: "date", Kind: sheet.KindDate},
		{Name: "amount", Kind: sheet.KindMoney}, {Name: "currency"}, {Name: "method"}, {Name: "fund"},
		{Name: "recurring", Kind: sheet.KindBoolean}, {Name: "ref"}}, json: ds}
	for _, d := range ds {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(d.Email), sheet.Date(d.ReceivedAt),
			sheet.Money(d.Amount, d.Currency), sheet.Text(d.Currency), sheet.Text(string(d.Method)), sheet.Text(d.Fund),
			sheet.Bool(d.Recurring), sheet.Text(d.ExternalRef)})
	}
	return printRecords(c, recs)
}

func reportDonations(c *cli.Context, db *crm.DB) error {
	f, err := donationFilter(c, db)
	if err != nil {
		return err
	}
	rows, err := db.DonationReport(c.Context, f, crm.ReportGroup(c.String("by")))
	if err != nil {
		return err
	}
	recs := records{columns: []sheet.Column{{Name: c.String("by")}, {Name: "currency"},
		{Name: "count", Kind: sheet.KindInteger}, {Name: "donors", Kind: sheet.KindInteger},
		{Name: "total", Kind: sheet.KindMoney}}, json: rows}
	for _, r := range rows {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(r.Key), sheet.Text(r.Currency), sheet.Int(int64(r.Count)),
			sheet.Int(int64(r.Donors)), sheet.Money(r.Sum, r.Currency)})
	}
	return printRecords(c, recs)
}

// setListEmails changes the list's own welcome and confirmation emails
// as --welcome and --confirmation say, one language at a time.
func setListEmails(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	list := c.Args().First()
	for _, kind := range []newsletter.NoticeKind{newsletter.NoticeWelcome, newsletter.NoticeConfirm} {
		flag := emailFlag(kind)
		if !c.IsSet(flag) {
			continue
		}
		all, set, remove, err := readEmailFlag(c, kind)
		if err != nil {
			return err
		}
		var tpls []newsletter.ListTemplate
		if all != nil {
			tpls, err = *all, n.SetListTemplates(c.Context, list, kind, *all)
		} else {
			tpls, err = n.EditListTemplates(c.Context, list, kind, set, remove)
		}
		if te := (*newsletter.TemplateError)(nil); errors.As(err, &te) {
			return usagef("lists edit --%s: %v", flag, err)
		} else if err != nil {
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

// emailFlag is the flag of lists edit that sets the kind of email.
func emailFlag(kind newsletter.NoticeKind) string {
	if kind == newsletter.NoticeConfirm {
		return "confirmation"
	}
	return string(kind)
}

// emailLanguages are the languages a list's own emails may be in: those
// of the pages their links lead to.
var emailLanguages = []string{"fr", "en"}

// readEmailFlag reads the values of --welcome or --confirmation: "default"
// or "none" alone replace every language (all), else each LANG=FILE is
// read into set and each LANG=none goes to remove. A value of another
// form is a usage error naming the flag.
func readEmailFlag(c *cli.Context, kind newsletter.NoticeKind) (all *[]newsletter.ListTemplate, set []newsletter.ListTemplate,
	remove []string, err error) {
	flag := emailFlag(kind)
	vals := c.StringSlice(flag)
	for _, v := range vals {
		if v != "none" && v != "default" {
			continue
		}
		if len(vals) > 1 {
			return nil, nil, nil, usagef("lists edit --%s %s: give it alone (it changes every language)", flag, v)
		}
		tpls := []newsletter.ListTemplate{}
		if v == "default" && kind == newsletter.NoticeWelcome {
			for _, lang := range emailLanguages {
				tpls = append(tpls, newsletter.ListTemplate{Language: lang, Source: newsletter.DefaultWelcome(lang)})
			}
		}
		return &tpls, nil, nil, nil
	}
	for _, v := range vals {
		lang, file, ok := strings.Cut(v, "=")
		lang = strings.ToLower(strings.TrimSpace(lang))
		if !ok || file == "" {
			return nil, nil, nil, usagef("lists edit --%s %q: want LANG=FILE with LANG fr or en (fr=%s.fr.md), LANG=none, "+
				"\"default\" or \"none\"", flag, v, flag)
		}
		if !slices.Contains(emailLanguages, lang) {
			return nil, nil, nil, usagef("lists edit --%s %q: language %q: want fr or en, the languages of the pages its links lead to",
				flag, v, lang)
		}
		if file == "none" {
			remove = append(remove, lang)
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, nil, usagef("lists edit --%s: %v", flag, err)
		}
		set = append(set, newsletter.ListTemplate{Language: lang, Source: string(b)})
	}
	return nil, set, remove, nil
}

// showList shows a list's setup and which emails it sends in each
// language.
func showList(c *cli.Context, db *crm.DB) error {
	name := c.Args().First()
	found, err := db.GetList(c.Context, name)
	if err != nil {
		return err
	}
	ls, err := db.Lists(c.Context) // with the counts
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ls, func(l *crm.List) bool { return l.ID == found.ID })
	if i < 0 {
		return fmt.Errorf("list %q: %w (deleted a moment ago)", name, crm.ErrNotFound)
	}
	l := ls[i]
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	emails, err := n.ListEmails(c.Context, name)
	if err != nil {
		return err
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	recs := records{columns: textColumns("field", "value"), json: struct {
		*crm.List
		Emails []newsletter.ListEmail `json:"emails"`
	}{l, emails}}
	for _, kv := range []struct {
		field string
		value sheet.Value
	}{
		{"name", sheet.Text(l.Name)}, {"title", sheet.Text(l.Title)}, {"title_en", sheet.Text(l.TitleEN)},
		{"kind", sheet.Text(string(l.Kind))}, {"visibility", sheet.Text(visibility(l))}, {"opt_in", sheet.Text(optIn(l))},
		{"description", sheet.Text(l.Description)}, {"description_en", sheet.Text(l.DescriptionEN)},
		{"consent_text", sheet.Text(l.ConsentText)}, {"consent_text_en", sheet.Text(l.ConsentTextEN)},
		{"created_at", sheet.DateTime(l.CreatedAt.In(st.Location()), "2006-01-02 15:04 MST")},
		{"subscribed", sheet.Int(int64(l.Subscribed))}, {"pending", sheet.Int(int64(l.Pending))},
	} {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(kv.field), kv.value})
	}
	for _, e := range emails {
		v := e.Source
		if e.From != "" {
			v += " (its " + e.From + " one)"
		}
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(emailFlag(e.Kind) + "_" + e.Language), sheet.Text(v)})
	}
	return printRecords(c, recs)
}
