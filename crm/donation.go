package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// DonationMethod is how a gift was paid.
type DonationMethod string

// Donation methods.
const (
	MethodCash      DonationMethod = "cash"
	MethodCheque    DonationMethod = "cheque"
	MethodTransfer  DonationMethod = "transfer"
	MethodCard      DonationMethod = "card"
	MethodHelloAsso DonationMethod = "helloasso"
	MethodOther     DonationMethod = "other"
)

var donationMethods = []DonationMethod{MethodCash, MethodCheque, MethodTransfer, MethodCard, MethodHelloAsso, MethodOther}

// DonationMethods returns the valid methods, in a slice of the caller's.
func DonationMethods() []DonationMethod { return slices.Clone(donationMethods) }

// Valid reports whether m is one of DonationMethods.
func (m DonationMethod) Valid() bool { return slices.Contains(donationMethods, m) }

// Donation is one gift. Amount is in minor units of Currency (cents for
// EUR). ExternalRef is unique per Source, so importing the same payment
// twice is refused instead of counted twice.
type Donation struct {
	bun.BaseModel `bun:"table:donations,alias:d" json:"-"`

	ID          int64          `bun:"id,pk,autoincrement" json:"id"`
	SupporterID int64          `bun:"supporter_id,nullzero" json:"supporter_id,omitempty"`
	Amount      int64          `bun:"amount" json:"amount"`
	Currency    string         `bun:"currency" json:"currency"`
	ReceivedAt  time.Time      `bun:"received_at" json:"received_at"`
	Method      DonationMethod `bun:"method" json:"method"`
	Fund        string         `bun:"fund" json:"fund,omitempty"`
	Recurring   bool           `bun:"recurring" json:"recurring"`
	Source      string         `bun:"source" json:"source"`
	ExternalRef string         `bun:"external_ref,nullzero" json:"external_ref,omitempty"`
	Note        string         `bun:"note" json:"note,omitempty"`
	CreatedAt   time.Time      `bun:"created_at" json:"created_at"`

	// Email is the supporter's address, filled in by ListDonations.
	Email string `bun:"email,scanonly" json:"email,omitempty"`
}

// DefaultDonationSource is the Source of donations entered by hand.
const DefaultDonationSource = "manual"

// Normalize cleans the donation's fields in place and returns a
// *ValidationError naming the first one that cannot be stored.
func (d *Donation) Normalize() error {
	if d.SupporterID <= 0 {
		return invalid("supporter", "", "missing")
	}
	if d.Amount <= 0 {
		return invalid("amount", FormatAmount(d.Amount, d.Currency), "must be positive")
	}
	cur, err := NormalizeCurrency(d.Currency)
	if err != nil {
		return err
	}
	d.Currency = cur
	if d.ReceivedAt.IsZero() {
		return invalid("date", "", "missing")
	}
	d.ReceivedAt = d.ReceivedAt.UTC()
	d.Method = DonationMethod(strings.ToLower(CleanText(string(d.Method))))
	if !d.Method.Valid() {
		return invalid("method", string(d.Method), "want one of cash, cheque, transfer, card, helloasso, other")
	}
	d.Fund, d.Source, d.ExternalRef = CleanText(d.Fund), CleanText(d.Source), CleanText(d.ExternalRef)
	d.Note = cleanMultiline(d.Note)
	if d.Source == "" {
		d.Source = DefaultDonationSource
	}
	return nil
}

// AddDonation records a gift and sets d.ID and d.CreatedAt. It returns an
// error wrapping ErrNotFound if the supporter does not exist, ErrConflict
// if Source and ExternalRef were recorded before, or a *ValidationError.
func (db *DB) AddDonation(ctx context.Context, d *Donation) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.AddDonation(ctx, d) })
}

// AddDonation is DB.AddDonation in the transaction.
func (tx *Tx) AddDonation(ctx context.Context, d *Donation) error {
	if err := d.Normalize(); err != nil {
		return err
	}
	if err := tx.notFuture(d.ReceivedAt); err != nil {
		return err
	}
	if err := addDonation(ctx, tx.tx, d, tx.now()); err != nil {
		return err
	}
	return tx.audit(ctx, "add donation", d.SupporterID, fmt.Sprintf("donation %d", d.ID))
}

func addDonation(ctx context.Context, tx bun.IDB, d *Donation, now time.Time) error {
	n, err := tx.NewSelect().Table("supporters").Where("id = ?", d.SupporterID).Count(ctx)
	if err != nil {
		return fmt.Errorf("add donation: %w", err)
	}
	if n == 0 {
		return notFound("supporter")
	}
	d.CreatedAt = now
	if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("donation %s/%s already recorded: %w", d.Source, d.ExternalRef, ErrConflict)
		}
		return fmt.Errorf("add donation: %w", err)
	}
	return nil
}

// DonationFilter selects donations. Nil fields do not filter; Since is
// inclusive and Until exclusive.
type DonationFilter struct {
	SupporterID *int64
	Since       *time.Time
	Until       *time.Time
	Fund        *string
	Offset      int
	Limit       int // 0 means no limit
}

// ListDonations returns the donations matching f, oldest first, each with
// the supporter's email.
func (db *DB) ListDonations(ctx context.Context, f DonationFilter) ([]*Donation, error) {
	var out []*Donation
	q := db.bun.NewSelect().Model(&out).ColumnExpr("d.*").ColumnExpr("s.email AS email").
		Join("LEFT JOIN supporters AS s ON s.id = d.supporter_id")
	applyDonationFilter(q, f)
	q = q.Order("d.received_at", "d.id")
	q = paginate(q, f.Limit, f.Offset)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list donations: %w", err)
	}
	return out, nil
}

func applyDonationFilter(q *bun.SelectQuery, f DonationFilter) {
	if f.SupporterID != nil {
		q.Where("d.supporter_id = ?", *f.SupporterID)
	}
	if f.Since != nil {
		q.Where("d.received_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q.Where("d.received_at < ?", f.Until.UTC())
	}
	if f.Fund != nil {
		q.Where("d.fund = ?", CleanText(*f.Fund))
	}
}

// DonationTotal sums a supporter's gifts in one currency.
type DonationTotal struct {
	Currency string    `json:"currency"`
	Count    int       `json:"count"`
	Sum      int64     `json:"sum"` // minor units
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// DonationTotals returns a supporter's gift count, sum, first and last date,
// one row per currency. A supporter with no gift gets an empty slice.
func (db *DB) DonationTotals(ctx context.Context, supporterID int64) ([]DonationTotal, error) {
	var rows []struct {
		Currency string
		Count    int
		Sum      int64
		First    time.Time
		Last     time.Time
	}
	err := db.bun.NewSelect().Table("donations").
		ColumnExpr("currency, COUNT(*) AS count, SUM(amount) AS sum").
		ColumnExpr("MIN(received_at) AS first, MAX(received_at) AS last").
		Where("supporter_id = ?", supporterID).
		Group("currency").Order("currency").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("donation totals: %w", err)
	}
	out := make([]DonationTotal, len(rows))
	for i, r := range rows {
		out[i] = DonationTotal{Currency: r.Currency, Count: r.Count, Sum: r.Sum, First: r.First.UTC(), Last: r.Last.UTC()}
	}
	return out, nil
}

// ReportGroup is how DonationReport groups gifts.
type ReportGroup string

// Report groupings.
const (
	ByMonth  ReportGroup = "month"
	ByYear   ReportGroup = "year"
	ByFund   ReportGroup = "fund"
	ByMethod ReportGroup = "method"
)

// ReportRow is one line of a donation report.
type ReportRow struct {
	Key      string `json:"key"` // "2026-01", "2026", the fund or the method
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Donors   int    `json:"donors"`
	Sum      int64  `json:"sum"` // minor units
}

// DonationReport sums the donations matching f by month, year, fund or
// method, one row per key and currency, ordered by key. Months and years
// are taken in UTC.
func (db *DB) DonationReport(ctx context.Context, f DonationFilter, by ReportGroup) ([]ReportRow, error) {
	var key func(d *Donation) string
	switch by {
	case ByMonth:
		key = func(d *Donation) string { return d.ReceivedAt.UTC().Format("2006-01") }
	case ByYear:
		key = func(d *Donation) string { return d.ReceivedAt.UTC().Format("2006") }
	case ByFund:
		key = func(d *Donation) string { return d.Fund }
	case ByMethod:
		key = func(d *Donation) string { return string(d.Method) }
	default:
		return nil, invalid("by", string(by), "want month, year, fund or method")
	}
	f.Offset, f.Limit = 0, 0
	ds, err := db.ListDonations(ctx, f)
	if err != nil {
		return nil, err
	}
	type k struct{ key, cur string }
	rows := map[k]*ReportRow{}
	donors := map[k]map[int64]bool{}
	for _, d := range ds {
		kk := k{key(d), d.Currency}
		r := rows[kk]
		if r == nil {
			r = &ReportRow{Key: kk.key, Currency: kk.cur}
			rows[kk] = r
			donors[kk] = map[int64]bool{}
		}
		r.Count++
		r.Sum += d.Amount
		donors[kk][d.SupporterID] = true
	}
	out := make([]ReportRow, 0, len(rows))
	for kk, r := range rows {
		r.Donors = len(donors[kk])
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReportRow) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return out, nil
}

// DonationEdit holds the fields of a gift to change; nil leaves a field
// as it is.
type DonationEdit struct {
	SupporterID *int64 // the gift was someone else's
	Amount      *int64 // minor units
	Currency    *string
	ReceivedAt  *time.Time
	Method      *DonationMethod
	Fund        *string
	Note        *string
}

// EditDonation corrects a gift. A gift on a live tax receipt cannot
// change (an error wrapping ErrConflict names the receipt to cancel
// first); a date in the future, like any bad field, is a
// *ValidationError. The change is audited for the supporters it
// concerns. It returns an error wrapping ErrNotFound for an unknown
// donation or supporter.
func (db *DB) EditDonation(ctx context.Context, id int64, edit DonationEdit) (*Donation, error) {
	return runTx(ctx, db, func(tx *Tx) (*Donation, error) { return tx.EditDonation(ctx, id, edit) })
}

// EditDonation is DB.EditDonation in the transaction.
func (tx *Tx) EditDonation(ctx context.Context, id int64, edit DonationEdit) (*Donation, error) {
	d, err := tx.lockDonation(ctx, id)
	if err != nil {
		return nil, err
	}
	was := d.SupporterID
	if edit.SupporterID != nil {
		d.SupporterID = *edit.SupporterID
	}
	if edit.Amount != nil {
		d.Amount = *edit.Amount
	}
	if edit.Currency != nil {
		d.Currency = *edit.Currency
	}
	if edit.ReceivedAt != nil {
		d.ReceivedAt = *edit.ReceivedAt
	}
	if edit.Method != nil {
		d.Method = *edit.Method
	}
	if edit.Fund != nil {
		d.Fund = *edit.Fund
	}
	if edit.Note != nil {
		d.Note = *edit.Note
	}
	if err := d.Normalize(); err != nil {
		return nil, err
	}
	if err := tx.notFuture(d.ReceivedAt); err != nil {
		return nil, err
	}
	if d.SupporterID != was {
		if _, err := lockLiveSupporter(ctx, tx.tx, d.SupporterID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.tx.NewUpdate().Model(d).WherePK().
		Column("supporter_id", "amount", "currency", "received_at", "method", "fund", "note").Exec(ctx); err != nil {
		return nil, fmt.Errorf("edit donation %d: %w", id, err)
	}
	details := fmt.Sprintf("donation %d", id)
	if err := tx.audit(ctx, "edit donation", d.SupporterID, details); err != nil {
		return nil, err
	}
	if d.SupporterID != was {
		if err := tx.audit(ctx, "edit donation", was, details+": moved to another supporter"); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// DeleteDonation deletes a gift recorded by mistake; as for EditDonation,
// not one on a live tax receipt. The deletion is audited.
func (db *DB) DeleteDonation(ctx context.Context, id int64) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.DeleteDonation(ctx, id) })
}

// DeleteDonation is DB.DeleteDonation in the transaction.
func (tx *Tx) DeleteDonation(ctx context.Context, id int64) error {
	d, err := tx.lockDonation(ctx, id)
	if err != nil {
		return err
	}
	// Only cancelled receipts can still name it (lockDonation refused a
	// live one): they keep their number and amount, not the link.
	if _, err := tx.tx.NewDelete().Table("receipt_donations").Where("donation_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete donation %d: %w", id, err)
	}
	if _, err := tx.tx.NewDelete().Model(d).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("delete donation %d: %w", id, err)
	}
	return tx.audit(ctx, "delete donation", d.SupporterID,
		fmt.Sprintf("donation %d of %s", id, FormatAmount(d.Amount, d.Currency)))
}

// lockDonation reads a gift for a change, locking its row on PostgreSQL,
// and refuses one on a live receipt.
func (tx *Tx) lockDonation(ctx context.Context, id int64) (*Donation, error) {
	d := new(Donation)
	q := tx.tx.NewSelect().Model(d).Where("d.id = ?", id)
	if !tx.db.isSQLite() {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("no donation %d: %w", id, ErrNotFound)
		}
		return nil, err
	}
	number, err := liveReceiptOf(ctx, tx.tx, id)
	if err != nil {
		return nil, err
	}
	if number != "" {
		return nil, fmt.Errorf("donation %d is on tax receipt %s: cancel the receipt first (crm receipts cancel %s --reason ...): %w",
			id, number, number, ErrConflict)
	}
	return d, nil
}

// notFuture refuses a gift dated after today (in UTC, with a day's
// margin for time zones east of it).
func (tx *Tx) notFuture(at time.Time) error {
	if at.After(tx.now().Add(24 * time.Hour)) {
		return invalid("date", at.Format(time.DateOnly), "in the future")
	}
	return nil
}
