package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // HelloAsso dates are in Europe/Paris time, even where no zone database is installed

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm/sheet"
)

// DonationImportOptions configures ImportDonations.
type DonationImportOptions struct {
	Format    ImportFormat // FormatAuto, FormatGeneric or FormatHelloAsso
	Delimiter rune
	Encoding  string
	Sheet     string            // a workbook's sheet: see ImportOptions.Sheet
	Map       map[string]string // header → field (email, amount, currency, date, method, fund, reference, recurring, status, note)
	FileName  string            // recorded as the source of supporters the import creates
	DryRun    bool
	OnReject  func(Rejection)
	// Currency is used for rows without one (default EUR).
	Currency string
}

// DonationImportReport says what ImportDonations did.
type DonationImportReport struct {
	FileInfo
	DryRun bool `json:"dry_run"`

	Rows              int `json:"rows"`               // data rows read
	Created           int `json:"created"`            // donations recorded
	Duplicates        int `json:"duplicates"`         // already recorded (same source and reference)
	Skipped           int `json:"skipped"`            // payments not validated (HelloAsso "En attente", refused...)
	Rejected          int `json:"rejected"`           // rows with a bad value
	SupportersCreated int `json:"supporters_created"` // donors who were not supporters yet

	Rejections []Rejection `json:"rejections"` // the first MaxReportedRejections
}

var parisTime = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// ImportDonations reads gifts from r (CSV, or an .xlsx or .ods workbook:
// see sheet.NewReader), streaming: a HelloAsso payment
// export (one row per item, grouped into one donation per order; only
// validated orders count; dates in Paris time, stored in UTC) or a generic
// file with email, amount, currency, date, method, fund and reference
// columns. Donors who are not supporters yet become supporters. Each
// donation carries its external reference (or, without one, a reference
// derived from the row), so importing the same file again records
// nothing twice. Fatal errors leave the database as it was.
func (db *DB) ImportDonations(ctx context.Context, r io.Reader, opts DonationImportOptions) (*DonationImportReport, error) {
	sr, err := sheet.NewReader(r, sheet.Options{Delimiter: opts.Delimiter, Encoding: opts.Encoding, Sheet: opts.Sheet})
	if err != nil {
		return nil, err
	}
	defer sr.Close()
	format := opts.Format
	if format != "" && format != FormatAuto && format != FormatGeneric && format != FormatHelloAsso {
		return nil, invalid("format", string(format), "want auto, generic or helloasso")
	}
	cols, format, err := mapColumns(sr.Header(), format, opts.Map, true, donationColumns)
	if err != nil {
		return nil, err
	}
	if format != FormatHelloAsso {
		format = FormatGeneric
	}
	for _, f := range []string{fieldEmail, fieldAmount} {
		if err := requireColumn(cols, f); err != nil {
			return nil, err
		}
	}
	cur := opts.Currency
	if cur == "" {
		cur = "EUR"
	}
	if cur, err = NormalizeCurrency(cur); err != nil {
		return nil, err
	}
	rep := &DonationImportReport{FileInfo: fileInfo(sr, format), DryRun: opts.DryRun, Rejections: []Rejection{}}
	im := &donationImport{db: db, opts: opts, rep: rep, cols: cols, format: format, currency: cur,
		now: db.Now(), seenRows: map[string]int{}}
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := im.run(ctx, tx, sr); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		return db.audit(ctx, tx, "import donations", 0, fmt.Sprintf("%s: %d rows, %d recorded, %d rejected",
			opts.FileName, rep.Rows, rep.Created, rep.Rejected))
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	rep.Encoding = sr.Encoding()
	return rep, nil
}

type donationImport struct {
	db       *DB
	opts     DonationImportOptions
	rep      *DonationImportReport
	cols     []column
	format   ImportFormat
	currency string
	now      time.Time
	seenRows map[string]int // derived references already used in this file

	pending *donationRow // the HelloAsso order being gathered
	batch   []*donationRow
}

type donationRow struct {
	line   int
	d      Donation
	email  string
	first  string
	last   string
	org    string
	status string
}

func (im *donationImport) run(ctx context.Context, tx bun.IDB, sr *sheet.Reader) error {
	err := eachRow(ctx, sr, &im.rep.Rows, im.reject, im.parse, func(row *donationRow) error {
		if im.format == FormatHelloAsso {
			// Rows of one order follow each other: sum them into one gift.
			if p := im.pending; p != nil && p.d.ExternalRef == row.d.ExternalRef && p.email == row.email {
				p.d.Amount += row.d.Amount
				return nil
			}
			pending := im.pending
			im.pending = row
			return im.add(ctx, tx, pending)
		}
		return im.add(ctx, tx, row)
	}, nil)
	if err != nil {
		return err
	}
	if err := im.add(ctx, tx, im.pending); err != nil {
		return err
	}
	return im.flush(ctx, tx)
}

func (im *donationImport) reject(r Rejection) {
	recordRejection(r, &im.rep.Rejected, &im.rep.Rejections, im.opts.OnReject)
}

// add queues a complete donation, or counts it as skipped when its payment
// was not validated.
func (im *donationImport) add(ctx context.Context, tx bun.IDB, row *donationRow) error {
	if row == nil {
		return nil
	}
	if row.status != "" && row.status != "valide" && row.status != "validated" && row.status != "paid" && row.status != "paye" {
		im.rep.Skipped++
		return nil
	}
	im.batch = append(im.batch, row)
	if len(im.batch) >= 1000 {
		return im.flush(ctx, tx)
	}
	return nil
}

func (im *donationImport) parse(rec []string, line int) (*donationRow, *Rejection) {
	row := &donationRow{line: line}
	d := &row.d
	vals := map[string]string{}
	headers := map[string]string{}
	for _, c := range im.cols {
		if c.index >= len(rec) || c.field == fieldIgnore {
			continue
		}
		if v := CleanText(rec[c.index]); v != "" && vals[c.field] == "" {
			vals[c.field], headers[c.field] = v, c.header
		}
	}
	bad := func(field string, err error) *Rejection {
		h := headers[field]
		if h == "" {
			h = columnHeader(im.cols, field)
		}
		return &Rejection{Line: line, Column: h, Value: vals[field], Reason: reason(err)}
	}
	var err error
	if row.email, err = NormalizeEmail(vals[fieldEmail]); err != nil {
		return nil, bad(fieldEmail, err)
	}
	row.first, row.last, row.org = vals[fieldFirstName], vals[fieldLastName], vals[fieldOrganisation]
	if n := vals[fieldName]; n != "" && row.first == "" && row.last == "" {
		row.first, row.last, _ = strings.Cut(n, " ")
	}
	row.status = headerKey(vals[fieldStatus])
	d.Currency = im.currency
	if c := vals[fieldCurrency]; c != "" {
		if d.Currency, err = NormalizeCurrency(c); err != nil {
			return nil, bad(fieldCurrency, err)
		}
	}
	if d.Amount, err = ParseAmount(vals[fieldAmount], d.Currency); err != nil {
		return nil, bad(fieldAmount, err)
	}
	loc := time.UTC
	if im.format == FormatHelloAsso {
		loc = parisTime
	}
	if v := vals[fieldDate]; v == "" {
		return nil, bad(fieldDate, invalid("date", "", "missing date"))
	} else if d.ReceivedAt, err = ParseDate(v, loc); err != nil {
		return nil, bad(fieldDate, err)
	}
	if im.format == FormatHelloAsso {
		d.Method, d.Source = MethodHelloAsso, "helloasso"
	} else {
		d.Source = DefaultDonationSource
		if d.Method, err = parseMethod(vals[fieldMethod]); err != nil {
			return nil, bad(fieldMethod, err)
		}
	}
	d.Fund, d.Note, d.ExternalRef = vals[fieldFund], vals[fieldNotes], vals[fieldReference]
	switch headerKey(vals[fieldRecurring]) {
	case "", "non", "no", "false", "0", "faux":
	case "oui", "yes", "true", "1", "x", "vrai", "mensuel", "monthly":
		d.Recurring = true
	default:
		return nil, bad(fieldRecurring, invalid("recurring", vals[fieldRecurring], "want yes or no"))
	}
	if d.ExternalRef == "" {
		// A reference derived from the row makes a re-import idempotent;
		// the count tells identical gifts in one file apart.
		sum := sha256.Sum256([]byte(strings.Join([]string{row.email, strconv.FormatInt(d.Amount, 10), d.Currency,
			d.ReceivedAt.Format(time.RFC3339), string(d.Method), d.Fund}, "\x00")))
		key := hex.EncodeToString(sum[:8])
		im.seenRows[key]++
		d.ExternalRef = fmt.Sprintf("row:%s:%d", key, im.seenRows[key])
	}
	return row, nil
}

// parseMethod reads a payment method in French or English; empty means
// "other".
func parseMethod(v string) (DonationMethod, error) {
	switch headerKey(v) {
	case "", "autre", "other":
		return MethodOther, nil
	case "especes", "espece", "liquide", "cash":
		return MethodCash, nil
	case "cheque", "check", "cheque bancaire":
		return MethodCheque, nil
	case "virement", "virement bancaire", "transfer", "bank transfer", "prelevement", "sepa", "direct debit":
		return MethodTransfer, nil
	case "carte", "carte bancaire", "cb", "card", "credit card":
		return MethodCard, nil
	case "helloasso":
		return MethodHelloAsso, nil
	}
	return "", invalid("method", v, "unknown payment method (cash, cheque, transfer, card, helloasso, other)")
}

// flush finds or creates the donors of the batch and records the gifts,
// skipping those already recorded.
func (im *donationImport) flush(ctx context.Context, tx bun.IDB) error {
	if len(im.batch) == 0 {
		return nil
	}
	defer func() { im.batch = im.batch[:0] }()
	emails := make([]string, 0, len(im.batch))
	for _, row := range im.batch {
		emails = append(emails, row.email)
	}
	idOf, err := supporterIDs(ctx, tx, emails)
	if err != nil {
		return err
	}
	var news []*Supporter
	for _, row := range im.batch {
		if _, ok := idOf[row.email]; ok {
			continue
		}
		s := &Supporter{Email: row.email, FirstName: row.first, LastName: row.last, Organisation: row.org,
			Source: im.supporterSource()}
		if err := s.Normalize(); err != nil {
			return err
		}
		s.CreatedAt, s.UpdatedAt = im.now, im.now
		idOf[row.email] = 0
		news = append(news, s)
	}
	if len(news) > 0 {
		if _, err := tx.NewInsert().Model(&news).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("import: create donors: %w", err)
		}
		im.rep.SupportersCreated += len(news)
		if idOf, err = supporterIDs(ctx, tx, emails); err != nil {
			return err
		}
	}
	ds := make([]*Donation, len(im.batch))
	for i, row := range im.batch {
		row.d.SupporterID = idOf[row.email]
		if err := row.d.Normalize(); err != nil {
			return fmt.Errorf("import line %d: %w", row.line, err)
		}
		row.d.CreatedAt = im.now
		ds[i] = &row.d
	}
	res, err := tx.NewInsert().Model(&ds).On("CONFLICT (source, external_ref) DO NOTHING").Returning("NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("import: record donations: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	im.rep.Created += int(n)
	im.rep.Duplicates += len(ds) - int(n)
	return nil
}

func (im *donationImport) supporterSource() string {
	if im.format == FormatHelloAsso {
		return "helloasso"
	}
	return ImportSource(im.opts.FileName)
}

// supporterIDs maps the given addresses to supporter ids, for those that
// exist.
func supporterIDs(ctx context.Context, tx bun.IDB, emails []string) (map[string]int64, error) {
	var rows []struct {
		ID    int64
		Email string
	}
	if err := tx.NewSelect().Table("supporters").Column("id", "email").
		Where("email IN (?)", bun.List(emails)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("find supporters: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Email] = r.ID
	}
	return out, nil
}
