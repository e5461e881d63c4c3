package main

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/receipt"
	"github.com/assocrm/assocrm/crm/sheet"
	"github.com/assocrm/assocrm/newsletter"
)

func receiptsCommand() *cli.Command {
	// issue, send and declaration need --year; list and pdf take it to
	// choose.
	year := func(required bool) *cli.IntFlag {
		if required {
			return &cli.IntFlag{Name: "year", Usage: "the calendar `YEAR` of the gifts (required)", Required: true}
		}
		return &cli.IntFlag{Name: "year", Usage: "only the receipts of the gifts of this `YEAR`"}
	}
	return &cli.Command{
		Name:    "receipts",
		Aliases: []string{"receipt"},
		Usage:   "tax receipts for donors: France (Cerfa 11580*05) and Belgium (attestation 281.71)",
		Description: "Set the association's details first (crm settings list shows the receipt-... keys, and from, the\n" +
			"sender of the emails), and give donors a postal address (crm supporters edit EMAIL --address ...\n" +
			"--postcode ... --city ...). issue, send and declaration need --year; list and pdf take it to choose.",
		Subcommands: []*cli.Command{
			{
				Name:  "issue",
				Usage: "issue the receipts of a year: one annual summary per donor, numbered 2026-0001, 2026-0002...",
				Flags: []cli.Flag{year(true),
					&cli.StringFlag{Name: "email", Usage: "only this donor's"},
					&cli.BoolFlag{Name: "per-donation", Usage: "one receipt per gift instead of one per donor (France)"},
					&cli.BoolFlag{Name: "dry-run", Usage: "list what would be issued; write nothing"},
					&cli.StringFlag{Name: "out", Usage: "write each receipt issued as a PDF in `DIR` (2026-0001.pdf...)"},
				},
				Action: withDB(0, 0, issueReceipts),
			},
			{
				Name:  "list",
				Usage: "list the receipts",
				Flags: append([]cli.Flag{year(false),
					&cli.StringFlag{Name: "email", Usage: "only this donor's"}}, outputFlags()...),
				Action: withReadDB(0, 0, listReceipts),
			},
			{
				Name:      "pdf",
				Usage:     "write receipts already issued as PDF files again",
				ArgsUsage: "[NUMBER...]",
				Description: "Give receipt NUMBERs, or --year for all the receipts of a year. A cancelled receipt prints marked\n" +
					"cancelled; one whose donor was erased (crm supporters forget) prints no more: it keeps its number and\n" +
					"amount for the declaration, but no longer says whom it was for.",
				Flags: []cli.Flag{year(false),
					&cli.StringFlag{Name: "out", Usage: "the `DIR` to write them in", Required: true}},
				Action: withReadDB(0, -1, writeReceiptPDFs),
			},
			{
				Name:  "send",
				Usage: "email each donor their receipts of a year as PDF attachments, once per receipt (run it again to resume)",
				Description: "With RESEND_API_KEY, sends each receipt not sent before, exactly once. --outbox DIR is a preview:\n" +
					"it writes the emails that would go (DIR/2026-0001.eml...) and records nothing, so the send afterwards\n" +
					"sends them all. --record-outbox DIR is for sending them yourself: it writes them the same way and\n" +
					"records each receipt as sent, so that no later run writes or sends it again.",
				Flags: []cli.Flag{year(true),
					&cli.StringFlag{Name: "outbox", Usage: "preview: write the emails that would go as .eml files in `DIR`; send and record nothing"},
					&cli.StringFlag{Name: "record-outbox", Usage: "write the emails as .eml files in `DIR` and record them as sent: you send them yourself"},
					&cli.StringFlag{Name: "from", Usage: `the sender, such as "Asso <dons@asso.org>" (default: crm settings from)`},
				},
				Action: withDB(0, 0, sendReceipts),
			},
			{
				Name:      "cancel",
				Usage:     "cancel a receipt issued by mistake: its number stays, marked cancelled; its gifts can go on a new one",
				ArgsUsage: "NUMBER",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why it is cancelled", Required: true}},
				Action:    withDB(1, 1, cancelReceipt),
			},
			{
				Name: "declaration",
				Usage: "what the tax office is told of a year's receipts: France, their count and total (art. 222 bis CGI); " +
					"Belgium, the 281.71 fields for Belcotax-on-web (--format csv --out FILE.csv)",
				Flags:  append([]cli.Flag{year(true)}, outputFlags()...),
				Action: withReadDB(0, 0, receiptDeclaration),
			},
		},
	}
}

func issueReceipts(c *cli.Context, db *crm.DB) error {
	if c.Bool("dry-run") && c.IsSet("out") {
		return usagef("receipts issue: --dry-run writes nothing: leave out --out")
	}
	dir := c.String("out")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	run, err := db.IssueReceipts(c.Context, crm.ReceiptRequest{Year: c.Int("year"), Email: c.String("email"),
		PerDonation: c.Bool("per-donation"), DryRun: c.Bool("dry-run")})
	if err != nil {
		var ve *crm.ValidationError
		if errors.As(err, &ve) && strings.HasPrefix(ve.Field, "receipt") && !strings.Contains(err.Error(), "crm settings set") {
			return fmt.Errorf("%w\n(crm settings list shows them; crm settings set KEY VALUE sets one)", err)
		}
		if errors.Is(err, crm.ErrNotFound) && c.IsSet("email") {
			return quietf(crm.ErrNotFound, "--email: no supporter with email %q", c.String("email"))
		}
		return err
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	w := c.App.Writer
	verb := "issued"
	if run.DryRun {
		verb = "would issue"
	}
	var total int64
	t := newTable(w, []string{"number", "email", "donor", "amount", "gifts"})
	for _, r := range run.Issued {
		total += r.Amount
		t.row([]string{r.Number, r.DonorEmail, r.DonorName, crm.FormatAmount(r.Amount, r.Currency), fmt.Sprint(len(r.Gifts))})
	}
	if len(run.Issued) > 0 {
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s %d receipt(s) for %d (%s), %s EUR in all\n", verb, len(run.Issued), run.Year, run.Country,
		crm.FormatAmount(total, "EUR"))
	var incomplete, below []crm.NotReceiptable
	for _, s := range run.NotReceiptable {
		if s.BelowMinimum {
			below = append(below, s)
		} else {
			incomplete = append(incomplete, s)
		}
	}
	if len(incomplete) > 0 {
		fmt.Fprintf(w, "\nnot receiptable (%d): complete them (crm supporters edit EMAIL --address ... --postcode ... --city ...) and issue again\n",
			len(incomplete))
		if err := printNotReceiptable(w, incomplete); err != nil {
			return err
		}
	}
	if len(below) > 0 {
		fmt.Fprintf(w, "\nbelow the €40 a year Belgian threshold (%d): no attestation is due (art. 145/33 CIR 92); "+
			"a later gift of the same year that reaches €40 gets one at the next issue\n", len(below))
		if err := printNotReceiptable(w, below); err != nil {
			return err
		}
	}
	if len(run.Methodless) > 0 {
		fix := "record how each was paid before issuing: crm donations edit ID --method chèque|espèces|virement|carte"
		if !run.DryRun {
			fix = "to tick the right box, cancel its receipt (crm receipts cancel NUMBER --reason ...), record how it was " +
				"paid (crm donations edit ID --method chèque|espèces|virement|carte) and issue again"
		}
		fmt.Fprintf(c.App.ErrWriter, "warning: %d gift(s) paid by method \"other\": the Cerfa's boxes are cash, cheque, and "+
			"transfer, direct debit or card, so their receipt ticks none; %s\n", len(run.Methodless), fix)
		t := newTable(c.App.ErrWriter, []string{"id", "receipt", "email", "date", "amount"})
		for _, g := range run.Methodless {
			t.row([]string{fmt.Sprint(g.DonationID), g.Receipt, g.Email, g.ReceivedAt.In(st.Location()).Format(time.DateOnly),
				crm.FormatAmount(g.Amount, "EUR")})
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if dir == "" || len(run.Issued) == 0 {
		return nil
	}
	if err := writePDFs(dir, run.Issued, st.Location()); err != nil {
		return fmt.Errorf("the receipts are issued, but %w (crm receipts pdf --year %d --out %s writes them again)", err, run.Year, dir)
	}
	fmt.Fprintf(w, "written %d PDF file(s) to %s\n", len(run.Issued), dir)
	return nil
}

// printNotReceiptable lists donors who get no receipt, and why.
func printNotReceiptable(w io.Writer, ss []crm.NotReceiptable) error {
	t := newTable(w, []string{"email", "name", "amount", "gifts", "why"})
	for _, s := range ss {
		t.row([]string{s.Email, s.Name, crm.FormatAmount(s.Amount, "EUR"), fmt.Sprint(s.Gifts), s.Reason})
	}
	return t.flush()
}

// writePDFs writes each receipt as DIR/NUMBER.pdf, readable by its owner
// only (a receipt holds a name and an address).
func writePDFs(dir string, rs []*crm.Receipt, loc *time.Location) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for _, r := range rs {
		b, err := receipt.PDF(r, receipt.Options{Location: loc})
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, receipt.FileName(r)), b); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}

// receiptFilter reads --year and --email.
func receiptFilter(c *cli.Context, db *crm.DB) (crm.ReceiptFilter, error) {
	f := crm.ReceiptFilter{Year: c.Int("year")}
	if c.IsSet("email") {
		id, err := supporterID(c, db, c.String("email"))
		if err != nil {
			return f, fmt.Errorf("--email: %w", err)
		}
		f.SupporterID = id
	}
	return f, nil
}

func listReceipts(c *cli.Context, db *crm.DB) error {
	f, err := receiptFilter(c, db)
	if err != nil {
		return err
	}
	rs, err := db.ListReceipts(c.Context, f)
	if err != nil {
		return err
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	recs := records{columns: []sheet.Column{{Name: "number"}, {Name: "status"}, {Name: "issued", Kind: sheet.KindDate},
		{Name: "country"}, {Name: "donor"}, {Name: "email"}, {Name: "amount", Kind: sheet.KindMoney}, {Name: "gifts", Kind: sheet.KindInteger},
		{Name: "cancel_reason"}}, json: rs}
	for _, r := range rs {
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(r.Number), sheet.Text(string(r.Status)),
			sheet.Date(r.IssuedAt.In(st.Location())), sheet.Text(r.Country), sheet.Text(r.DonorName), sheet.Text(r.DonorEmail),
			sheet.Money(r.Amount, r.Currency), sheet.Int(int64(len(r.Gifts))), sheet.Text(r.CancelReason)})
	}
	return printRecords(c, recs)
}

func writeReceiptPDFs(c *cli.Context, db *crm.DB) error {
	if c.NArg() == 0 && !c.IsSet("year") {
		return usagef("receipts pdf: give receipt NUMBERs or --year")
	}
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	var rs []*crm.Receipt
	if c.NArg() == 0 {
		if rs, err = db.ListReceipts(c.Context, crm.ReceiptFilter{Year: c.Int("year")}); err != nil {
			return err
		}
	}
	for _, number := range c.Args().Slice() {
		r, err := db.GetReceipt(c.Context, number)
		if err != nil {
			return err
		}
		if r.DonorErased {
			return fmt.Errorf("receipt %s: its donor was erased at their request (crm supporters forget): the receipt "+
				"keeps its number and amount for the declaration, but no PDF of it can say whom it was for", r.Number)
		}
		rs = append(rs, r)
	}
	// A year's receipts: those of erased donors are left out, and named.
	var erased []string
	kept := rs[:0]
	for _, r := range rs {
		if r.DonorErased {
			erased = append(erased, r.Number)
		} else {
			kept = append(kept, r)
		}
	}
	if err := writePDFs(c.String("out"), kept, st.Location()); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "written %d PDF file(s) to %s\n", len(kept), c.String("out"))
	if len(erased) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "not written: %s: their donors were erased at their request (crm supporters forget); "+
			"the receipts keep their numbers and amounts for the declaration\n", strings.Join(erased, ", "))
	}
	return nil
}

func sendReceipts(c *cli.Context, db *crm.DB) error {
	year := c.Int("year")
	if c.IsSet("outbox") && c.IsSet("record-outbox") {
		return usagef("receipts send: give --outbox (a preview, nothing recorded) or --record-outbox (recorded as sent), not both")
	}
	from := c.String("from")
	if from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			return usagef("--from %q: want an address such as \"Asso <dons@asso.org>\"", from)
		}
	}
	n, err := openNewsletter(c, db)
	if err != nil {
		return err
	}
	opts := newsletter.ReceiptSendOptions{Year: year, Notice: newsletter.NoticeOptions{From: from}}
	if dir := c.String("outbox"); dir != "" {
		return previewReceipts(c, n, opts, dir)
	}
	var sender newsletter.Sender
	if dir := c.String("record-outbox"); dir != "" {
		sender = &newsletter.Outbox{Dir: dir, FileName: newsletter.ReceiptFileName}
	} else {
		rs, err := newsletter.NewResendSender(os.Getenv("RESEND_API_KEY"))
		if errors.Is(err, newsletter.ErrNoAPIKey) {
			return errors.New("RESEND_API_KEY is not set: export your Resend API key (or look at the emails first with --outbox DIR)")
		}
		if err != nil {
			return err
		}
		sender = rs
	}
	rep, err := n.SendReceipts(c.Context, sender, opts)
	if errors.Is(err, newsletter.ErrNoFrom) {
		return noSenderError()
	}
	if rep == nil {
		return err
	}
	w := c.App.Writer
	if dir := c.String("record-outbox"); dir != "" {
		abs, _ := filepath.Abs(dir)
		fmt.Fprintf(w, "written %d receipt email(s) to %s and recorded them as sent: send them yourself (no later run "+
			"writes or sends them again); %d sent before; %d failed; %d skipped; %d waiting\n",
			rep.Sent, abs, rep.Before, rep.Failed+rep.Uncertain, rep.Skipped, rep.Waiting)
	} else {
		fmt.Fprintf(w, "sent %d receipt(s); %d sent before; %d failed; %d skipped; %d waiting\n",
			rep.Sent, rep.Before, rep.Failed+rep.Uncertain, rep.Skipped, rep.Waiting)
	}
	if len(rep.NotSent) > 0 {
		fmt.Fprintln(w, "not sent by email (post them; crm receipts pdf NUMBER --out DIR writes the PDF):")
		for _, s := range rep.NotSent {
			fmt.Fprintln(w, "  "+s)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(c.App.ErrWriter, "error:", e)
	}
	if err != nil {
		return err
	}
	if rep.Waiting > 0 {
		return fmt.Errorf("%d receipt(s) could not go now: run crm receipts send --year %d again to send them (never twice)",
			rep.Waiting, year)
	}
	if rep.Failed+rep.Uncertain > 0 {
		return fmt.Errorf("%d receipt email(s) failed", rep.Failed+rep.Uncertain)
	}
	return nil
}

// noSenderError is what receipts send says without a sender's address.
func noSenderError() error {
	return errors.New(`receipts send: no sender address: crm settings set from "Asso <dons@asso.org>" or --from`)
}

// previewReceipts writes the emails receipts send would send now as
// DIR/NUMBER.eml, and records nothing.
func previewReceipts(c *cli.Context, n *newsletter.Newsletter, opts newsletter.ReceiptSendOptions, dir string) error {
	out := &newsletter.Outbox{Dir: dir, FileName: newsletter.ReceiptFileName}
	var skipped []string
	for p, err := range n.PreviewReceipts(c.Context, opts) {
		if errors.Is(err, newsletter.ErrNoFrom) {
			return noSenderError()
		}
		if err != nil {
			return err
		}
		if p.Skip != "" {
			skipped = append(skipped, p.Number+" ("+p.Skip+")")
			continue
		}
		res, err := out.Send(c.Context, "preview:"+p.Number, *p.Message)
		if err == nil && res.Error != "" {
			err = errors.New(res.Error)
		}
		if err != nil {
			return fmt.Errorf("--outbox: receipt %s: %w", p.Number, err)
		}
	}
	w := c.App.Writer
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(w, "%d receipt email(s) written to %s (NUMBER.eml): a preview; nothing was sent or recorded\n",
		out.Written(), abs)
	if len(skipped) > 0 {
		fmt.Fprintln(w, "would not go by email (post them; crm receipts pdf NUMBER --out DIR writes the PDF):")
		for _, s := range skipped {
			fmt.Fprintln(w, "  "+s)
		}
	}
	if out.Written() > 0 {
		fmt.Fprintf(w, "to send them for real: RESEND_API_KEY=re_... crm receipts send --year %d\n", opts.Year)
	}
	return nil
}

func cancelReceipt(c *cli.Context, db *crm.DB) error {
	r, err := db.CancelReceipt(c.Context, c.Args().First(), c.String("reason"))
	if err != nil {
		return err
	}

	fmt.Fprintf(c.App.Writer, "cancelled receipt %s (%s EUR); its number is never given again; its gifts go on the next crm receipts issue --year %d\n",
		r.Number, crm.FormatAmount(r.Amount, r.Currency), r.Year)
	return nil
}

func receiptDeclaration(c *cli.Context, db *crm.DB) error {
	year := c.Int("year")
	st, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	if st.Receipt.Country != crm.ReceiptBE {
		t, err := db.ReceiptDeclaration(c.Context, year)
		if err != nil {
			return err
		}
		if c.String("format") == "table" && !c.IsSet("out") {
			fmt.Fprintf(c.App.Writer, "%d: %d receipt(s) issued and not cancelled, %s EUR in all\n"+
				"(the annual declaration of art. 222 bis CGI: the count of receipts and the total of the gifts they state)\n",
				year, t.Count, crm.FormatAmount(t.Amount, t.Currency))
			return nil
		}
		return printRecords(c, records{columns: []sheet.Column{{Name: "year", Kind: sheet.KindInteger},
			{Name: "receipts", Kind: sheet.KindInteger}, {Name: "total", Kind: sheet.KindMoney}}, json: t,
			rows: [][]sheet.Value{{sheet.Int(int64(year)), sheet.Int(int64(t.Count)), sheet.Money(t.Amount, t.Currency)}}})
	}
	rs, err := db.ListReceipts(c.Context, crm.ReceiptFilter{Year: year, Status: crm.ReceiptIssued})
	if err != nil {
		return err
	}
	// The 281.71 fields. The national register number is not stored
	// (a sensitive identifier the association does not keep): the column
	// is there, empty, for Belcotax-on-web, where the donor's number may
	// be added by hand.
	recs := records{columns: []sheet.Column{{Name: "year", Kind: sheet.KindInteger}, {Name: "number"},
		{Name: "sequence", Kind: sheet.KindInteger}, {Name: "name"}, {Name: "address"}, {Name: "postcode"}, {Name: "city"},
		{Name: "country"}, {Name: "national_register_number"}, {Name: "amount", Kind: sheet.KindMoney}}, json: rs}
	for _, r := range rs {
		country := r.DonorCountry
		if country == "" {
			country = crm.ReceiptBE
		}
		recs.rows = append(recs.rows, []sheet.Value{sheet.Int(int64(r.Year)), sheet.Text(r.Number), sheet.Int(int64(r.Seq)),
			sheet.Text(r.DonorName), sheet.Text(r.DonorAddress), sheet.Text(r.DonorPostcode), sheet.Text(r.DonorCity),
			sheet.Text(country), sheet.Text(""), sheet.Money(r.Amount, r.Currency)})
	}
	fmt.Fprintln(c.App.ErrWriter, "note: national_register_number is empty: crm does not store it; donors may give it in "+
		"their own tax return, or add it in Belcotax-on-web")
	return printRecords(c, recs)
}
