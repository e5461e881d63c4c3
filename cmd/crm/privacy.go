package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

func exportSupporterCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "print, as JSON, everything held about one person (GDPR art. 15)",
		ArgsUsage: "EMAIL",
		Action: withReadDB(1, 1, func(c *cli.Context, db *crm.DB) error {
			n, err := openNewsletter(c, db)
			if err != nil {
				return err
			}
			x, err := n.Export(c.Context, c.Args().First())
			if errors.Is(err, crm.ErrNotFound) {
				return fmt.Errorf("no supporter with email %q: %w", c.Args().First(), crm.ErrNotFound)
			}
			if err != nil {
				return err
			}
			return writeJSON(c.App.Writer, x)
		}),
	}
}

func forgetSupporterCommand() *cli.Command {
	return &cli.Command{
		Name:      "forget",
		Usage:     "erase one person (GDPR art. 17); donations stay as anonymous amounts",
		ArgsUsage: "EMAIL",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "force", Usage: "erase a donor with a tax receipt of the last 6 years too (kept by law: LPF art. L102 B); " +
				"the receipts keep their numbers and amounts, their donor fields are blanked"}},
		Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
			email := c.Args().First()
			if _, err := supporterID(c, db, email); err != nil {
				return err
			}
			if !c.Bool("yes") {
				yes, asked := ask(c, fmt.Sprintf("Erase %s for good? This cannot be undone.", email))
				if !asked {
					return usagef("supporters forget: erasing cannot be undone; add --yes to confirm")
				}
				if !yes {
					return errors.New("nothing was erased")
				}
			}
			n, err := openNewsletter(c, db)
			if err != nil {
				return err
			}
			rep, err := n.ForgetWith(c.Context, email, crm.ForgetOptions{Force: c.Bool("force")})
			if errors.Is(err, crm.ErrRetention) {
				return fmt.Errorf("nothing was erased: %w; the association must keep its receipts six years. "+
					"Add --force to erase the person anyway: their receipts keep their numbers and amounts, without the donor's name and address", err)
			}
			if rep == nil {
				return err // nothing was erased
			}
			fmt.Fprintln(c.App.Writer, "erased; the address is on the erased list (a keyed hash), so a later import is refused")
			return printForgetReports(c, []*newsletter.ForgetReport{rep}, err)
		}),
	}
}

// printForgetReports prints what erasures could not undo: the campaigns
// that may have mailed the people erased, the files forget cannot reach,
// and, when the erasures were committed but SQLite's log stayed
// (crm.ErrLogBusy), a warning instead of an error, since the erasure
// holds. Any other error is returned.
func printForgetReports(c *cli.Context, reps []*newsletter.ForgetReport, err error) error {
	w := c.App.Writer
	for _, rep := range reps {
		for _, name := range rep.MayHaveBeenMailed {
			fmt.Fprintf(w, "warning: campaign %s had handed the batch of supporter %d to the provider (Resend, or an outbox "+
				"folder) in a send that stopped or is still running: the message may have gone out; that batch goes "+
				"out as it was (or the provider answers as before) when the send goes on (`crm send %s`), and the "+
				"address leaves the database then\n", name, rep.SupporterID, name)
		}
	}
	if len(reps) > 0 {
		fmt.Fprintln(w, forgetFilesNote)
	}
	if errors.Is(err, crm.ErrLogBusy) {
		fmt.Fprintf(c.App.ErrWriter, "warning: %v; older copies of the erased data may stay in the database's -wal file "+
			"until the next erasure or send truncates it, or every program using the database closes it\n", err)
		return nil
	}
	return err
}

// forgetFilesNote is what erasure cannot reach: files the tool wrote
// outside the database.
const forgetFilesNote = "note: outbox folders (crm send --outbox, crm serve --outbox, crm receipts send --outbox or " +
	"--record-outbox), tax receipt PDFs (the --out folders of crm receipts issue and crm receipts pdf) and backups " +
	"(crm backup, copies of the database file) are your files: they may still hold the name and address; delete them, " +
	"or erase them there yourself"

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "show the audit log: who changed what, and how",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "supporter", Usage: "only entries about this supporter (email)"},
			&cli.StringFlag{Name: "since", Usage: "only entries on or after this date"},
		}, outputFlags()...),
		Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
			var f crm.AuditFilter
			if c.IsSet("supporter") {
				id, err := supporterID(c, db, c.String("supporter"))
				if err != nil {
					return fmt.Errorf("--supporter: %w", err)
				}
				f.SupporterID = id
			}
			if c.IsSet("since") {
				d, err := crm.ParseDate(c.String("since"), time.UTC)
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				f.Since = d
			}
			entries, err := db.AuditLog(c.Context, f)
			if err != nil {
				return err
			}
			// Times in the association's time zone: a spreadsheet shows a
			// date-time's wall clock, without its zone.
			st, err := db.Settings(c.Context)
			if err != nil {
				return err
			}
			loc := st.Location()
			recs := records{columns: []sheet.Column{{Name: "at", Kind: sheet.KindDateTime}, {Name: "channel"},
				{Name: "action"}, {Name: "supporter_id", Kind: sheet.KindInteger}, {Name: "details"}}, json: entries}
			for _, e := range entries {
				var id sheet.Value
				if e.SupporterID != 0 {
					id = sheet.Int(e.SupporterID)
				}
				recs.rows = append(recs.rows, []sheet.Value{sheet.DateTime(e.At.In(loc), time.RFC3339), sheet.Text(e.Channel),
					sheet.Text(e.Action), id, sheet.Text(e.Details)})
			}
			return printRecords(c, recs)
		}),
	}
}

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of the database, while it stays in use",
		ArgsUsage: "FILE",
		Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
			if err := db.Backup(c.Context, c.Args().First()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "backup written to %s\n", c.Args().First())
			return nil
		}),
	}
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the database's integrity and schema version",
		Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
			r, err := db.Check(c.Context)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "integrity: %s\nschema: %s (this program knows %s)\n", r.Integrity, r.SchemaApplied, r.SchemaKnown)
			if r.Integrity != "ok" {
				return errors.New("the database is damaged: restore a backup (crm backup makes them)")
			}
			return nil
		}),
	}
}

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "erase supporters with no subscription, donation, interest update or consent event for a period",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "inactive", Usage: "period without contact: 3y, 18m, 6w or 90d", Required: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "list them; erase nothing"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		}, outputFlags()...),
		Action: withDB(0, 0, func(c *cli.Context, db *crm.DB) error {
			if c.IsSet("out") && !c.Bool("dry-run") {
				return usagef("prune: --out writes the list of --dry-run; add --dry-run")
			}
			p, err := crm.ParsePeriod(c.String("inactive"))
			if err != nil {
				return explainFlag("inactive", err)
			}
			since := p.Before(db.Now())
			ss, err := db.InactiveSupporters(c.Context, since)
			if err != nil {
				return err
			}
			if c.Bool("dry-run") {
				st, err := db.Settings(c.Context)
				if err != nil {
					return err
				}
				recs := records{columns: []sheet.Column{{Name: "email"}, {Name: "created_at", Kind: sheet.KindDateTime}}, json: ss}
				for _, s := range ss {
					recs.rows = append(recs.rows, []sheet.Value{sheet.Text(s.Email), sheet.DateTime(s.CreatedAt.In(st.Location()), time.RFC3339)})
				}
				return printRecords(c, recs)
			}
			if len(ss) > 0 && !c.Bool("yes") {
				yes, asked := ask(c, fmt.Sprintf("Erase %d supporters inactive since %s?", len(ss), since.Format(time.DateOnly)))
				if !asked {
					return usagef("prune: erasing %d supporters cannot be undone; add --yes to confirm (or --dry-run to list them)", len(ss))
				}
				if !yes {
					return errors.New("nothing was erased")
				}
			}
			n, err := openNewsletter(c, db)
			if err != nil {
				return err
			}
			reps, err := n.Prune(c.Context, since)
			fmt.Fprintf(c.App.Writer, "erased %d supporters inactive since %s\n", len(reps), since.Format(time.DateOnly))
			return printForgetReports(c, reps, err)
		}),
	}
}

// ask puts a yes/no question on the terminal. asked is false when standard
// input is not a terminal (a script): then nothing was asked. Yes is "y",
// "yes", "o" or "oui".
func ask(c *cli.Context, question string) (yes, asked bool) {
	in, ok := terminal(c.App.Reader)
	if !ok {
		return false, false
	}
	fmt.Fprintf(c.App.ErrWriter, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes", "o", "oui":
		return true, true
	}
	return false, true
}
