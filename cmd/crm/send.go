package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

// publicURLFlag is where unsubscribe and preference links point.
func publicURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "public-url", EnvVars: []string{"CRM_PUBLIC_URL"},
		Usage: "public address of the subscription pages (crm serve), base of unsubscribe links"}
}

// openNewsletter opens the newsletter package over db, with the public URL
// and the CRM_SECRET signing key when they are given.
func openNewsletter(c *cli.Context, db *crm.DB, opts ...newsletter.Option) (*newsletter.Newsletter, error) {
	if u := c.String("public-url"); u != "" {
		opts = append(opts, newsletter.WithPublicURL(u))
	}
	if s := os.Getenv("CRM_SECRET"); s != "" {
		opts = append(opts, newsletter.WithSecret([]byte(s)))
	}
	n, err := newsletter.New(c.Context, db, opts...)
	if err != nil {
		return nil, explain(c, err)
	}
	return n, nil
}

func campaignCommand() *cli.Command {
	return &cli.Command{
		Name:    "campaign",
		Aliases: []string{"campaigns"},
		Usage:   "newsletter campaigns",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a campaign from Markdown templates (checked now, sent with crm send)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "list", Usage: "the list whose subscribers receive it", Required: true},
					&cli.StringFlag{Name: "from", Usage: `sender, e.g. "Asso <news@asso.org>" (default: the from setting)`},
					&cli.StringSliceFlag{Name: "template", Usage: "[LANG=]FILE, a Markdown template per language (repeatable; the first is the default)", Required: true},
					&cli.StringFlag{Name: "segment", Usage: "only subscribers matching this expression"},
					&cli.StringFlag{Name: "subject", Usage: "subject (default: the templates' subject: lines)"},
					&cli.StringFlag{Name: "reply-to", Usage: "reply-to address (default: the reply-to setting)"},
					publicURLFlag(),
				},
				Action: withDB(1, 1, createCampaign),
			},
			{
				Name:  "list",
				Usage: "list campaigns",
				Flags: outputFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					n, err := openNewsletter(c, db)
					if err != nil {
						return err
					}
					cs, err := n.Campaigns(c.Context)
					if err != nil {
						return err
					}
					st, err := db.Settings(c.Context)
					if err != nil {
						return err
					}
					recs := records{columns: append(textColumns("name", "list", "segment", "status"),
						sheet.Column{Name: "recipients", Kind: sheet.KindInteger},
						sheet.Column{Name: "scheduled_at", Kind: sheet.KindDateTime},
						sheet.Column{Name: "created_at", Kind: sheet.KindDateTime}), json: cs}
					for _, cp := range cs {
						if cp.Status == newsletter.StatusDraft {
							// As show says: who would receive it now.
							st, err := n.CampaignStats(c.Context, cp.Name)
							if err != nil {
								return err
							}
							cp.Recipients = st.Recipients
						}
						scheduled := sheet.Value{}
						if !cp.ScheduledAt.IsZero() {
							scheduled = sheet.DateTime(cp.ScheduledAt.In(st.Location()), "2006-01-02 15:04")
						}
						status := campaignStatus(cp, time.Now())
						recs.rows = append(recs.rows, []sheet.Value{sheet.Text(cp.Name), sheet.Text(cp.List),
							sheet.Text(cp.Segment), sheet.Text(status), sheet.Int(int64(cp.Recipients)), scheduled,
							sheet.DateTime(cp.CreatedAt.In(st.Location()), "2006-01-02 15:04")})
					}
					return printRecords(c, recs)
				}),
			},
			{
				Name:      "show",
				Usage:     "show a campaign: status, recipients, sent, failed, delivered, bounced, complained, unsubscribed",
				ArgsUsage: "NAME",
				Flags: append(outputFlags(),
					&cli.StringFlag{Name: "chart", Usage: "also draw the campaign's funnel into this `FILE` (.svg or .png)"}),
				Action: withReadDB(1, 1, showCampaign),
			},
			{
				Name:      "preview",
				Usage:     "write the campaign's HTML as one recipient (or a sample supporter) would see it, its plain text beside it",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "as", Usage: "render it for the supporter with this `EMAIL` (default: a sample supporter)"},
					&cli.StringFlag{Name: "lang", Usage: "the language variant to show (default: the supporter's, else the first)"},
					&cli.StringFlag{Name: "out", Usage: "the HTML `FILE` to write (default: NAME.preview.html in the temporary folder); the text goes beside it as .txt"},
					&cli.BoolFlag{Name: "dry-run", Usage: "also show the audience by language, who lacks a field the templates use, and the first recipients"},
					publicURLFlag(),
				},
				Action: withReadDB(1, 1, previewCampaign),
			},
			{
				Name:      "edit",
				Usage:     "change a draft campaign (refused once its send has started)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "list", Usage: "the list whose subscribers receive it"},
					&cli.StringFlag{Name: "segment", Usage: `only subscribers matching this expression ("" for the whole list)`},
					&cli.StringFlag{Name: "from", Usage: `sender, e.g. "Asso <news@asso.org>"`},
					&cli.StringFlag{Name: "reply-to", Usage: `reply-to address ("" to remove it)`},
					&cli.StringFlag{Name: "subject", Usage: `subject ("" for the templates' subject: lines)`},
					&cli.StringSliceFlag{Name: "template", Usage: "[LANG=]FILE, add or replace the template of a language (repeatable)"},
					&cli.StringSliceFlag{Name: "remove-template", Usage: "LANG, remove the template of a language (repeatable)"},
					publicURLFlag(),
				},
				Action: withDB(1, 1, editCampaign),
			},
			{
				Name:      "schedule",
				Usage:     "send a draft at a given time (by crm serve, or crm send --due from cron)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "at", Usage: `when: "2026-12-05 07:30" or "05/12/2026 07:30"`, Required: true},
					&cli.StringFlag{Name: "tz", Usage: "the time zone of --at (default: the time-zone setting, else Europe/Paris)"},
				},
				Action: withDB(1, 1, scheduleCampaign),
			},
			{
				Name:      "unschedule",
				Usage:     "make a scheduled draft wait for a person again",
				ArgsUsage: "NAME",
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					n, err := openNewsletter(c, db)
					if err != nil {
						return err
					}
					if _, err := n.UnscheduleCampaign(c.Context, c.Args().First()); err != nil {
						return campaignError(c, err)
					}
					fmt.Fprintf(c.App.Writer, "campaign %s is no longer scheduled\n", c.Args().First())
					return nil
				}),
			},
			{
				Name:      "copy",
				Usage:     "make a new draft with the list, segment, sender and templates of a campaign in any state",
				ArgsUsage: "NAME NEW",
				Flags:     []cli.Flag{publicURLFlag()},
				Action: withDB(2, 2, func(c *cli.Context, db *crm.DB) error {
					n, err := openNewsletter(c, db)
					if err != nil {
						return err
					}
					cp, err := n.CopyCampaign(c.Context, c.Args().Get(0), c.Args().Get(1))
					if err != nil {
						return campaignError(c, err)
					}
					return printCreated(c, n, "created draft "+cp.Name+" from "+c.Args().Get(0), cp.Name)
				}),
			},
			{
				Name:      "delete",
				Usage:     "delete a draft campaign (a campaign whose send started is kept as the record of what was sent)",
				ArgsUsage: "NAME",
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					n, err := openNewsletter(c, db)
					if err != nil {
						return err
					}
					if err := n.DeleteCampaign(c.Context, c.Args().First()); err != nil {
						return campaignError(c, err)
					}
					fmt.Fprintf(c.App.Writer, "deleted draft %s\n", c.Args().First())
					return nil
				}),
			},
		},
	}
}

func createCampaign(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	from, err := fromSetting(c, db, "campaign create", "the campaign")
	if err != nil {
		return err
	}
	replyTo := c.String("reply-to")
	if !c.IsSet("reply-to") {
		st, err := db.Settings(c.Context)
		if err != nil {
			return err
		}
		replyTo = st.ReplyTo
	}
	warnSegment(c, db, c.String("segment"))
	spec := newsletter.CampaignSpec{Name: c.Args().First(), List: c.String("list"), Segment: c.String("segment"),
		From: from, ReplyTo: replyTo, Subject: c.String("subject")}
	if spec.Templates, err = readTemplates(c); err != nil {
		return err
	}
	cp, err := n.CreateCampaign(c.Context, spec)
	if err != nil {
		return campaignError(c, err)
	}
	return printCreated(c, n, "created campaign "+cp.Name, cp.Name)
}

// fromSetting returns the sender: --from (or its environment variable),
// else the association's from setting; with neither, a usage error.
func fromSetting(c *cli.Context, db *crm.DB, command, what string) (string, error) {
	if from := c.String("from"); from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return "", usagef("--from %q: want an address such as \"Asso <news@asso.org>\"", from)
		}
		return from, nil
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return "", err
	}
	if st.From == "" {
		return "", usagef("%s: --from is required for %s (or set it once: crm settings set from \"Asso <news@asso.org>\")", command, what)
	}
	return st.From, nil
}

// templateFlag splits a --template value, [LANG=]FILE, into the language
// (from the file's name when not given) and the file.
func templateFlag(v string) (lang, file string) {
	lang, file, ok := strings.Cut(v, "=")
	if !ok {
		return newsletter.TemplateLanguage(v), v
	}
	return strings.TrimSpace(lang), file
}

// readTemplates reads the files of the --template flags.
func readTemplates(c *cli.Context) ([]newsletter.TemplateSource, error) {
	var out []newsletter.TemplateSource
	for _, v := range c.StringSlice("template") {
		lang, file := templateFlag(v)
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--template %q: %w", v, err)
		}
		out = append(out, newsletter.TemplateSource{Language: lang, Source: string(src)})
	}
	return out, nil
}

// campaignError adds the command line's hints to what the library says
// of a campaign: a template's mistake is said with its file's name.
func campaignError(c *cli.Context, err error) error {
	if te := (*newsletter.TemplateError)(nil); errors.As(err, &te) {
		file := ""
		for _, v := range c.StringSlice("template") {
			if lang, f := templateFlag(v); strings.EqualFold(lang, te.Language) {
				file = f
			}
		}
		if file == "" {
			return err // a template stored before (edit, copy)
		}
		where := filepath.Base(file)
		if !strings.Contains(strings.ToLower(where), "."+strings.ToLower(te.Language)+".") {
			where += " (" + te.Language + ")" // appel.md, given as en=appel.md
		}
		if te.Line > 0 {
			where += fmt.Sprintf(" line %d", te.Line)
		}
		return fmt.Errorf("%s: %s", where, te.Reason)
	}
	if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) && ve.Field == "subject" {
		// The library names the field; the hint names the flag.
		return fmt.Errorf("template %s: no subject: give --subject or a \"subject:\" line in its front matter", ve.Value)
	}
	if errors.Is(err, newsletter.ErrNotDraft) {
		return fmt.Errorf("%w (crm campaign copy NAME NEW makes a new draft of it)", err)
	}
	return err
}

// printCreated says what was done and how many would receive the
// campaign now.
func printCreated(c *cli.Context, n *newsletter.Newsletter, done, name string) error {
	st, err := n.CampaignStats(c.Context, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: %s now (%s); send it with: crm send %s\n",
		done, recipients(st.Recipients), byLanguage(st.ByLanguage), name)
	return nil
}

func previewCampaign(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	name := c.Args().First()
	m, err := n.RenderFor(c.Context, name, c.String("as"), c.String("lang"))
	if err != nil {
		return explainFlag("as", err)
	}
	warnNoPublicURL(c, n)
	if as := c.String("as"); as != "" {
		if _, err := db.SupporterID(c.Context, as); errors.Is(err, crm.ErrNotFound) {
			fmt.Fprintf(c.App.ErrWriter, "note: no supporter has the address %s: shown for a sample supporter (Camille Exemple)\n", as)
		}
	}
	if lang := c.String("lang"); lang != "" {
		cp, err := n.Campaign(c.Context, name)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cp.Templates, func(t newsletter.TemplateSource) bool { return strings.EqualFold(t.Language, lang) }) {
			fmt.Fprintf(c.App.ErrWriter, "note: the campaign has no %s template: shown in %s, as those readers would get it\n",
				lang, cp.Templates[0].Language)
		}
	}
	htmlPath := c.String("out")
	if htmlPath == "" {
		htmlPath = filepath.Join(os.TempDir(), name+".preview.html")
	}
	textPath := strings.TrimSuffix(htmlPath, filepath.Ext(htmlPath)) + ".txt"
	if textPath == htmlPath {
		textPath += ".txt"
	}
	// The files show a supporter's name and address: readable by their
	// owner only, as the database is.
	for _, f := range []struct{ path, body string }{{htmlPath, m.HTML}, {textPath, m.Text}} {
		if err := writePrivateFile(f.path, f.body); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	w := c.App.Writer
	fmt.Fprintf(w, "To: %s\nSubject: %s\n%s\n%s\n", m.To, m.Subject, htmlPath, textPath)
	if !c.Bool("dry-run") {
		return nil
	}
	p, err := n.DryRun(c.Context, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "audience: %s (%s)\n", recipients(p.Recipients), byLanguage(p.ByLanguage))
	printAudience(w, p)
	return nil
}

// printAudience says who of a campaign's audience lacks a field its
// templates use, and who its first recipients are, masked.
func printAudience(w io.Writer, p *newsletter.Preview) {
	labels := map[string]string{"FirstName": "first name", "LastName": "last name", "City": "city"}
	for _, f := range slices.Sorted(maps.Keys(p.Empty)) {
		label := labels[f]
		if key, ok := strings.CutPrefix(f, "Attr "); ok {
			label = fmt.Sprintf("attribute %q", key)
		}
		verb := "have"
		if p.Empty[f] == 1 {
			verb = "has"
		}
		fmt.Fprintf(w, "  %d %s no %s\n", p.Empty[f], verb, label)
	}
	if len(p.Sample) > 0 {
		fmt.Fprintf(w, "first recipients: %s\n", strings.Join(p.Sample, ", "))
	}
}

// writePrivateFile writes body to path, readable by its owner only.
func writePrivateFile(path, body string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // a file that existed keeps its mode otherwise
		f.Close()
		return err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func scheduleCampaign(c *cli.Context, db *crm.DB) error {
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	loc := st.Location()
	if tz := c.String("tz"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return usagef("--tz %q: not a time zone such as Europe/Paris", tz)
		}
	}
	at, err := crm.ParseDate(c.String("at"), loc)
	if err != nil {
		return usagef("--at %q: want a time such as \"2026-12-05 07:30\"", c.String("at"))
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	cp, err := n.ScheduleCampaign(c.Context, c.Args().First(), at)
	if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) && ve.Field == "at" {
		return fmt.Errorf("--at %q: %s", c.String("at"), ve.Reason)
	}
	if err != nil {
		return campaignError(c, err)
	}
	fmt.Fprintf(c.App.Writer, "campaign %s will be sent at %s (crm serve sends it, or crm send --due from cron)\n",
		cp.Name, cp.ScheduledAt.In(loc).Format("2006-01-02 15:04 MST"))
	return nil
}

func editCampaign(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	var edit newsletter.CampaignEdit
	stringFlags(c, map[string]**string{"list": &edit.List, "segment": &edit.Segment, "from": &edit.From,
		"reply-to": &edit.ReplyTo, "subject": &edit.Subject})
	if edit.Templates, err = readTemplates(c); err != nil {
		return err
	}
	edit.RemoveTemplates = c.StringSlice("remove-template")
	if edit.Segment != nil {
		warnSegment(c, db, *edit.Segment)
	}
	if edit.List == nil && edit.Segment == nil && edit.From == nil && edit.ReplyTo == nil && edit.Subject == nil &&
		len(edit.Templates) == 0 && len(edit.RemoveTemplates) == 0 {
		return usagef("campaign edit: nothing to change: give --list, --segment, --from, --reply-to, --subject, --template or --remove-template")
	}
	cp, err := n.EditCampaign(c.Context, c.Args().First(), edit)
	if err != nil {
		return campaignError(c, err)
	}
	return printCreated(c, n, "changed draft "+cp.Name, cp.Name)
}

// campaignStatus is a campaign's state as campaign list and show say it:
// a draft with a time to be sent is "scheduled", one whose time passed
// longer ago than crm send --due waits "late: waits for a person".
func campaignStatus(cp *newsletter.Campaign, now time.Time) string {
	switch {
	case cp.ScheduledAt.IsZero():
		return string(cp.Status)
	case cp.Late(now, newsletter.DefaultMaxLate):
		return "late: waits for a person"
	case cp.Status == newsletter.StatusDraft:
		return "scheduled"
	}
	return string(cp.Status)
}

// recipients says "1 recipient" or "n recipients".
func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return strconv.Itoa(n) + " recipients"
}

func byLanguage(m map[string]int) string {
	var parts []string
	for _, lang := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", lang, m[lang]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func showCampaign(c *cli.Context, db *crm.DB) error {
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	st, err := n.CampaignStats(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	cp := st.Campaign
	recs := records{columns: textColumns("field", "value"), json: st}
	settings, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	local := func(t time.Time) sheet.Value {
		if t.IsZero() {
			return sheet.Value{}
		}
		return sheet.DateTime(t.In(settings.Location()), "2006-01-02 15:04 MST")
	}
	count := func(n int) sheet.Value { return sheet.Int(int64(n)) }
	for _, kv := range []struct {
		field string
		value sheet.Value
	}{
		{"name", sheet.Text(cp.Name)}, {"list", sheet.Text(cp.List)}, {"segment", sheet.Text(cp.Segment)},
		{"from", sheet.Text(cp.From)}, {"reply_to", sheet.Text(cp.ReplyTo)}, {"subject", sheet.Text(cp.Subject)},
		{"status", sheet.Text(campaignStatus(cp, time.Now()))}, {"scheduled_at", local(cp.ScheduledAt)},
		{"started_at", local(cp.StartedAt)}, {"finished_at", local(cp.FinishedAt)},
		{"recipients", count(st.Recipients)},
		{"pending", count(st.Pending)}, {"sent", count(st.Sent)}, {"failed", count(st.Failed)},
		{"uncertain", count(st.Uncertain)}, {"skipped", count(st.Skipped)},
		{"delivered", count(st.Delivered)}, {"delayed", count(st.Delayed)},
		{"bounced", count(st.Bounced)}, {"complained", count(st.Complained)},
		{"unsubscribed", count(st.Unsubscribed)}, {"opened", count(cp.Opened)},
		{"clicked", count(cp.Clicked)}, {"by_language", sheet.Text(byLanguage(st.ByLanguage))},
	} {
		if !kv.value.IsEmpty() {
			recs.rows = append(recs.rows, []sheet.Value{sheet.Text(kv.field), kv.value})
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(st.FailedReasons)) {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text("failed_reason"),
			sheet.Text(fmt.Sprintf("%d: %s", st.FailedReasons[reason], reason))})
	}
	if chart := c.String("chart"); chart != "" {
		format := strings.TrimPrefix(strings.ToLower(filepath.Ext(chart)), ".")
		if format != "svg" && format != "png" {
			return usagef("--chart %q: want a .svg or .png file", chart)
		}
		var b bytes.Buffer
		if err := newsletter.WriteChart(&b, st, format); err != nil {
			return err
		}
		if err := os.WriteFile(chart, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--chart: %w", err)
		}
		defer fmt.Fprintf(c.App.ErrWriter, "chart written to %s\n", chart)
	}
	for _, t := range cp.Templates {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text("template"), sheet.Text(t.Language)})
	}
	return printRecords(c, recs)
}

func sendCommand() *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "send a campaign, exactly once per recipient (run it again to resume)",
		ArgsUsage: "NAME | --due",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "due", Usage: "send the queued welcome and confirmation emails, then the scheduled campaigns that are due, once (for a cron job)"},
			&cli.DurationFlag{Name: "max-late", Value: newsletter.DefaultMaxLate, Usage: "with --due: a campaign due longer ago than this waits for a person"},
			&cli.BoolFlag{Name: "dry-run", Usage: "count recipients and show the first message; send nothing"},
			&cli.StringFlag{Name: "test", Usage: "send one copy to this address, subject prefixed [TEST]; record nothing"},
			&cli.StringFlag{Name: "outbox", Usage: "write every message the send would send now to this folder as .eml files; records nothing. " +
				"With --due: write the queued welcome and confirmation emails there (they count as sent), and send no campaign"},
			// No EnvVars: CRM_FROM in the environment must not make
			// "crm send NAME" refuse a --from it was not given.
			&cli.StringFlag{Name: "from", Usage: "with --due: sender of the queued welcome and confirmation emails (default: CRM_FROM, else the from setting)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			publicURLFlag(),
		},
		Action: withDB(0, 1, sendCampaign),
	}
}

// resendSender returns the Resend sender of command, which sends real
// mail, with the hints of the command line for what the library refuses;
// instead says what the command can do without the key. The public URL
// is asked for before the API key.
func resendSender(n *newsletter.Newsletter, command, mail, instead string) (*newsletter.ResendSender, error) {
	if err := n.CheckSender((*newsletter.ResendSender)(nil)); errors.Is(err, newsletter.ErrNoPublicURL) {
		return nil, usagef("%s: --public-url (or CRM_PUBLIC_URL, or crm settings set public-url) is required to send real %s", command, mail)
	}
	rs, err := newsletter.NewResendSender(os.Getenv("RESEND_API_KEY"))
	if errors.Is(err, newsletter.ErrNoAPIKey) {
		return nil, fmt.Errorf("RESEND_API_KEY is not set: export your Resend API key (%s)", instead)
	}
	return rs, err
}

func sendCampaign(c *cli.Context, db *crm.DB) error {
	name := c.Args().First()
	if c.Bool("dry-run") && c.IsSet("test") {
		return usagef("send: give --dry-run or --test, not both")
	}
	if c.Bool("due") != (name == "") {
		return usagef("send: give a campaign's NAME, or --due for the queued emails and the scheduled campaigns")
	}
	if c.IsSet("from") && !c.Bool("due") {
		return usagef("send %s: --from is for --due; a campaign's sender is changed with crm campaign edit %s --from", name, name)
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	if c.Bool("due") {
		return sendDue(c, n)
	}
	w := c.App.Writer
	if c.Bool("dry-run") {
		p, err := n.DryRun(c.Context, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "campaign %s (%s): %s (%s); dry run, nothing sent\n", p.Campaign.Name,
			p.Campaign.Status, recipients(p.Recipients), byLanguage(p.ByLanguage))
		printAudience(w, p)
		if p.First != nil {
			fmt.Fprintf(w, "\nfirst message\nTo: %s\nFrom: %s\nSubject: %s\nList-Unsubscribe: %s\n\n%s\n", p.Sample[0],
				p.First.From, p.First.Subject, p.First.Headers["List-Unsubscribe"], p.First.Text)
		}
		return nil
	}
	if dir := c.String("outbox"); dir != "" && !c.IsSet("test") {
		return writeOutbox(c, n, name, dir)
	}
	var sender newsletter.Sender
	if dir := c.String("outbox"); dir != "" {
		warnNoPublicURL(c, n)
		sender = &newsletter.Outbox{Dir: dir}
	} else {
		rs, err := resendSender(n, "send", "mail: unsubscribe links must work",
			"or write the messages to a folder with --outbox DIR")
		if err != nil {
			return err
		}
		sender = rs
	}
	if to := c.String("test"); to != "" {
		m, err := n.SendTest(c.Context, name, to, "", sender)
		if err != nil {
			return explainFlag("test", err)
		}
		fmt.Fprintf(w, "test message %q sent to %s\n", m.Subject, m.To)
		return nil
	}
	st, err := n.CampaignStats(c.Context, name)
	if err != nil {
		return err
	}
	if st.Campaign.Status != newsletter.StatusSent && !c.Bool("yes") {
		// With no terminal there is no question.
		question := fmt.Sprintf("Send campaign %s to %s (%s)?", st.Campaign.Name, recipients(st.Pending), byLanguage(st.ByLanguage))
		if yes, asked := ask(c, question); asked && !yes {
			return errors.New("send cancelled: nothing was sent")
		}
	}
	opts := newsletter.SendOptions{}
	if errFile, ok := terminal(c.App.ErrWriter); ok {
		bar := progressbar.NewOptions(st.Recipients, progressbar.OptionSetWriter(errFile),
			progressbar.OptionSetDescription("sending "+st.Campaign.Name), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		opts.Progress = func(done, total int) { bar.Set(done) }
		defer bar.Finish()
	}
	rep, err := n.Send(c.Context, name, sender, opts)
	if rep != nil && rep.AlreadyDone {
		fmt.Fprintf(w, "campaign %s was already sent: nothing to send\n", rep.Campaign)
		return nil
	}
	if rep != nil {
		fmt.Fprintf(w, "campaign %s: %d sent, %d failed, %d skipped", rep.Campaign, rep.Sent, rep.Failed, rep.Skipped)
		if rep.Uncertain > 0 {
			fmt.Fprintf(w, ", %d uncertain", rep.Uncertain)
		}
		fmt.Fprintf(w, " in %s\n", rep.Elapsed.Round(time.Millisecond))
		if rep.Unfinished > 0 {
			fmt.Fprintf(w, "%d batch(es) are held by another sender, or by one that stopped without finishing: "+
				"the campaign is not finished; run crm send %s again (a sender that died on this machine, or whose "+
				"PostgreSQL session ended, is taken over at once; one on another machine after its 2-minute lease)\n",
				rep.Unfinished, rep.Campaign)
		}
	}
	return err
}

// sendDue sends, through Resend, the queued welcome and confirmation
// emails, then the scheduled campaigns that are due, and says what it
// did. With --outbox it writes the queued emails to the folder and leaves
// the campaigns alone: a campaign written there would be recorded as
// sent and reach no one.
func sendDue(c *cli.Context, n *newsletter.Newsletter) error {
	if c.IsSet("test") || c.Bool("dry-run") {
		return usagef("send --due: --test and --dry-run look at one campaign: give its NAME instead of --due")
	}
	from := c.String("from")
	if from == "" {
		from = os.Getenv("CRM_FROM")
	}
	if from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return usagef("--from %q: want an address such as \"Asso <news@asso.org>\"", from)
		}
	}
	if dir := c.String("outbox"); dir != "" {
		warnNoPublicURL(c, n)
		rep, err := n.SendNotices(c.Context, &newsletter.Outbox{Dir: dir}, newsletter.NoticeOptions{From: from})
		if err != nil {
			return err
		}
		if rep.Sent+rep.Failed+rep.Uncertain+rep.Waiting == 0 {
			fmt.Fprintln(c.App.Writer, "no queued welcome or confirmation email")
		}
		nerr := printNotices(c, rep, dir)
		cs, err := n.DueCampaigns(c.Context)
		if err != nil {
			return err
		}
		if due := len(cs); due > 0 {
			fmt.Fprintf(c.App.Writer, "%d scheduled campaign(s) due were not sent: with --outbox, --due writes only the queued emails "+
				"(crm send --due with RESEND_API_KEY sends the campaigns; crm send NAME --outbox DIR writes one to look at)\n", due)
		}
		return nerr
	}
	rs, err := resendSender(n, "send --due", "mail: unsubscribe links must work",
		"or write the queued welcome and confirmation emails to a folder with crm send --due --outbox DIR")
	if err != nil {
		return err
	}
	// The queued confirmations and welcomes first: people are waiting
	// for them.
	nrep, err := n.SendNotices(c.Context, rs, newsletter.NoticeOptions{From: from})
	if err != nil {
		return err
	}
	nerr := printNotices(c, nrep, "")
	reports, err := n.SendDue(c.Context, rs, c.Duration("max-late"), newsletter.SendOptions{})
	if err := printDue(c.App.Writer, c.App.ErrWriter, reports, err, c.Duration("max-late")); err != nil {
		return err
	}
	return nerr
}

// printDue says what SendDue did; it returns the first failure.
func printDue(w, errw io.Writer, reports []newsletter.DueReport, err error, maxLate time.Duration) error {
	if err == nil && len(reports) == 0 {
		fmt.Fprintln(w, "no scheduled campaign is due")
	}
	for _, r := range reports {
		switch {
		case r.Late:
			fmt.Fprintf(errw, "campaign %s is due since more than %s: not sent; send it with crm send %s, or schedule it again\n",
				r.Campaign, maxLate, r.Campaign)
		case r.Err != nil:
			fmt.Fprintf(errw, "campaign %s: %v\n", r.Campaign, r.Err)
			if err == nil {
				err = fmt.Errorf("campaign %s: %w", r.Campaign, r.Err)
			}
		case r.Report != nil && r.Report.AlreadyDone:
		case r.Report != nil:
			fmt.Fprintf(w, "campaign %s: %d sent, %d failed, %d skipped\n", r.Campaign, r.Report.Sent, r.Report.Failed,
				r.Report.Skipped)
		}
	}
	return err
}

// writeOutbox writes to dir, as .eml files, every message the send would
// send now, and records nothing: the campaign stays as it was.
func writeOutbox(c *cli.Context, n *newsletter.Newsletter, name, dir string) error {
	written, abs, err := writeMessages(c, n, name, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d messages written to %s; nothing was sent or recorded (the campaign is unchanged)\n",
		written, abs)
	return nil
}

// writeMessages writes to dir, as .eml files, every message the send of
// the campaign would send now, recording nothing; it returns how many,
// and the folder's absolute path.
func writeMessages(c *cli.Context, n *newsletter.Newsletter, name, dir string) (int, string, error) {
	warnNoPublicURL(c, n)
	out := &newsletter.Outbox{Dir: dir}
	var batch []newsletter.Message
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		results, err := out.SendBatch(c.Context, "outbox:"+name, batch)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Error != "" {
				return fmt.Errorf("outbox: %s", r.Error)
			}
		}
		batch = batch[:0]
		return nil
	}
	for m, err := range n.Messages(c.Context, name) {
		if err != nil {
			return 0, "", err
		}
		if batch = append(batch, m); len(batch) == newsletter.BatchSize {
			if err := flush(); err != nil {
				return 0, "", err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, "", err
	}
	abs, _ := filepath.Abs(dir)
	return out.Written(), abs, nil
}

// warnNoPublicURL says, in one line on standard error, that the links of
// messages written without a public URL point to no real site.
func warnNoPublicURL(c *cli.Context, n *newsletter.Newsletter) {
	if errors.Is(n.CheckSender((*newsletter.ResendSender)(nil)), newsletter.ErrNoPublicURL) {
		fmt.Fprintf(c.App.ErrWriter, "note: no public URL (--public-url, CRM_PUBLIC_URL or crm settings set public-url): the links in these messages point to %s\n",
			n.PublicURL())
	}
}

// explainFlag puts the flag's name before a validation error.
func explainFlag(flag string, err error) error {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("--%s %q: %s", flag, ve.Value, ve.Reason)
	}
	return err
}
