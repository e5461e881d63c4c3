package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// ParseDonationMethod reads a payment method as people write it, in
// English or French, in any case and with or without accents: cash or
// espèces, cheque or chèque, transfer, virement or prélèvement (a direct
// debit), card or carte (bancaire), helloasso, other or autre; "" is
// other. It returns a *ValidationError for anything else.
func ParseDonationMethod(v string) (DonationMethod, error) {
	k := headerKey(v)
	switch k {
	case "", "autre", "autres", "other":
		return MethodOther, nil
	case "helloasso":
		return MethodHelloAsso, nil
	case "cb", "card", "credit card", "debit card":
		return MethodCard, nil
	case "transfer", "bank transfer", "sepa", "direct debit", "standing order":
		return MethodTransfer, nil
	case "cash", "liquide", "liquides":
		return MethodCash, nil
	case "check":
		return MethodCheque, nil
	}
	// The first word decides: "Carte bancaire", "Chèque bancaire",
	// "Virement SEPA", "Prélèvement SEPA", "Espèces".
	first, _, _ := strings.Cut(k, " ")
	switch first {
	case "espece", "especes":
		return MethodCash, nil
	case "cheque", "cheques":
		return MethodCheque, nil
	case "virement", "virements", "prelevement", "prelevements", "transfer":
		return MethodTransfer, nil
	case "carte", "cartes":
		return MethodCard, nil
	}
	return "", invalid("method", v, "unknown payment method: want "+methodNames)
}

// methodNames lists the methods ParseDonationMethod takes, for errors
// and help.
const methodNames = "cash (espèces), cheque (chèque), transfer (virement, prélèvement), card (carte), helloasso or other (autre)"

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
	if CleanText(string(d.Method)) == "" {
		return invalid("method", "", "missing: want "+methodNames)
	}
	if d.Method, err = ParseDonationMethod(string(d.Method)); err != nil {
		return err
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
		return errorOf(ErrNotFound, "no supporter %d", d.SupporterID)
	}
	d.CreatedAt = now
	if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return errorOf(ErrConflict, "donation %s/%s already recorded (the same reference is never counted twice)", d.Source, d.ExternalRef)
		}
		return fmt.Errorf("add donation: %w", err)
	}
	return nil
}

// GetDonation returns one gift with its supporter's email, or an error
// wrapping ErrNotFound.
func (db *DB) GetDonation(ctx context.Context, id int64) (*Donation, error) {
	d := new(Donation)
	err := db.bun.NewSelect().Model(d).ColumnExpr("d.*").ColumnExpr("s.email AS email").
		Join("LEFT JOIN supporters AS s ON s.id = d.supporter_id").Where("d.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorOf(ErrNotFound, "no donation %d (crm donations list shows the ids)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get donation %d: %w", id, err)
	}
	return d, nil
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

// EditDonation corrects a gift. On a gift of a live tax receipt, only
// what the receipt does not state may change (Fund, Note); a change of
// the donor, amount, currency, date or method is refused with an error
// wrapping ErrConflict that names the receipt to cancel first. A date in
// the future, like any bad field, is a *ValidationError. The change is
// audited for the supporters it concerns, saying what changed (field:
// old → new; a note only as changed, since it may name people). It
// returns an error wrapping ErrNotFound for an unknown donation or
// supporter.
func (db *DB) EditDonation(ctx context.Context, id int64, edit DonationEdit) (*Donation, error) {
	return runTx(ctx, db, func(tx *Tx) (*Donation, error) { return tx.EditDonation(ctx, id, edit) })
}

// EditDonation is DB.EditDonation in the transaction.
func (tx *Tx) EditDonation(ctx context.Context, id int64, edit DonationEdit) (*Donation, error) {
	d, number, err := tx.lockDonation(ctx, id)
	if err != nil {
		return nil, err
	}
	old := *d
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
	changes, stated := donationChanges(&old, d)
	if number != "" && len(stated) > 0 {
		return nil, errorOf(ErrConflict, "donation %d is on tax receipt %s, which states its %s: cancel the receipt first "+
			"(crm receipts cancel %s --reason ...), or change only what a receipt does not state (fund, note)",
			id, number, strings.Join(stated, ", "), number)
	}
	if len(changes) == 0 {
		return d, nil
	}
	if d.SupporterID != old.SupporterID {
		if _, err := lockLiveSupporter(ctx, tx.tx, d.SupporterID); err != nil {
			return nil, err
		}
	}
	if _, err := tx.tx.NewUpdate().Model(d).WherePK().
		Column("supporter_id", "amount", "currency", "received_at", "method", "fund", "note").Exec(ctx); err != nil {
		return nil, fmt.Errorf("edit donation %d: %w", id, err)
	}
	details := fmt.Sprintf("donation %d: %s", id, strings.Join(changes, "; "))
	if err := tx.audit(ctx, "edit donation", d.SupporterID, details); err != nil {
		return nil, err
	}
	if d.SupporterID != old.SupporterID {
		if err := tx.audit(ctx, "edit donation", old.SupporterID, details); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// donationChanges says what an edit changes, field by field ("amount:
// 50.00 → 500.00 EUR"), and names the changed fields a tax receipt
// states. A note is only said to have changed: it may name people, and
// the audit log keeps no personal data.
func donationChanges(was, now *Donation) (changes, stated []string) {
	change := func(field, from, to string, onReceipt bool) {
		if from == to {
			return
		}
		changes = append(changes, field+": "+from+" → "+to)
		if onReceipt {
			stated = append(stated, field)
		}
	}
	if was.SupporterID != now.SupporterID {
		changes = append(changes, fmt.Sprintf("donor: supporter %d → %d", was.SupporterID, now.SupporterID))
		stated = append(stated, "donor")
	}
	change("amount", FormatAmount(was.Amount, was.Currency)+" "+was.Currency,
		FormatAmount(now.Amount, now.Currency)+" "+now.Currency, true)
	wasDay, nowDay := was.ReceivedAt.UTC().Format(time.DateOnly), now.ReceivedAt.UTC().Format(time.DateOnly)
	change("date", wasDay, nowDay, true)
	if wasDay == nowDay {
		change("time", was.ReceivedAt.UTC().Format("15:04 UTC"), now.ReceivedAt.UTC().Format("15:04 UTC"), true)
	}
	change("method", string(was.Method), string(now.Method), true)
	change("fund", strconv.Quote(was.Fund), strconv.Quote(now.Fund), false)
	if was.Note != now.Note {
		changes = append(changes, "note changed")
	}
	return changes, stated
}

// DeleteDonation deletes a gift recorded by mistake; as for EditDonation,
// not one on a live tax receipt. The deletion is audited.
func (db *DB) DeleteDonation(ctx context.Context, id int64) error {
	return db.RunInTx(ctx, func(tx *Tx) error { return tx.DeleteDonation(ctx, id) })
}

// DeleteDonation is DB.DeleteDonation in the transaction.
func (tx *Tx) DeleteDonation(ctx context.Context, id int64) error {
	d, number, err := tx.lockDonation(ctx, id)
	if err != nil {
		return err
	}
	if number != "" {
		return errorOf(ErrConflict, "donation %d is on tax receipt %s: cancel the receipt first (crm receipts cancel %s --reason ...)",
			id, number, number)
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

// lockDonation reads a gift for a change, locking its row on
// PostgreSQL, and returns the number of the live receipt it is on, ""
// if none.
func (tx *Tx) lockDonation(ctx context.Context, id int64) (*Donation, string, error) {
	d := new(Donation)
	q := tx.tx.NewSelect().Model(d).Where("d.id = ?", id)
	if !tx.db.isSQLite() {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", errorOf(ErrNotFound, "no donation %d (crm donations list shows the ids)", id)
		}
		return nil, "", err
	}
	number, err := liveReceiptOf(ctx, tx.tx, id)
	if err != nil {
		return nil, "", err
	}
	return d, number, nil
}

// notFuture refuses a gift dated after today (in UTC, with a day's
// margin for time zones east of it).
func (tx *Tx) notFuture(at time.Time) error {
	if at.After(tx.now().Add(24 * time.Hour)) {
		return invalid("date", at.Format(time.DateOnly), "in the future")
	}
	return nil
}
