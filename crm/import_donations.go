package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
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
	// Map maps a header to a field: email, first_name, last_name, name,
	// organisation, address, postcode, city, country, amount, currency,
	// date, method, fund, reference, recurring, status, notes or ignore.
	Map      map[string]string
	Sheet    string // a workbook's sheet: see ImportOptions.Sheet
	FileName string // recorded as the source of supporters the import creates
	DryRun   bool
	OnReject func(Rejection)
	// Currency is used for rows without one (default EUR).
	Currency string
}

// DonationImportReport says what ImportDonations did.
type DonationImportReport struct {
	FileInfo
	// Columns says which field each column fed; "ignore" for those the
	// import did not recognise (name them with DonationImportOptions.Map).
	Columns []ColumnUse `json:"columns"`
	DryRun  bool        `json:"dry_run"`

	Rows              int `json:"rows"`               // data rows read
	Created           int `json:"created"`            // donations recorded
	Duplicates        int `json:"duplicates"`         // already recorded (same source and reference)
	Skipped           int `json:"skipped"`            // payments not validated (HelloAsso "En attente", refused...)
	Rejected          int `json:"rejected"`           // rows with a bad value
	SupportersCreated int `json:"supporters_created"` // donors who were not supporters yet
	// AddressesCompleted counts the donors who were supporters already
	// and whose empty address fields (street, postcode, city, country)
	// the file filled in.
	AddressesCompleted int `json:"addresses_completed"`
	// AddressesKept counts the donors whose record holds another postal
	// address than a row of the file: nothing of that row's address was
	// taken, so no address is overwritten or pieced together from two.
	AddressesKept int `json:"addresses_kept"`

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
	rep := &DonationImportReport{FileInfo: fileInfo(sr, format), Columns: describeColumns(cols), DryRun: opts.DryRun,
		Rejections: []Rejection{}}
	im := &donationImport{db: db, opts: opts, rep: rep, cols: cols, format: format, currency: cur,
		now: db.Now(), seenRows: map[string]int{}, created: map[string]bool{}, kept: map[string]bool{}}
	err = db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := im.run(ctx, tx, sr); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		return db.audit(ctx, tx, "import donations", 0, fmt.Sprintf("%s: %d rows, %d recorded, %d rejected, %d addresses completed",
			opts.FileName, rep.Rows, rep.Created, rep.Rejected, rep.AddressesCompleted))
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
	seenRows map[string]int  // derived references already used in this file
	created  map[string]bool // donors the import created
	kept     map[string]bool // donors counted in AddressesKept

	pending *donationRow // the HelloAsso order being gathered
	batch   []*donationRow
}

type donationRow struct {
	line   int
	d      Donation
	email  string
	donor  Supporter // as the row describes the donor, normalised
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
	row.donor = Supporter{Email: row.email, FirstName: vals[fieldFirstName], LastName: vals[fieldLastName],
		Organisation: vals[fieldOrganisation], Address: vals[fieldAddress], Postcode: vals[fieldPostcode],
		City: vals[fieldCity], Country: vals[fieldCountry], Source: im.supporterSource()}
	if n := vals[fieldName]; n != "" && row.donor.FirstName == "" && row.donor.LastName == "" {
		row.donor.FirstName, row.donor.LastName, _ = strings.Cut(n, " ")
	}
	// A name or an address too long to keep rejects the row, naming its
	// column, rather than failing the whole import when the donor is
	// created.
	var ve *ValidationError
	if err := row.donor.Normalize(); errors.As(err, &ve) {
		return nil, bad(ve.Field, err)
	} else if err != nil {
		return nil, bad(fieldEmail, err)
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
		d.Source = "helloasso"
		if d.Method, err = helloAssoMethod(vals[fieldMethod]); err != nil {
			return nil, bad(fieldMethod, err)
		}
	} else {
		d.Source = DefaultDonationSource
		if d.Method, err = ParseDonationMethod(vals[fieldMethod]); err != nil {
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

// helloAssoMethod reads HelloAsso's "Moyen de paiement": "Carte
// bancaire" is a payment online, through HelloAsso (helloasso); a
// cheque, cash, a transfer or a direct debit the association recorded on
// HelloAsso keeps its own method, which is what a tax receipt states.
// Without the column, a HelloAsso payment is one online (helloasso).
func helloAssoMethod(v string) (DonationMethod, error) {
	if CleanText(v) == "" {
		return MethodHelloAsso, nil
	}
	m, err := ParseDonationMethod(v)
	if err != nil {
		return "", err
	}
	if m == MethodCard {
		return MethodHelloAsso, nil
	}
	return m, nil
}

// flush finds or creates the donors of the batch, completes the postal
// addresses of those that exist (see completeAddress) and records the
// gifts, skipping those already recorded.
func (im *donationImport) flush(ctx context.Context, tx bun.IDB) error {
	if len(im.batch) == 0 {
		return nil
	}
	defer func() { im.batch = im.batch[:0] }()
	emails := make([]string, 0, len(im.batch))
	for _, row := range im.batch {
		emails = append(emails, row.email)
	}
	donors, err := donorAddresses(ctx, tx, emails)
	if err != nil {
		return err
	}
	var news []*Supporter
	newByEmail := map[string]*Supporter{}
	changed := map[int64]*Supporter{}
	for _, row := range im.batch {
		if s := donors[row.email]; s != nil {
			if im.completeAddress(s, &row.donor) && !im.created[s.Email] {
				changed[s.ID] = s
			}
			continue
		}
		if s := newByEmail[row.email]; s != nil {
			im.completeAddress(s, &row.donor)
			continue
		}
		s := row.donor // a copy: later rows complete it
		s.CreatedAt, s.UpdatedAt = im.now, im.now
		newByEmail[row.email] = &s
		news = append(news, &s)
	}
	if len(news) > 0 {
		if _, err := tx.NewInsert().Model(&news).Returning("NULL").Exec(ctx); err != nil {
			return fmt.Errorf("import: create donors: %w", err)
		}
		im.rep.SupportersCreated += len(news)
		for _, s := range news {
			im.created[s.Email] = true
		}
		if donors, err = donorAddresses(ctx, tx, emails); err != nil {
			return err
		}
	}
	if err := im.saveAddresses(ctx, tx, changed); err != nil {
		return err
	}
	ds := make([]*Donation, len(im.batch))
	for i, row := range im.batch {
		row.d.SupporterID = donors[row.email].ID
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

// completeAddress fills the empty fields of the postal address of s
// (street, postcode, city, country) with those of the row's donor, and
// reports whether it changed s. Nothing is overwritten; and when a
// field of s that is filled differs from the row's, the row's address is
// another one (the donor moved, or a typo) and none of it is taken,
// since an address pieced together from two would be nobody's: the
// donor is counted in AddressesKept.
func (im *donationImport) completeAddress(s, row *Supporter) bool {
	fields := []struct{ stored, file *string }{
		{&s.Address, &row.Address}, {&s.Postcode, &row.Postcode}, {&s.City, &row.City}, {&s.Country, &row.Country},
	}
	fill := false
	for _, f := range fields {
		switch {
		case *f.file == "":
		case *f.stored == "":
			fill = true
		case fold(*f.stored) != fold(*f.file):
			if !im.kept[s.Email] {
				im.kept[s.Email] = true
				im.rep.AddressesKept++
			}
			return false
		}
	}
	if !fill {
		return false
	}
	for _, f := range fields {
		if *f.stored == "" {
			*f.stored = *f.file
		}
	}
	s.CityKey = fold(s.City)
	return true
}

// saveAddresses writes the completed addresses of existing donors, each
// change audited.
func (im *donationImport) saveAddresses(ctx context.Context, tx bun.IDB, changed map[int64]*Supporter) error {
	for _, id := range slices.Sorted(maps.Keys(changed)) {
		s := changed[id]
		s.UpdatedAt = im.now
		if _, err := tx.NewUpdate().Model(s).Column("address", "postcode", "city", "city_key", "country", "updated_at").
			WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("import: complete the address of supporter %d: %w", id, err)
		}
		if err := im.db.audit(ctx, tx, "import donations", id, "address completed from "+im.opts.FileName); err != nil {
			return err
		}
	}
	im.rep.AddressesCompleted += len(changed)
	return nil
}

func (im *donationImport) supporterSource() string {
	if im.format == FormatHelloAsso {
		return "helloasso"
	}
	return ImportSource(im.opts.FileName)
}

// donorAddresses returns the supporters with the given email addresses
// (those that exist), by address, with their id and postal address only.
func donorAddresses(ctx context.Context, tx bun.IDB, emails []string) (map[string]*Supporter, error) {
	var rows []*Supporter
	if err := tx.NewSelect().Model(&rows).Column("id", "email", "address", "postcode", "city", "country").
		Where("email IN (?)", bun.List(emails)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("find supporters: %w", err)
	}
	out := make(map[string]*Supporter, len(rows))
	for _, s := range rows {
		out[s.Email] = s
	}
	return out, nil
}
