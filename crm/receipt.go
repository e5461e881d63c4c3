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
	"github.com/uptrace/bun/dialect"
)

// Tax receipts for donors.
//
// A receipt (France: the content of Cerfa n°11580*05, art. 200 and 238
// bis CGI; Belgium: the attestation 281.71) states that the association
// received gifts from a donor, so the donor can deduct them. It is issued
// once, numbered from one gap-free sequence per year ("2026-0001"), and
// never changed: a mistake is corrected by cancelling it (the number is
// kept, marked cancelled, never reused) and issuing a new one. What it
// says is frozen when it is issued: the donor's name and postal address
// and the association's details are copied into it, so a later edit of
// either changes no receipt already given.
//
// A gift on a live (issued, not cancelled) receipt cannot be edited or
// deleted until that receipt is cancelled.

// ReceiptStatus is whether a receipt stands.
type ReceiptStatus string

// Receipt statuses.
const (
	ReceiptIssued    ReceiptStatus = "issued"
	ReceiptCancelled ReceiptStatus = "cancelled"
)

// Receipt countries.
const (
	ReceiptFR = "FR"
	ReceiptBE = "BE"
)

// Receipt is a tax receipt as issued.
type Receipt struct {
	bun.BaseModel `bun:"table:receipts,alias:rc" json:"-"`

	ID          int64  `bun:"id,pk,autoincrement" json:"-"`
	Number      string `bun:"number" json:"number"` // "2026-0001"
	Year        int    `bun:"year" json:"year"`     // the year of the gifts
	Seq         int    `bun:"seq" json:"seq"`       // 1, 2, ... within the year
	SupporterID int64  `bun:"supporter_id" json:"-"`
	// Country is ReceiptFR or ReceiptBE: which form and rules it follows.
	Country string `bun:"country" json:"country"`
	// Annual is a summary of the year's gifts; false: one gift.
	Annual   bool   `bun:"annual" json:"annual"`
	Amount   int64  `bun:"amount" json:"amount"` // the sum of its gifts, in minor units
	Currency string `bun:"currency" json:"currency"`

	// The donor, as they were when it was issued.
	DonorName     string `bun:"donor_name" json:"donor_name"`
	DonorAddress  string `bun:"donor_address" json:"donor_address"`
	DonorPostcode string `bun:"donor_postcode" json:"donor_postcode"`
	DonorCity     string `bun:"donor_city" json:"donor_city"`
	DonorCountry  string `bun:"donor_country" json:"donor_country"`
	DonorEmail    string `bun:"donor_email" json:"donor_email"`

	// Issuer is the association's receipt settings as they were when it
	// was issued (ReceiptSettings as JSON).
	Issuer ReceiptSettings `bun:"issuer,type:text" json:"issuer"`

	Status       ReceiptStatus `bun:"status" json:"status"`
	IssuedAt     time.Time     `bun:"issued_at" json:"issued_at"`
	CancelledAt  time.Time     `bun:"cancelled_at,nullzero" json:"cancelled_at,omitzero"`
	CancelReason string        `bun:"cancel_reason" json:"cancel_reason,omitempty"`

	// Gifts are the donations it covers, filled in by the functions
	// that return receipts.
	Gifts []ReceiptGift `bun:"-" json:"gifts"`
}

// ReceiptGift is one gift on a receipt: date, amount and method, as the
// Cerfa form lists them.
type ReceiptGift struct {
	DonationID int64          `json:"donation_id"`
	ReceivedAt time.Time      `json:"received_at"`
	Amount     int64          `json:"amount"`
	Method     DonationMethod `json:"method"`
}

// ReceiptSettings are the association's details a receipt states. They
// are settings (crm settings set receipt-...); see SettingKeys.
type ReceiptSettings struct {
	LegalName string `json:"legal_name"` // "Association Solidarité Calais"
	Address   string `json:"address"`    // the registered office, several lines
	Object    string `json:"object"`     // the association's object, as in its statutes
	RNA       string `json:"rna,omitempty"`
	SIREN     string `json:"siren,omitempty"`
	Country   string `json:"country"` // ReceiptFR or ReceiptBE
	// Article is, in France, the article of the CGI the gifts fall
	// under: "200" (individuals; Cerfa 11580) or "238 bis" (companies;
	// Cerfa 16216).
	Article string `json:"article,omitempty"`
	// Rate is, in France, the reduction rate the association states
	// applies: "66" or "75" (free meals, housing help, free care). It
	// is never assumed.
	Rate string `json:"rate,omitempty"`
	// Approval is, in Belgium, the reference of the approval that
	// allows the reduction.
	Approval      string `json:"approval,omitempty"`
	Signer        string `json:"signer"`                   // "Marie Dupont"
	SignerRole    string `json:"signer_role"`              // "présidente"
	SignatureFile string `json:"signature_file,omitempty"` // a PNG or JPEG of the signature
}

// liveReceiptOf returns the number of the live receipt the donation is
// on, "" if none: such a gift cannot change until the receipt is
// cancelled.
func liveReceiptOf(ctx context.Context, idb bun.IDB, donationID int64) (string, error) {
	var numbers []string
	if err := idb.NewSelect().TableExpr("receipt_donations AS rd").ColumnExpr("rc.number").
		Join("JOIN receipts AS rc ON rc.id = rd.receipt_id").
		Where("rd.donation_id = ? AND rc.status = ?", donationID, ReceiptIssued).Limit(1).
		Scan(ctx, &numbers); err != nil {
		return "", fmt.Errorf("receipt of donation %d: %w", donationID, err)
	}
	if len(numbers) == 0 {
		return "", nil
	}
	return numbers[0], nil
}

// ReceiptMinimumBE is the least a donor must give in a calendar year, in
// cents, for a Belgian attestation (art. 145/33 CIR 92: €40).
const ReceiptMinimumBE = 4000

// ReceiptRetention is how long receipts, like the association's other
// accounting documents, are kept (LPF art. L102 B: six years): Forget
// refuses a donor with a receipt issued within it, unless forced.
const ReceiptRetention = 6 // years

// ErrRetention is wrapped by Forget's error for a donor with a tax
// receipt still within ReceiptRetention.
var ErrRetention = errors.New("a tax receipt of this donor must be kept 6 years (LPF art. L102 B)")

// Check returns an error wrapping ErrInvalid that names every setting a
// receipt cannot be issued without (see SettingKeys), nil when there is
// none. The French rate is never assumed: without receipt-rate, issuing
// receipts under article 200 is refused (article 238 bis, for
// companies, states none).
func (s ReceiptSettings) Check() error {
	var missing []string
	need := func(key, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, key)
		}
	}
	need("receipt-legal-name", s.LegalName)
	need("receipt-address", s.Address)
	need("receipt-signer", s.Signer)
	need("receipt-signer-role", s.SignerRole)
	switch s.Country {
	case ReceiptFR:
		need("receipt-object", s.Object)
		if s.RNA == "" && s.SIREN == "" {
			missing = append(missing, "receipt-rna or receipt-siren")
		}
		need("receipt-article", s.Article)
	case ReceiptBE:
		need("receipt-siren", s.SIREN)
		need("receipt-approval", s.Approval)
	case "":
		missing = append(missing, "receipt-country")
	}
	if len(missing) > 0 {
		return invalid("receipt settings", "", "not set: "+strings.Join(missing, ", ")+" (crm settings set KEY VALUE)")
	}
	if s.Country == ReceiptFR && s.Article == "200" && s.Rate == "" {
		return invalid("receipt-rate", "", "not set: the reduction rate (66, or 75 for free meals, housing or care) is "+
			"the association's to state and is never assumed: crm settings set receipt-rate 66")
	}
	return nil
}

// ReceiptRequest says which receipts IssueReceipts issues.
type ReceiptRequest struct {
	// Year is the calendar year of the gifts, in the settings' time zone.
	Year int
	// Email, when set, issues only this donor's.
	Email string
	// PerDonation issues one receipt per gift instead of one annual
	// summary per donor (France only: a Belgian attestation covers the
	// year).
	PerDonation bool
	// DryRun works out what would be issued, numbers included, and
	// writes nothing.
	DryRun bool
}

// NotReceiptable is a donor with gifts in the year who gets no receipt,
// and why.
type NotReceiptable struct {
	SupporterID int64  `json:"supporter_id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Amount      int64  `json:"amount"` // the gifts waiting for a receipt, in cents
	Gifts       int    `json:"gifts"`
	// Missing names what a receipt needs and the supporter lacks: name,
	// address, postcode, city.
	Missing []string `json:"missing,omitempty"`
	Reason  string   `json:"reason"`
}

// ReceiptRun is what IssueReceipts issued, or would issue (DryRun).
type ReceiptRun struct {
	Year           int              `json:"year"`
	Country        string           `json:"country"`
	DryRun         bool             `json:"dry_run"`
	Issued         []*Receipt       `json:"issued"`
	NotReceiptable []NotReceiptable `json:"not_receiptable"`
}

// errReceiptDryRun rolls back a dry run's transaction.
var errReceiptDryRun = errors.New("dry run")

// IssueReceipts issues the tax receipts of a year: by default one annual
// summary per donor of their EUR gifts of that year (in the settings'
// time zone) that are on no live receipt yet. Each receipt takes the next
// number of the year's gap-free sequence ("2026-0001") in the transaction
// that stores it, so a failure leaves no gap, and concurrent issuers (on
// SQLite and PostgreSQL alike) wait for each other: each gift ends up on
// one receipt. A receipt freezes the donor's name and postal address and
// the association's receipt settings.
//
// Donors without a name or a postal address (address, postcode, city)
// are listed in NotReceiptable with what they lack, and skipped; so are,
// in Belgium, donors who gave less than €40 in the year. It returns an
// error wrapping ErrInvalid when a receipt setting is missing (see
// ReceiptSettings.Check) or the request is wrong, and ErrNotFound for an
// unknown Email. Each receipt is audited (by number, never by name).
func (db *DB) IssueReceipts(ctx context.Context, req ReceiptRequest) (*ReceiptRun, error) {
	var run *ReceiptRun
	err := db.RunInTx(ctx, func(tx *Tx) error {
		var err error
		if run, err = tx.issueReceipts(ctx, req); err != nil {
			return err
		}
		if req.DryRun {
			return errReceiptDryRun
		}
		return nil
	})
	if errors.Is(err, errReceiptDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return run, nil
}

// IssueReceipts is DB.IssueReceipts in the transaction; a DryRun is
// refused (roll the transaction back instead).
func (tx *Tx) IssueReceipts(ctx context.Context, req ReceiptRequest) (*ReceiptRun, error) {
	if req.DryRun {
		return nil, invalid("dry-run", "", "not in a transaction of the caller's: roll it back instead")
	}
	return tx.issueReceipts(ctx, req)
}

type receiptCandidate struct {
	ID          int64          `bun:"id"`
	SupporterID int64          `bun:"supporter_id"`
	Amount      int64          `bun:"amount"`
	ReceivedAt  time.Time      `bun:"received_at"`
	Method      DonationMethod `bun:"method"`
}

func (tx *Tx) issueReceipts(ctx context.Context, req ReceiptRequest) (*ReceiptRun, error) {
	st, err := tx.Settings(ctx)
	if err != nil {
		return nil, err
	}
	rs := st.Receipt
	if err := rs.Check(); err != nil {
		return nil, err
	}
	loc := st.Location()
	now := tx.now()
	if req.Year < 2000 || req.Year > now.In(loc).Year() {
		return nil, invalid("year", strconv.Itoa(req.Year), fmt.Sprintf("want a year from 2000 to %d", now.In(loc).Year()))
	}
	if req.PerDonation && rs.Country == ReceiptBE {
		return nil, invalid("per-donation", "", "a Belgian attestation covers the calendar year: issue them annually")
	}
	var onlyID int64
	if req.Email != "" {
		if onlyID, err = tx.SupporterID(ctx, req.Email); err != nil {
			return nil, err
		}
	}
	since := time.Date(req.Year, 1, 1, 0, 0, 0, 0, loc).UTC()
	until := time.Date(req.Year+1, 1, 1, 0, 0, 0, 0, loc).UTC()

	// The year's sequence row is taken first: on PostgreSQL its lock
	// makes a concurrent issuer wait here until this one commits, and
	// then see, below, the gifts this one put on receipts (on SQLite the
	// transaction's write lock does the same).
	last, err := lockReceiptSequence(ctx, tx.tx, req.Year)
	if err != nil {
		return nil, err
	}
	var gifts []receiptCandidate
	q := tx.tx.NewSelect().TableExpr("donations AS d").
		Column("d.id", "d.supporter_id", "d.amount", "d.received_at", "d.method").
		Join("JOIN supporters AS s ON s.id = d.supporter_id").
		Where("d.currency = 'EUR' AND d.received_at >= ? AND d.received_at < ?", since, until).
		Where("s.erased_at IS NULL").
		Where("NOT EXISTS (SELECT 1 FROM receipt_donations AS rd JOIN receipts AS rc ON rc.id = rd.receipt_id "+
			"WHERE rd.donation_id = d.id AND rc.status = ?)", ReceiptIssued).
		Order("d.supporter_id", "d.received_at", "d.id")
	if onlyID != 0 {
		q = q.Where("d.supporter_id = ?", onlyID)
	}
	if err := q.Scan(ctx, &gifts); err != nil {
		return nil, fmt.Errorf("issue receipts: %w", err)
	}
	run := &ReceiptRun{Year: req.Year, Country: rs.Country, DryRun: req.DryRun, Issued: []*Receipt{}, NotReceiptable: []NotReceiptable{}}
	if len(gifts) == 0 {
		return run, nil
	}
	yearTotals := map[int64]int64{}
	if rs.Country == ReceiptBE {
		var rows []struct {
			SupporterID int64 `bun:"supporter_id"`
			Sum         int64 `bun:"sum"`
		}
		if err := tx.tx.NewSelect().Table("donations").ColumnExpr("supporter_id, SUM(amount) AS sum").
			Where("currency = 'EUR' AND received_at >= ? AND received_at < ? AND supporter_id IS NOT NULL", since, until).
			Group("supporter_id").Scan(ctx, &rows); err != nil {
			return nil, fmt.Errorf("issue receipts: %w", err)
		}
		for _, r := range rows {
			yearTotals[r.SupporterID] = r.Sum
		}
	}
	issuedAt := now
	for start := 0; start < len(gifts); {
		end := start
		for end < len(gifts) && gifts[end].SupporterID == gifts[start].SupporterID {
			end++
		}
		own := gifts[start:end]
		start = end
		s, err := tx.GetSupporter(ctx, own[0].SupporterID)
		if err != nil {
			return nil, err
		}
		var sum int64
		for _, g := range own {
			sum += g.Amount
		}
		name := s.Name()
		if name == "" {
			name = s.Organisation
		}
		skip := NotReceiptable{SupporterID: s.ID, Email: s.Email, Name: name, Amount: sum, Gifts: len(own)}
		for _, f := range []struct{ field, v string }{{"name", name}, {"address", s.Address}, {"postcode", s.Postcode}, {"city", s.City}} {
			if f.v == "" {
				skip.Missing = append(skip.Missing, f.field)
			}
		}
		if len(skip.Missing) > 0 {
			skip.Reason = "no " + strings.Join(skip.Missing, ", ") + ": a receipt states the donor's name and postal address"
			run.NotReceiptable = append(run.NotReceiptable, skip)
			continue
		}
		if rs.Country == ReceiptBE && yearTotals[s.ID] < ReceiptMinimumBE {
			skip.Reason = fmt.Sprintf("gave %s EUR in %d: a Belgian attestation needs at least 40 EUR in the year",
				FormatAmount(yearTotals[s.ID], "EUR"), req.Year)
			run.NotReceiptable = append(run.NotReceiptable, skip)
			continue
		}
		groups := [][]receiptCandidate{own}
		if req.PerDonation {
			groups = groups[:0]
			for i := range own {
				groups = append(groups, own[i:i+1])
			}
		}
		for _, g := range groups {
			last++
			rc := &Receipt{Number: ReceiptNumber(req.Year, last), Year: req.Year, Seq: last, SupporterID: s.ID,
				Country: rs.Country, Annual: !req.PerDonation, Currency: "EUR",
				DonorName: name, DonorAddress: s.Address, DonorPostcode: s.Postcode, DonorCity: s.City,
				DonorCountry: s.Country, DonorEmail: s.Email, Issuer: rs, Status: ReceiptIssued, IssuedAt: issuedAt}
			for _, d := range g {
				rc.Amount += d.Amount
				rc.Gifts = append(rc.Gifts, ReceiptGift{DonationID: d.ID, ReceivedAt: d.ReceivedAt.UTC(), Amount: d.Amount, Method: d.Method})
			}
			if err := insertReceipt(ctx, tx.tx, rc); err != nil {
				return nil, err
			}
			if err := tx.audit(ctx, "issue receipt", s.ID, "receipt "+rc.Number); err != nil {
				return nil, err
			}
			run.Issued = append(run.Issued, rc)
		}
	}
	if _, err := tx.tx.NewUpdate().Table("receipt_sequences").Set("last = ?", last).Where("year = ?", req.Year).Exec(ctx); err != nil {
		return nil, fmt.Errorf("issue receipts: %w", err)
	}
	return run, nil
}

// ReceiptNumber is the number of the seq-th receipt of a year:
// "2026-0001".
func ReceiptNumber(year, seq int) string { return fmt.Sprintf("%d-%04d", year, seq) }

// lockReceiptSequence returns the last number given in year, locking the
// year's row (PostgreSQL) until the transaction ends.
func lockReceiptSequence(ctx context.Context, idb bun.IDB, year int) (int, error) {
	if _, err := idb.NewRaw("INSERT INTO receipt_sequences (year, last) VALUES (?, 0) ON CONFLICT (year) DO NOTHING", year).
		Exec(ctx); err != nil {
		return 0, fmt.Errorf("receipt numbers of %d: %w", year, err)
	}
	q := idb.NewSelect().Table("receipt_sequences").Column("last").Where("year = ?", year)
	if idb.Dialect().Name() == dialect.PG {
		q = q.For("UPDATE")
	}
	var last int
	if err := q.Scan(ctx, &last); err != nil {
		return 0, fmt.Errorf("receipt numbers of %d: %w", year, err)
	}
	return last, nil
}

type receiptDonation struct {
	bun.BaseModel `bun:"table:receipt_donations"`
	ReceiptID     int64 `bun:"receipt_id,pk"`
	DonationID    int64 `bun:"donation_id,pk"`
}

func insertReceipt(ctx context.Context, idb bun.IDB, rc *Receipt) error {
	if _, err := idb.NewInsert().Model(rc).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("receipt %s: %w", rc.Number, ErrConflict)
		}
		return fmt.Errorf("receipt %s: %w", rc.Number, err)
	}
	links := make([]receiptDonation, len(rc.Gifts))
	for i, g := range rc.Gifts {
		links[i] = receiptDonation{ReceiptID: rc.ID, DonationID: g.DonationID}
	}
	if _, err := idb.NewInsert().Model(&links).Exec(ctx); err != nil {
		return fmt.Errorf("receipt %s: %w", rc.Number, err)
	}
	return nil
}

// ReceiptFilter selects receipts; zero fields do not filter.
type ReceiptFilter struct {
	ID          int64
	Year        int
	SupporterID int64
	Status      ReceiptStatus
}

// ListReceipts returns the receipts matching f, by year and number, each
// with its gifts.
func (db *DB) ListReceipts(ctx context.Context, f ReceiptFilter) ([]*Receipt, error) {
	return listReceipts(ctx, db.bun, f, "")
}

// GetReceipt returns the receipt with this number, with its gifts, or an
// error wrapping ErrNotFound.
func (db *DB) GetReceipt(ctx context.Context, number string) (*Receipt, error) {
	return getReceipt(ctx, db.bun, number)
}

func getReceipt(ctx context.Context, idb bun.IDB, number string) (*Receipt, error) {
	rs, err := listReceipts(ctx, idb, ReceiptFilter{}, CleanText(number))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no receipt %s: %w", CleanText(number), ErrNotFound)
	}
	return rs[0], nil
}

func listReceipts(ctx context.Context, idb bun.IDB, f ReceiptFilter, number string) ([]*Receipt, error) {
	out := []*Receipt{}
	q := idb.NewSelect().Model(&out).Order("rc.year", "rc.seq")
	if f.ID != 0 {
		q = q.Where("rc.id = ?", f.ID)
	}
	if f.Year != 0 {
		q = q.Where("rc.year = ?", f.Year)
	}
	if f.SupporterID != 0 {
		q = q.Where("rc.supporter_id = ?", f.SupporterID)
	}
	if f.Status != "" {
		q = q.Where("rc.status = ?", f.Status)
	}
	if number != "" {
		q = q.Where("rc.number = ?", number)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	byID := map[int64]*Receipt{}
	ids := make([]int64, len(out))
	for i, r := range out {
		r.IssuedAt = r.IssuedAt.UTC()
		if !r.CancelledAt.IsZero() {
			r.CancelledAt = r.CancelledAt.UTC()
		}
		r.Gifts = []ReceiptGift{}
		byID[r.ID], ids[i] = r, r.ID
	}
	var gifts []struct {
		ReceiptID  int64          `bun:"receipt_id"`
		DonationID int64          `bun:"donation_id"`
		ReceivedAt time.Time      `bun:"received_at"`
		Amount     int64          `bun:"amount"`
		Method     DonationMethod `bun:"method"`
	}
	for chunk := range slices.Chunk(ids, 500) {
		if err := idb.NewSelect().TableExpr("receipt_donations AS rd").
			ColumnExpr("rd.receipt_id, rd.donation_id, d.received_at, d.amount, d.method").
			Join("JOIN donations AS d ON d.id = rd.donation_id").
			Where("rd.receipt_id IN (?)", bun.List(chunk)).Order("rd.receipt_id", "d.received_at", "d.id").
			Scan(ctx, &gifts); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		for _, g := range gifts {
			r := byID[g.ReceiptID]
			r.Gifts = append(r.Gifts, ReceiptGift{DonationID: g.DonationID, ReceivedAt: g.ReceivedAt.UTC(), Amount: g.Amount, Method: g.Method})
		}
		gifts = gifts[:0]
	}
	return out, nil
}

// CancelReceipt cancels a receipt issued by mistake: it keeps its number
// (never given again) and amounts, is marked cancelled with the reason
// and the time, and its gifts may go on a new receipt. It returns the
// receipt, an error wrapping ErrNotFound for an unknown number,
// ErrConflict for one cancelled already, and a *ValidationError without
// a reason. The cancellation is audited.
func (db *DB) CancelReceipt(ctx context.Context, number, reason string) (*Receipt, error) {
	return runTx(ctx, db, func(tx *Tx) (*Receipt, error) { return tx.CancelReceipt(ctx, number, reason) })
}

// CancelReceipt is DB.CancelReceipt in the transaction.
func (tx *Tx) CancelReceipt(ctx context.Context, number, reason string) (*Receipt, error) {
	reason = cleanMultiline(reason)
	if reason == "" {
		return nil, invalid("reason", "", "missing: say why the receipt is cancelled")
	}
	if len([]rune(reason)) > 500 {
		return nil, invalid("reason", "", "longer than 500 characters")
	}
	number = CleanText(number)
	q := tx.tx.NewSelect().Table("receipts").Column("id", "status", "supporter_id").Where("number = ?", number)
	if !tx.db.isSQLite() {
		q = q.For("UPDATE")
	}
	var row struct {
		ID          int64         `bun:"id"`
		Status      ReceiptStatus `bun:"status"`
		SupporterID int64         `bun:"supporter_id"`
	}
	if err := q.Scan(ctx, &row); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no receipt %s: %w", number, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("cancel receipt %s: %w", number, err)
	}
	if row.Status == ReceiptCancelled {
		return nil, fmt.Errorf("receipt %s is cancelled already: %w", number, ErrConflict)
	}
	if _, err := tx.tx.NewUpdate().Table("receipts").Set("status = ?", ReceiptCancelled).Set("cancelled_at = ?", tx.now()).
		Set("cancel_reason = ?", reason).Where("id = ?", row.ID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("cancel receipt %s: %w", number, err)
	}
	if err := tx.audit(ctx, "cancel receipt", row.SupporterID, "receipt "+number); err != nil {
		return nil, err
	}
	return getReceipt(ctx, tx.tx, number)
}

// ReceiptTotals are the receipts issued for a year and not cancelled:
// what France's annual declaration (art. 222 bis CGI) states.
type ReceiptTotals struct {
	Year     int    `json:"year"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"` // cents
	Currency string `json:"currency"`
}

// ReceiptDeclaration sums the receipts of a year's gifts that stand
// (issued, not cancelled): their count and total amount.
func (db *DB) ReceiptDeclaration(ctx context.Context, year int) (*ReceiptTotals, error) {
	t := &ReceiptTotals{Year: year, Currency: "EUR"}
	if err := db.bun.NewSelect().Table("receipts").ColumnExpr("COUNT(*), COALESCE(SUM(amount), 0)").
		Where("year = ? AND status = ?", year, ReceiptIssued).Scan(ctx, &t.Count, &t.Amount); err != nil {
		return nil, fmt.Errorf("receipts of %d: %w", year, err)
	}
	return t, nil
}

// receiptsSince returns the numbers of the supporter's receipts
// issued since the cutoff, oldest first.
func receiptsSince(ctx context.Context, idb bun.IDB, supporterID int64, since time.Time) ([]string, error) {
	var numbers []string
	if err := idb.NewSelect().Table("receipts").Column("number").
		Where("supporter_id = ? AND issued_at >= ?", supporterID, since.UTC()).Order("issued_at", "id").
		Scan(ctx, &numbers); err != nil {
		return nil, fmt.Errorf("receipts of supporter %d: %w", supporterID, err)
	}
	return numbers, nil
}
