package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

// methodsUsage lists the payment methods for the help of --method, with
// the French names it takes too.
func methodsUsage() string {
	french := map[crm.DonationMethod]string{crm.MethodCash: "espèces", crm.MethodCheque: "chèque",
		crm.MethodTransfer: "virement, prélèvement", crm.MethodCard: "carte", crm.MethodOther: "autre"}
	ms := crm.DonationMethods()
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = string(m)
		if f := french[m]; f != "" {
			names[i] += " (" + f + ")"
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func donationsCommand() *cli.Command {
	return &cli.Command{
		Name:    "donations",
		Aliases: []string{"donation"},
		Usage:   "record, correct and report gifts",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "record a gift",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "email", Usage: "the donor, an existing supporter", Required: true},
					&cli.StringFlag{Name: "amount", Usage: "amount in major units: 25.50 or 25,50", Required: true},
					&cli.StringFlag{Name: "currency", Value: "EUR", Usage: "ISO 4217 code"},
					&cli.StringFlag{Name: "date", Usage: "date received, YYYY-MM-DD or DD/MM/YYYY, not in the future (default today)"},
					&cli.StringFlag{Name: "method", Value: string(crm.MethodOther), Usage: methodsUsage()},
					&cli.StringFlag{Name: "fund", Usage: "fund or campaign"},
					&cli.BoolFlag{Name: "recurring", Usage: "part of a regular gift"},
					&cli.StringFlag{Name: "ref", Usage: "external reference (bank or receipt number); unique"},
					&cli.StringFlag{Name: "note", Usage: "a note of your own on the gift (not on a tax receipt; erased with the donor)"},
				},
				Action: withDB(0, 0, addDonation),
			},
			{
				Name:      "edit",
				Usage:     "correct a gift: change the fields given, leave the others",
				ArgsUsage: "ID",
				Description: "ID is the gift's number, the id column of crm donations list. On a gift of a tax receipt,\n" +
					"--fund and --note may change (the receipt does not state them); the amount, currency, date, method\n" +
					"and donor cannot until that receipt is cancelled (crm receipts cancel). The audit log says what changed.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "amount", Usage: "amount in major units: 25.50 or 25,50"},
					&cli.StringFlag{Name: "currency", Usage: "ISO 4217 code (with --amount, read in this currency)"},
					&cli.StringFlag{Name: "date", Usage: "date received, YYYY-MM-DD or DD/MM/YYYY, not in the future"},
					&cli.StringFlag{Name: "method", Usage: methodsUsage()},
					&cli.StringFlag{Name: "fund", Usage: `fund or campaign ("" for none)`},
					&cli.StringFlag{Name: "email", Usage: "the donor it really came from, an existing supporter"},
					&cli.StringFlag{Name: "note", Usage: `note ("" for none)`},
				},
				Action: withDB(1, 1, editDonation),
			},
			{
				Name:        "delete",
				Usage:       "delete a gift recorded by mistake (not one on a tax receipt)",
				ArgsUsage:   "ID",
				Description: "ID is the gift's number, the id column of crm donations list. The deletion is audited.",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "delete without asking"},
				},
				Action: withDB(1, 1, deleteDonation),
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
				Usage: "sum gifts by month, year, fund, method or donor; donors kept and lapsed (--retention); a chart",
				Description: "--by donor gives each donor's total, count, first and last gift (with --year Y, of that year).\n" +
					"--retention YEAR sorts donors: retained (gave in YEAR-1 and YEAR), new (first gift in YEAR),\n" +
					"recovered (gave in YEAR, not YEAR-1, but before), LYBUNT (gave in YEAR-1, not YEAR) and SYBUNT\n" +
					"(gave before YEAR-1, not since), with what each gave in YEAR, YEAR-1 and before.\n" +
					"--chart FILE.svg or .png draws the gifts of the last 24 months (to December of --year) and the\n" +
					"donors of the --retention year (default: the last complete year) for the general assembly.",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "by", Value: "month", Usage: "month, year, fund, method or donor"},
					&cli.IntFlag{Name: "year", Usage: "only the gifts of this calendar year (instead of --since and --until)"},
					&cli.IntFlag{Name: "retention", Usage: "compare the donors of this `YEAR` with those of the year before " +
						"(whole years: not with --by, --year, --since or --until; with --fund and --chart)"},
					&cli.StringFlag{Name: "since", Usage: "received on or after this date"},
					&cli.StringFlag{Name: "until", Usage: "received on or before this date"},
					&cli.StringFlag{Name: "fund", Usage: "only this fund"},
					&cli.StringFlag{Name: "chart", Usage: "also draw the chart for the general assembly into `FILE`.svg or .png"},
					&cli.StringFlag{Name: "lang", Value: "fr", Usage: "language of the chart: fr or en"},
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

// donationArg reads the ID argument of donations edit and delete.
func donationArg(c *cli.Context) (int64, error) {
	arg := c.Args().First()
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s: %q is not a donation id (the id column of crm donations list)", commandName(c), arg)
	}
	return id, nil
}

func editDonation(c *cli.Context, db *crm.DB) error {
	id, err := donationArg(c)
	if err != nil {
		return err
	}
	if c.IsSet("currency") && !c.IsSet("amount") {
		return usagef("donations edit: --currency needs --amount, which is read in that currency")
	}
	var e crm.DonationEdit
	text := func(flag string) *string {
		if !c.IsSet(flag) {
			return nil
		}
		v := c.String(flag)
		return &v
	}
	e.Currency, e.Fund, e.Note = text("currency"), text("fund"), text("note")
	if c.IsSet("method") {
		m := crm.DonationMethod(c.String("method"))
		e.Method = &m
	}
	if c.IsSet("date") {
		d, err := crm.ParseDate(c.String("date"), time.UTC)
		if err != nil {
			return err
		}
		e.ReceivedAt = &d
	}
	if c.IsSet("email") {
		sid, err := supporterID(c, db, c.String("email"))
		if err != nil {
			return fmt.Errorf("--email: %w", err)
		}
		e.SupporterID = &sid
	}
	if c.IsSet("amount") {
		cur := c.String("currency")
		if cur == "" {
			d, err := db.GetDonation(c.Context, id)
			if err != nil {
				return err
			}
			cur = d.Currency
		}
		amount, err := crm.ParseAmount(c.String("amount"), cur)
		if err != nil {
			return err
		}
		e.Amount = &amount
	}
	if e == (crm.DonationEdit{}) {
		return usagef("donations edit: nothing to change; give one or more of --amount, --currency, --date, --method, --fund, --email, --note")
	}
	d, err := db.EditDonation(c.Context, id, e)
	if err != nil {
		return err
	}
	d, err = db.GetDonation(c.Context, d.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "updated donation %d: %s\n", d.ID, describeDonation(d))
	return nil
}

// describeDonation says what a gift is, in one line, for the messages
// of edit and delete.
func describeDonation(d *crm.Donation) string {
	s := fmt.Sprintf("%s %s on %s by %s", crm.FormatAmount(d.Amount, d.Currency), d.Currency,
		d.ReceivedAt.UTC().Format(time.DateOnly), d.Method)
	if d.Email != "" {
		s += " from " + d.Email
	}
	if d.Fund != "" {
		s += ", fund " + d.Fund
	}
	return s
}

// deleteDonation deletes a gift, when --yes or the answer at the
// terminal says so.
func deleteDonation(c *cli.Context, db *crm.DB) error {
	id, err := donationArg(c)
	if err != nil {
		return err
	}
	d, err := db.GetDonation(c.Context, id)
	if err != nil {
		return err
	}
	if !c.Bool("yes") {
		yes, asked := ask(c, fmt.Sprintf("Delete donation %d (%s)?", id, describeDonation(d)))
		if !asked {
			return usagef("donations delete: add --yes to delete donation %d (%s)", id, describeDonation(d))
		}
		if !yes {
			return errors.New("nothing was deleted")
		}
	}
	if err := db.DeleteDonation(c.Context, id); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "deleted donation %d (%s)\n", id, describeDonation(d))
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
	recs := records{columns: []sheet.Column{{Name: "id", Kind: sheet.KindInteger}, {Name: "email"},
		{Name: "date", Kind: sheet.KindDate}, {Name: "amount", Kind: sheet.KindMoney}, {Name: "currency"},
		{Name: "method"}, {Name: "fund"}, {Name: "recurring", Kind: sheet.KindBoolean}, {Name: "ref"}}, json: ds}
	for _, d := range ds {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Int(d.ID), sheet.Text(d.Email), sheet.Date(d.ReceivedAt),
			sheet.Money(d.Amount, d.Currency), sheet.Text(d.Currency), sheet.Text(string(d.Method)), sheet.Text(d.Fund),
			sheet.Bool(d.Recurring), sheet.Text(d.ExternalRef)})
	}
	return printRecords(c, recs)
}
func reportDonations(c *cli.Context, db *crm.DB) error {
	if c.IsSet("year") && (c.IsSet("since") || c.IsSet("until")) {
		return usagef("donations report: --year is the whole year: give it or --since and --until, not both")
	}
	if c.IsSet("retention") {
		for _, flag := range []string{"by", "year", "since", "until"} {
			if c.IsSet(flag) {
				return usagef("donations report: --retention compares whole years and takes no --%s (only --fund, --chart)", flag)
			}
		}
	}
	if c.IsSet("lang") && !c.IsSet("chart") {
		return usagef("donations report: --lang is the language of --chart FILE")
	}
	for _, flag := range []string{"year", "retention"} {
		if y := c.Int(flag); c.IsSet(flag) && (y < 1900 || y > 9998) {
			return usagef("donations report: --%s %d: want a year such as 2026", flag, y)
		}
	}
	f, err := donationFilter(c, db)
	if err != nil {
		return err
	}
	if c.IsSet("year") {
		since := time.Date(c.Int("year"), 1, 1, 0, 0, 0, 0, time.UTC)
		until := since.AddDate(1, 0, 0)
		f.Since, f.Until = &since, &until
	}
	if c.IsSet("chart") {
		if err := writeDonationChart(c, db, f.Fund); err != nil {
			return err
		}
	}
	switch by := c.String("by"); {
	case c.IsSet("retention"):
		return reportRetention(c, db, f.Fund)
	case by == "donor":
		return reportDonors(c, db, f)
	case !slices.Contains([]crm.ReportGroup{crm.ByMonth, crm.ByYear, crm.ByFund, crm.ByMethod}, crm.ReportGroup(by)):
		return fmt.Errorf("--by %q: want month, year, fund, method or donor", by)
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

// reportDonors prints each donor's total, count, first and last gift.
func reportDonors(c *cli.Context, db *crm.DB, f crm.DonationFilter) error {
	rows, err := db.DonorReport(c.Context, f)
	if err != nil {
		return err
	}
	recs := records{columns: []sheet.Column{{Name: "email"}, {Name: "name"}, {Name: "currency"},
		{Name: "count", Kind: sheet.KindInteger}, {Name: "total", Kind: sheet.KindMoney},
		{Name: "first", Kind: sheet.KindDate}, {Name: "last", Kind: sheet.KindDate}}, json: rows}
	for _, r := range rows {
		name := r.Name()
		if r.SupporterID == 0 {
			name = "(erased donors)"
		}
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(r.Email), sheet.Text(name), sheet.Text(r.Currency),
			sheet.Int(int64(r.Count)), sheet.Money(r.Sum, r.Currency), sheet.Date(r.First), sheet.Date(r.Last)})
	}
	return printRecords(c, recs)
}

// reportRetention prints the donors of --retention YEAR by category,
// with what they gave that year, the year before and earlier.
func reportRetention(c *cli.Context, db *crm.DB, fund *string) error {
	y := c.Int("retention")
	rows, err := db.RetentionReport(c.Context, crm.RetentionOptions{Year: y, Fund: fund})
	if err != nil {
		return err
	}
	who := map[crm.DonorCategory]string{
		crm.DonorsRetained:  fmt.Sprintf("gave in %d and %d", y-1, y),
		crm.DonorsNew:       fmt.Sprintf("first gift in %d", y),
		crm.DonorsRecovered: fmt.Sprintf("gave in %d, not %d, but before", y, y-1),
		crm.DonorsLYBUNT:    fmt.Sprintf("gave in %d, not %d", y-1, y),
		crm.DonorsSYBUNT:    fmt.Sprintf("gave before %d, not since", y-1),
	}
	recs := records{columns: []sheet.Column{{Name: "category"}, {Name: "currency"}, {Name: "donors", Kind: sheet.KindInteger},
		{Name: fmt.Sprint(y), Kind: sheet.KindMoney}, {Name: fmt.Sprint(y - 1), Kind: sheet.KindMoney},
		{Name: fmt.Sprintf("before %d", y-1), Kind: sheet.KindMoney}, {Name: "who"}}, json: rows}
	for _, r := range rows {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(string(r.Category)), sheet.Text(r.Currency),
			sheet.Int(int64(r.Donors)), sheet.Money(r.ThisYear, r.Currency), sheet.Money(r.LastYear, r.Currency),
			sheet.Money(r.Earlier, r.Currency), sheet.Text(who[r.Category])})
	}
	return printRecords(c, recs)
}

// writeDonationChart draws the chart of --chart FILE.svg or .png: the
// last 24 months, or those to December of --year, and the donors of
// --retention, or of the last complete year. The file is written whole
// or not at all.
func writeDonationChart(c *cli.Context, db *crm.DB, fund *string) error {
	path := c.String("chart")
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != "svg" && format != "png" {
		return usagef("--chart %q: want a .svg or .png file", path)
	}
	o := crm.DonationChartOptions{Format: format, Language: c.String("lang"), RetentionYear: c.Int("retention"), Fund: fund}
	if c.IsSet("year") {
		o.End = time.Date(c.Int("year"), 12, 1, 0, 0, 0, 0, time.UTC)
		if o.RetentionYear == 0 {
			o.RetentionYear = c.Int("year")
		}
	}
	var b bytes.Buffer
	info, err := db.WriteDonationChart(c.Context, &b, o)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		return fmt.Errorf("--chart: %w", err)
	}
	msg := fmt.Sprintf("chart written to %s (%s to %s, donors of %d, in %s", path, info.First.Format("2006-01"),
		info.Last.Format("2006-01"), info.RetentionYear, info.Currency)
	if len(info.LeftOut) > 0 {
		msg += "; gifts in " + strings.Join(info.LeftOut, ", ") + " are not drawn"
	}
	fmt.Fprintln(c.App.ErrWriter, msg+")")
	return nil
}

// writeFileAtomic writes b to path under a temporary name beside it,
// renamed into place once whole, readable by its owner only, like the
// files of --out: a chart of a small association's gifts, like a
// receipt, says things about its donors.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
