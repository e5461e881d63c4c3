package newsletter

import (
	"context"
	"errors"
	"fmt"
	"html"
	"iter"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/receipt"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// NoticeReceipt carries a tax receipt (crm.Receipt) to its donor, as a
// PDF attachment. It goes through the notices engine like the other
// notices, in its single-email mode (the batch endpoint takes no
// attachments): queued once per receipt, its message (PDF included)
// stored before the provider is called and sent under one idempotency
// key, so a receipt is mailed exactly once however often, and however
// interrupted, crm receipts send runs.
const NoticeReceipt NoticeKind = "receipt"

// ErrNoFrom is wrapped by the error of SendReceipts and
// PreviewReceipts when no sender address is known: neither the options
// nor the settings (crm settings set from) give one.
var ErrNoFrom = errors.New("no sender address")

// ReceiptSendOptions says which receipts SendReceipts sends, and how.
type ReceiptSendOptions struct {
	// Year is the year of the receipts' gifts.
	Year int
	// Notice gives the sender's address and the retries (see
	// NoticeOptions); its SupporterID and IDs are ignored.
	Notice NoticeOptions
}

// ReceiptSendReport says what SendReceipts did.
type ReceiptSendReport struct {
	NoticeReport
	// Queued counts the receipts queued by this run; Before, those sent
	// by an earlier run, which are not sent again.
	Queued int `json:"queued"`
	Before int `json:"sent_before"`
	// NotSent names the receipts no email can carry (an erased donor,
	// an address that bounced or complained): to post.
	NotSent []string `json:"not_sent,omitempty"`
}

// ReceiptFileName names a receipt's email as a file: its number and
// ".eml" ("2026-0001.eml"), for an Outbox's FileName.
func ReceiptFileName(m Message) string { return m.Tags["receipt"] + ".eml" }

// receiptFrom returns the settings, with the sender's address of the
// options or else of the settings in From; an error wrapping ErrNoFrom
// when there is none.
func (n *Newsletter) receiptFrom(ctx context.Context, o NoticeOptions) (*crm.Settings, error) {
	st, err := n.db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if o.From != "" {
		st.From = o.From
	}
	if o.ReplyTo != "" {
		st.ReplyTo = o.ReplyTo
	}
	if st.From == "" {
		return nil, fmt.Errorf("receipts: %w (crm settings set from, or NoticeOptions.From)", ErrNoFrom)
	}
	return st, nil
}

// ReceiptPreview is the email of one receipt as SendReceipts would send
// it now (Message), or why it would not go (Skip: a donor erased, an
// address that bounced).
type ReceiptPreview struct {
	Number  string   `json:"number"`
	Message *Message `json:"message,omitempty"`
	Skip    string   `json:"skip,omitempty"`
}

// PreviewReceipts yields, in number order, the email of each live
// receipt of the year that SendReceipts would send now (those not sent,
// nor skipped or failed, before), its PDF attached, and records nothing:
// no receipt is queued or marked sent, so a send afterwards sends them
// all. It fails, before yielding any, with an error wrapping ErrNoFrom
// when no sender address is known.
func (n *Newsletter) PreviewReceipts(ctx context.Context, opts ReceiptSendOptions) iter.Seq2[ReceiptPreview, error] {
	return func(yield func(ReceiptPreview, error) bool) {
		st, err := n.receiptFrom(ctx, opts.Notice)
		if err != nil {
			yield(ReceiptPreview{}, err)
			return
		}
		rs, err := n.db.ListReceipts(ctx, crm.ReceiptFilter{Year: opts.Year, Status: crm.ReceiptIssued})
		if err != nil || len(rs) == 0 {
			if err != nil {
				yield(ReceiptPreview{}, err)
			}
			return
		}
		ids := make([]int64, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		var done []int64
		for chunk := range slices.Chunk(ids, 500) {
			var some []int64
			if err := n.bun.NewSelect().Table("newsletter_notices").Column("receipt_id").
				Where("receipt_id IN (?)", bun.List(chunk)).Where("status NOT IN (?, ?)", noticePending, noticeInFlight).
				Scan(ctx, &some); err != nil {
				yield(ReceiptPreview{}, fmt.Errorf("receipts: %w", err))
				return
			}
			done = append(done, some...)
		}
		no := NoticeOptions{From: st.From, ReplyTo: st.ReplyTo}
		for _, r := range rs {
			if slices.Contains(done, r.ID) {
				continue
			}
			m, skip, err := n.renderReceiptNotice(ctx, &noticeRow{Kind: NoticeReceipt, SupporterID: r.SupporterID, ReceiptID: r.ID}, st, no)
			if err != nil {
				yield(ReceiptPreview{Number: r.Number}, fmt.Errorf("receipt %s: %w", r.Number, err))
				return
			}
			if !yield(ReceiptPreview{Number: r.Number, Message: m, Skip: skip}, nil) {
				return
			}
		}
	}
}

// SendReceipts emails each live receipt of a year to its donor, with the
// receipt's PDF attached, exactly once per receipt: it queues a notice
// per receipt not queued before (in one transaction), then sends the
// receipts' notices not sent yet through sender, which must have a
// single-email mode (SingleSender: Resend, an Outbox). A run stopped
// midway (a crash, a quota, Ctrl-C) is resumed by running it again: a
// receipt handed to the provider is sent again under its key, which
// the provider answers without sending twice. The email is in the
// donor's language (French or English), says what the attachment is and
// which cancelled receipts it replaces. It fails, sending nothing, with
// an error wrapping ErrNoFrom when no sender address is known.
func (n *Newsletter) SendReceipts(ctx context.Context, sender Sender, opts ReceiptSendOptions) (*ReceiptSendReport, error) {
	if _, ok := sender.(SingleSender); !ok {
		return nil, errors.New("receipts: the sender has no single-email mode, which attachments need")
	}
	if _, err := n.receiptFrom(ctx, opts.Notice); err != nil {
		return nil, err
	}
	rs, err := n.db.ListReceipts(ctx, crm.ReceiptFilter{Year: opts.Year, Status: crm.ReceiptIssued})
	if err != nil {
		return nil, err
	}
	rep := &ReceiptSendReport{}
	if len(rs) == 0 {
		return rep, nil
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	now := n.clock()
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		idb := dbutil.Tx(tx)
		for _, r := range rs {
			row := &noticeRow{Kind: NoticeReceipt, SupporterID: r.SupporterID, ReceiptID: r.ID,
				Key: "receipt-" + r.Number + "-" + randomHex(12), Status: noticePending, CreatedAt: now}
			res, err := idb.NewInsert().Model(row).
				On("CONFLICT (receipt_id) WHERE receipt_id IS NOT NULL DO NOTHING").Returning("NULL").Exec(ctx)
			if err != nil {
				return fmt.Errorf("queue receipt %s: %w", r.Number, err)
			}
			if affected(res) {
				rep.Queued++
			}
		}
		if rep.Queued > 0 {
			return tx.Audit(ctx, "queue receipts", fmt.Sprintf("%d receipts of %d to email", rep.Queued, opts.Year))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var notices []struct {
		ID        int64        `bun:"id"`
		ReceiptID int64        `bun:"receipt_id"`
		Status    noticeStatus `bun:"status"`
		Error     string       `bun:"error"`
	}
	if err := n.bun.NewSelect().Table("newsletter_notices").Column("id", "receipt_id", "status", "error").
		Where("receipt_id IN (?)", bun.List(ids)).Order("id").Scan(ctx, &notices); err != nil {
		return nil, fmt.Errorf("receipts: %w", err)
	}
	var open []int64
	for _, nt := range notices {
		switch nt.Status {
		case noticeSent:
			rep.Before++
		case noticePending, noticeInFlight:
			open = append(open, nt.ID)
		}
	}
	if len(open) > 0 {
		no := opts.Notice
		no.SupporterID, no.IDs = 0, open
		nr, err := n.SendNotices(ctx, sender, no)
		if nr != nil {
			rep.NoticeReport = *nr
		}
		if err != nil {
			return rep, err
		}
	}
	// What no email carries, this run or before: to post.
	number := map[int64]string{}
	for _, r := range rs {
		number[r.ID] = r.Number
	}
	if err := n.bun.NewSelect().Table("newsletter_notices").Column("id", "receipt_id", "status", "error").
		Where("receipt_id IN (?)", bun.List(ids)).Where("status IN (?, ?)", noticeSkipped, noticeFailed).
		Order("receipt_id").Scan(ctx, &notices); err != nil {
		return rep, fmt.Errorf("receipts: %w", err)
	}
	for _, nt := range notices {
		rep.NotSent = append(rep.NotSent, number[nt.ReceiptID]+" ("+nt.Error+")")
	}
	return rep, nil
}

// renderReceiptNotice makes the email carrying a receipt, with its PDF.
// A cancelled receipt, an erased donor or an address that cannot be
// mailed returns the reason to skip it.
func (n *Newsletter) renderReceiptNotice(ctx context.Context, r *noticeRow, st *crm.Settings, opts NoticeOptions) (*Message, string, error) {
	rs, err := n.db.ListReceipts(ctx, crm.ReceiptFilter{ID: r.ReceiptID})
	if err != nil {
		return nil, "", err
	}
	if len(rs) == 0 {
		return nil, "the receipt no longer exists", nil
	}
	rc := rs[0]
	if rc.Status != crm.ReceiptIssued {
		return nil, "the receipt was cancelled", nil
	}
	s, err := n.db.GetSupporter(ctx, r.SupporterID)
	if errors.Is(err, crm.ErrNotFound) {
		return nil, "the supporter no longer exists", nil
	} else if err != nil {
		return nil, "", err
	}
	if !s.ErasedAt.IsZero() {
		return nil, "the supporter was erased", nil
	}
	if s.EmailStatus != crm.EmailOK {
		return nil, "the address " + string(s.EmailStatus) + ": post the receipt", nil
	}
	pdf, err := receipt.PDF(rc, receipt.Options{Location: st.Location()})
	if err != nil {
		return nil, "", err
	}
	lang := pageLanguage(s.Language, "")
	subject, paras := receiptEmail(lang, rc, s)
	var text, body strings.Builder
	for _, p := range paras {
		text.WriteString(p + "\n\n")
		body.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>") + "</p>\n")
	}
	return &Message{From: opts.From, ReplyTo: opts.ReplyTo, To: s.Email, Subject: subject,
		Text:        strings.TrimSpace(text.String()) + "\n",
		HTML:        "<!doctype html>\n<html><body>\n" + body.String() + "</body></html>\n",
		Tags:        map[string]string{"receipt": rc.Number},
		Attachments: []Attachment{{Filename: receipt.FileName(rc), ContentType: "application/pdf", Content: pdf}}}, "", nil
}

// receiptEmail is the subject and paragraphs of a receipt's email in
// the donor's language.
func receiptEmail(lang string, rc *crm.Receipt, s *crm.Supporter) (string, []string) {
	is := rc.Issuer
	amount := receipt.FrenchAmount(rc.Amount) + " €"
	signed := is.Signer + ", " + is.SignerRole + "\n" + is.LegalName
	first := s.FirstName
	if lang == "en" {
		what := "tax receipt"
		if rc.Country == crm.ReceiptBE {
			what = "tax certificate (281.71)"
		}
		hello := "Hello,"
		if first != "" {
			hello = "Hello " + first + ","
		}
		paras := []string{hello,
			fmt.Sprintf("Thank you for your support in %d. Attached is your %s no. %s for %s, which entitles you to a tax reduction: keep it with your tax papers.",
				rc.Year, what, rc.Number, amount)}
		if len(rc.Replaces) > 0 {
			paras = append(paras, fmt.Sprintf("It cancels and replaces %s no. %s: only this one is valid.",
				what, strings.Join(rc.Replaces, ", ")))
		}
		return fmt.Sprintf("Your %s no. %s — %s", what, rc.Number, is.LegalName), append(paras, signed)
	}
	what, keep := "reçu fiscal", "conservez-le"
	if rc.Country == crm.ReceiptBE {
		what, keep = "attestation fiscale (281.71)", "conservez-la"
	}
	hello := "Bonjour,"
	if first != "" {
		hello = "Bonjour " + first + ","
	}
	subject := fmt.Sprintf("Votre %s n° %s — %s", what, rc.Number, is.LegalName)
	paras := []string{hello,
		fmt.Sprintf("Merci pour votre soutien en %d. Vous trouverez ci-joint votre %s n° %s, de %s, qui ouvre droit à une réduction d'impôt : %s avec vos papiers fiscaux.",
			rc.Year, what, rc.Number, amount, keep)}
	if sentence := receipt.ReplacesSentence(rc); sentence != "" {
		only := "seul celui-ci est valable"
		if rc.Country == crm.ReceiptBE {
			only = "seule celle-ci est valable"
		}
		paras = append(paras, sentence+" ; "+only+".")
	}
	return subject, append(paras, signed)
}
