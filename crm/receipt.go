package crm

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
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
