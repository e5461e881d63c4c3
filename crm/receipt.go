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

	// DonorErased is true once its donor was erased (Forget): it keeps
	// its number, amount and gifts for the accounts, not whom it was
	// for, and no PDF of it can be written any more.
	DonorErased bool `bun:"donor_erased,scanonly" json:"donor_erased,omitempty"`

	// Gifts are the donations it covers, filled in by the functions
	// that return receipts.
	Gifts []ReceiptGift `bun:"-" json:"gifts"`
	// Replaces are the numbers of the cancelled receipts of the same
	// donor that covered some of its gifts: it cancels and replaces
	// them, and says so. Stored when it is issued.
	Replaces []string `bun:"-" json:"replaces,omitempty"`
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
	// Kind is, in France, the Cerfa's box for the kind of body: one of
	// ReceiptKinds' codes, with the details the box asks for after a
	// colon ("utilite-publique: décret du 2 mars 1990, JO du 4 mars
	// 1990"); "" is "interet-general".
	Kind string `json:"kind,omitempty"`
	// IFI is "yes" when the gifts also give right to the reduction of
	// the tax on real estate wealth (article 978 of the CGI), which
	// only some bodies open (foundations recognised of public utility,
	// research and higher education, integration through work...):
	// the receipt then cites article 978 besides article 200.
	IFI string `json:"ifi,omitempty"`
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

// Check returns an error wrapping ErrInvalid that names, all at once,
// every setting a receipt cannot be issued without (see SettingKeys),
// nil when there is none. The French rate is never assumed: without
// receipt-rate, issuing receipts under article 200 is refused (article
// 238 bis, for companies, states none). It also refuses a French
// SIREN that is a Belgian enterprise number, or the reverse, and
// article 978 (receipt-ifi) for a kind of body it does not cover.
func (s ReceiptSettings) Check() error {
	var missing []string
	need := func(key, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, key)
		}
	}
	if s.Country == "" {
		missing = append(missing, "receipt-country (FR or BE)")
	}
	need("receipt-legal-name", s.LegalName)
	need("receipt-address", s.Address)
	switch s.Country {
	case ReceiptFR, "":
		need("receipt-object", s.Object)
		if s.RNA == "" && s.SIREN == "" {
			missing = append(missing, "receipt-rna or receipt-siren")
		}
		need("receipt-article (200, or 238bis for companies)", s.Article)
		if s.Article != "238 bis" && s.Rate == "" {
			missing = append(missing, "receipt-rate (66, or 75 for free meals, housing or care: the association's "+
				"to state, never assumed)")
		}
	case ReceiptBE:
		need("receipt-siren (the enterprise number)", s.SIREN)
		need("receipt-approval", s.Approval)
	}
	need("receipt-signer", s.Signer)
	need("receipt-signer-role", s.SignerRole)
	if len(missing) > 0 {
		return invalid("receipt settings", "", "not set: "+strings.Join(missing, ", ")+" (crm settings set KEY VALUE)")
	}
	digits := len(s.SIREN)
	switch {
	case s.Country == ReceiptFR && digits == 10:
		return invalid("receipt-siren", s.SIREN, "a Belgian enterprise number: a French receipt states the SIREN (9 digits), or only the RNA")
	case s.Country == ReceiptBE && digits == 9:
		return invalid("receipt-siren", s.SIREN, "a French SIREN: a Belgian attestation states the enterprise number (10 digits)")
	}
	if s.Country == ReceiptFR && s.CitesIFI() {
		if s.Article == "238 bis" {
			return invalid("receipt-ifi", s.IFI, "article 978 (IFI) is a reduction of individuals: a receipt of companies' "+
				"gifts (article 238 bis) does not cite it")
		}
		if k, _ := receiptKindOf(s.Kind); !k.ifi {
			return invalid("receipt-ifi", s.IFI, fmt.Sprintf("article 978 (IFI) does not cover the kind %q (receipt-kind): it "+
				"covers foundations recognised of public utility, research and higher education, integration through work "+
				"and a few others; crm settings set receipt-ifi \"\" if yours is not one", k.code))
		}
	}
	return nil
}

// CitesIFI reports whether receipts cite article 978 of the CGI (the
// reduction of the tax on real estate wealth) besides article 200.
func (s ReceiptSettings) CitesIFI() bool { return s.IFI == "yes" && s.Article != "238 bis" }

// KindLabel is what a French receipt says of the kind of body (the
// Cerfa's box it ticks), with the details given after the code's colon.
func (s ReceiptSettings) KindLabel() string {
	k, detail := receiptKindOf(s.Kind)
	if detail != "" {
		return k.label + " : " + detail
	}
	return k.label
}

// ReceiptKind is one of the Cerfa's boxes for the kind of body.
type ReceiptKind struct {
	Code  string `json:"code"`  // what receipt-kind takes
	Label string `json:"label"` // what the receipt says
}

type receiptKind struct {
	code, label string
	ifi         bool // article 978 covers it (some such bodies)
	detail      bool // the box asks for details: the value needs them
}

// receiptKinds are the boxes of the Cerfa n°11580*05 for the kind of
// beneficiary that small associations and foundations tick.
var receiptKinds = []receiptKind{
	{code: "interet-general", label: "Œuvre ou organisme d'intérêt général"},
	{code: "utilite-publique", label: "Association ou fondation reconnue d'utilité publique", ifi: true},
	{code: "aide-personnes", label: "Organisme sans but lucratif fournissant gratuitement une aide alimentaire ou des soins " +
		"médicaux à des personnes en difficulté ou favorisant leur logement"},
	{code: "fondation-entreprise", label: "Fondation d'entreprise"},
	{code: "fondation-universitaire", label: "Fondation universitaire ou fondation partenariale (articles L. 719-12 et " +
		"L. 719-13 du code de l'éducation)", ifi: true},
	{code: "musee", label: "Musée de France"},
	{code: "cultuelle", label: "Association cultuelle et établissement public des cultes reconnus d'Alsace-Moselle"},
	{code: "fonds-dotation", label: "Fonds de dotation"},
	{code: "enseignement", label: "Établissement d'enseignement supérieur ou d'enseignement artistique public ou privé, " +
		"d'intérêt général, à but non lucratif", ifi: true},
	{code: "recherche", label: "Établissement de recherche public ou privé, d'intérêt général, à but non lucratif", ifi: true},
	{code: "spectacle", label: "Organisme dont la gestion est désintéressée et qui a pour activité principale la " +
		"présentation au public d'œuvres dramatiques, lyriques, musicales, chorégraphiques, cinématographiques, " +
		"audiovisuelles et de cirque ou l'organisation d'expositions d'art contemporain"},
	{code: "insertion", label: "Entreprise d'insertion ou entreprise de travail temporaire d'insertion (articles " +
		"L. 5132-5 et L. 5132-6 du code du travail)", ifi: true},
	{code: "association-intermediaire", label: "Association intermédiaire (article L. 5132-7 du code du travail)", ifi: true},
	{code: "chantier-insertion", label: "Atelier et chantier d'insertion (article L. 5132-15 du code du travail)", ifi: true},
	{code: "entreprise-adaptee", label: "Entreprise adaptée (article L. 5213-13 du code du travail)", ifi: true},
	{code: "autre", label: "Autre organisme", ifi: true, detail: true},
}

// ReceiptKinds returns the kinds of body a French receipt may state
// (the receipt-kind setting), the default first.
func ReceiptKinds() []ReceiptKind {
	out := make([]ReceiptKind, len(receiptKinds))
	for i, k := range receiptKinds {
		out[i] = ReceiptKind{Code: k.code, Label: k.label}
	}
	return out
}

// receiptKindOf splits a receipt-kind value into its kind (the default
// for "" or an unknown code) and its details.
func receiptKindOf(v string) (receiptKind, string) {
	code, detail, _ := strings.Cut(v, ":")
	code = strings.ToLower(strings.TrimSpace(code))
	for _, k := range receiptKinds {
		if k.code == code {
			return k, strings.TrimSpace(detail)
		}
	}
	return receiptKinds[0], ""
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
	// BelowMinimum is true for a Belgian donor who gave less than
	// ReceiptMinimumBE in the year: no attestation is due.
	BelowMinimum bool   `json:"below_minimum,omitempty"`
	Reason       string `json:"reason"`
}

// MethodlessGift is a gift on a French receipt paid by MethodOther: the
// Cerfa has a box for cash, cheque and transfer, direct debit or card,
// and none for another method, so the receipt ticks none for it.
// Recording how it was paid (EditDonation, before the receipt is
// issued) ticks the right one.
type MethodlessGift struct {
	DonationID int64     `json:"donation_id"`
	Receipt    string    `json:"receipt"` // its receipt's number
	Email      string    `json:"email"`
	Amount     int64     `json:"amount"` // cents
	ReceivedAt time.Time `json:"received_at"`
}

// ReceiptRun is what IssueReceipts issued, or would issue (DryRun).
type ReceiptRun struct {
	Year           int              `json:"year"`
	Country        string           `json:"country"`
	DryRun         bool             `json:"dry_run"`
	Issued         []*Receipt       `json:"issued"`
	NotReceiptable []NotReceiptable `json:"not_receiptable"`
	// Methodless are the gifts of the French receipts issued that were
	// paid by MethodOther (see MethodlessGift).
	Methodless []MethodlessGift `json:"methodless,omitempty"`
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
	if rs.Country == ReceiptBE {
		// A Belgian attestation states no article, rate or kind of the
		// French form (settings left from a French setup).
		rs.Article, rs.Rate, rs.Kind, rs.IFI = "", "", "", ""
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
			skip.BelowMinimum = true
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
			ids := make([]int64, len(g))
			for i, d := range g {
				rc.Amount += d.Amount
				rc.Gifts = append(rc.Gifts, ReceiptGift{DonationID: d.ID, ReceivedAt: d.ReceivedAt.UTC(), Amount: d.Amount, Method: d.Method})
				ids[i] = d.ID
				if d.Method == MethodOther && rs.Country == ReceiptFR {
					run.Methodless = append(run.Methodless, MethodlessGift{DonationID: d.ID, Receipt: rc.Number,
						Email: s.Email, Amount: d.Amount, ReceivedAt: d.ReceivedAt.UTC()})
				}
			}
			if rc.Replaces, err = cancelledReceiptsOf(ctx, tx.tx, s.ID, ids); err != nil {
				return nil, err
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
			return errorOf(ErrConflict, "receipt %s was issued already (by another issuer at the same time?)", rc.Number)
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
	for _, number := range rc.Replaces {
		if _, err := idb.NewRaw("INSERT INTO receipt_replacements (receipt_id, replaced_id) "+
			"SELECT ?, id FROM receipts WHERE number = ?", rc.ID, number).Exec(ctx); err != nil {
			return fmt.Errorf("receipt %s: %w", rc.Number, err)
		}
	}
	return nil
}

// receiptRef is a receipt's number and place in its year's sequence.
type receiptRef struct {
	Number string `bun:"number"`
	Year   int    `bun:"year"`
	Seq    int    `bun:"seq"`
}

// cancelledReceiptsOf returns the numbers of the cancelled receipts of
// the supporter that covered any of the donations, oldest first: those
// a new receipt of these gifts replaces.
func cancelledReceiptsOf(ctx context.Context, idb bun.IDB, supporterID int64, donationIDs []int64) ([]string, error) {
	var refs []receiptRef
	for chunk := range slices.Chunk(donationIDs, 500) {
		var some []receiptRef
		if err := idb.NewSelect().TableExpr("receipts AS rc").Column("rc.number", "rc.year", "rc.seq").
			Where("rc.supporter_id = ? AND rc.status = ?", supporterID, ReceiptCancelled).
			Where("EXISTS (SELECT 1 FROM receipt_donations AS rd WHERE rd.receipt_id = rc.id AND rd.donation_id IN (?))",
				bun.List(chunk)).
			Scan(ctx, &some); err != nil {
			return nil, fmt.Errorf("cancelled receipts of supporter %d: %w", supporterID, err)
		}
		refs = append(refs, some...)
	}
	slices.SortFunc(refs, func(a, b receiptRef) int {
		if a.Year != b.Year {
			return a.Year - b.Year
		}
		return a.Seq - b.Seq
	})
	var numbers []string
	for _, r := range refs {
		if !slices.Contains(numbers, r.Number) {
			numbers = append(numbers, r.Number)
		}
	}
	return numbers, nil
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
		return nil, errorOf(ErrNotFound, "no receipt %s (crm receipts list shows them)", CleanText(number))
	}
	return rs[0], nil
}

func listReceipts(ctx context.Context, idb bun.IDB, f ReceiptFilter, number string) ([]*Receipt, error) {
	out := []*Receipt{}
	q := idb.NewSelect().Model(&out).ColumnExpr("rc.*").
		ColumnExpr("CASE WHEN s.erased_at IS NULL THEN 0 ELSE 1 END AS donor_erased").
		Join("LEFT JOIN supporters AS s ON s.id = rc.supporter_id").Order("rc.year", "rc.seq")
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
		var replaced []struct {
			ReceiptID int64  `bun:"receipt_id"`
			Number    string `bun:"number"`
		}
		if err := idb.NewSelect().TableExpr("receipt_replacements AS rr").ColumnExpr("rr.receipt_id, old.number").
			Join("JOIN receipts AS old ON old.id = rr.replaced_id").
			Where("rr.receipt_id IN (?)", bun.List(chunk)).Order("rr.receipt_id", "old.year", "old.seq").
			Scan(ctx, &replaced); err != nil {
			return nil, fmt.Errorf("receipts: %w", err)
		}
		for _, r := range replaced {
			byID[r.ReceiptID].Replaces = append(byID[r.ReceiptID].Replaces, r.Number)
		}
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
		return nil, errorOf(ErrNotFound, "no receipt %s (crm receipts list shows them)", number)
	} else if err != nil {
		return nil, fmt.Errorf("cancel receipt %s: %w", number, err)
	}
	if row.Status == ReceiptCancelled {
		return nil, errorOf(ErrConflict, "receipt %s is cancelled already", number)
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
