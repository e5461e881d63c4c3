package newsletter_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// receiptEnv is an env with receipt settings, three donors who gave in
// 2026 (Amina in French, Jo in English, Zoé whose address bounced) and
// their receipts issued.
func receiptEnv(t *testing.T) (*env, *newsletter.Newsletter) {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	for _, kv := range [][2]string{{"from", from}, {"receipt-legal-name", "Association Solidarité Calais"},
		{"receipt-address", "5 rue Royale, 62100 Calais"}, {"receipt-object", "aide aux personnes exilées"},
		{"receipt-rna", "W621001234"}, {"receipt-country", "FR"}, {"receipt-article", "200"}, {"receipt-rate", "66"},
		{"receipt-signer", "Marie Dupont"}, {"receipt-signer-role", "présidente"}} {
		if err := e.db.SetSetting(ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range []*crm.Supporter{
		{Email: "amina@example.org", FirstName: "Amina", LastName: "Kaci", Language: "fr"},
		{Email: "jo@example.org", FirstName: "Jo", LastName: "Peeters", Language: "en"},
		{Email: "zoe@example.org", FirstName: "Zoé", LastName: "Maes", Language: "fr", EmailStatus: crm.EmailBounced},
	} {
		s.Address, s.Postcode, s.City = "5 rue Royale", "62100", "Calais"
		if err := e.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := e.db.AddDonation(ctx, &crm.Donation{SupporterID: s.ID, Amount: int64(5000 + i*1000), Currency: "EUR",
			ReceivedAt: time.Date(2026, 1, 10+i, 10, 0, 0, 0, time.UTC), Method: crm.MethodTransfer}); err != nil {
			t.Fatal(err)
		}
	}
	if run, err := e.db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026}); err != nil || len(run.Issued) != 3 {
		t.Fatalf("issue: %+v %v", run, err)
	}
	return e, e.newsletter(t)
}

func TestSendReceipts(t *testing.T) {
	ctx := context.Background()
	e, n := receiptEnv(t)
	rep, err := n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Queued != 3 || rep.Sent != 2 || rep.Skipped != 1 || len(rep.NotSent) != 1 || !strings.HasPrefix(rep.NotSent[0], "2026-0003") {
		t.Fatalf("report: %+v", rep)
	}
	emails := e.srv.Emails()
	if len(emails) != 2 {
		t.Fatalf("%d emails, want 2", len(emails))
	}
	keys := map[string]bool{}
	for i, want := range []struct{ to, number, subject, hello string }{
		{"amina@example.org", "2026-0001", "Votre reçu fiscal n° 2026-0001 — Association Solidarité Calais", "Bonjour Amina"},
		{"jo@example.org", "2026-0002", "Your tax receipt no. 2026-0002 — Association Solidarité Calais", "Hello Jo"},
	} {
		m := emails[i]
		if m.To[0] != want.to || m.Subject != want.subject || !strings.Contains(m.Text, want.hello) || m.Batch ||
			m.IdempotencyKey == "" || keys[m.IdempotencyKey] {
			t.Errorf("email %d: to %v, subject %q, batch %v, key %q, text %q", i, m.To, m.Subject, m.Batch, m.IdempotencyKey, m.Text)
		}
		keys[m.IdempotencyKey] = true
		if len(m.Attachments) != 1 {
			t.Fatalf("email %d: %d attachments", i, len(m.Attachments))
		}
		a := m.Attachments[0]
		if a.Filename != want.number+".pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Content, []byte("%PDF-")) ||
			!bytes.Contains(a.Content, []byte("%%EOF")) {
			t.Errorf("email %d: attachment %q %q, %d bytes starting %q", i, a.Filename, a.ContentType, len(a.Content), a.Content[:min(8, len(a.Content))])
		}
	}

	// Again: nothing goes twice; a new receipt goes alone.
	rep, err = n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil || rep.Queued != 0 || rep.Sent != 0 || rep.Before != 2 || len(e.srv.Emails()) != 2 {
		t.Fatalf("second run: %+v %v, %d emails", rep, err, len(e.srv.Emails()))
	}
	// A cancelled receipt is not sent; its replacement is.
	if _, err := e.db.CancelReceipt(ctx, "2026-0001", "wrong amount"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.IssueReceipts(ctx, crm.ReceiptRequest{Year: 2026}); err != nil {
		t.Fatal(err)
	}
	rep, err = n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil || rep.Queued != 1 || rep.Sent != 1 || len(e.srv.Emails()) != 3 || e.srv.Emails()[2].Attachments[0].Filename != "2026-0004.pdf" {
		t.Fatalf("after cancel and reissue: %+v %v", rep, err)
	}
	// Its email says which receipt it replaces.
	if text := e.srv.Emails()[2].Text; !strings.Contains(text, "Ce reçu annule et remplace le reçu n° 2026-0001 ; seul celui-ci est valable.") {
		t.Errorf("the replacement's email: %q", text)
	}
	// The batch-only sender cannot carry a receipt.
	if _, err := n.SendReceipts(ctx, batchOnly{}, newsletter.ReceiptSendOptions{Year: 2026}); err == nil {
		t.Error("a sender without single-email mode was accepted")
	}
}

type batchOnly struct{}

func (batchOnly) SendBatch(context.Context, string, []newsletter.Message) ([]newsletter.Result, error) {
	return nil, nil
}

// The provider sends a receipt and its answer is lost (500), then every
// retry of the run fails: the next run sends the same bytes under the
// same key, and the provider answers without sending it again.
func TestSendReceiptsLostAnswer(t *testing.T) {
	ctx := context.Background()
	e, n := receiptEnv(t)
	e.srv.InjectFaults(resendtest.FaultLostAnswer, resendtest.FaultServerError, resendtest.FaultServerError,
		resendtest.FaultServerError, resendtest.FaultServerError)
	rep, err := n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Waiting != 1 || rep.Sent != 1 || len(e.srv.Emails()) != 2 {
		t.Fatalf("first run: %+v, %d emails", rep, len(e.srv.Emails()))
	}
	// A fresh process resumes.
	rep, err = e.newsletter(t).SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil || rep.Sent != 1 || rep.Before != 1 {
		t.Fatalf("second run: %+v %v", rep, err)
	}
	emails := e.srv.Emails()
	if len(emails) != 2 || emails[0].To[0] != "amina@example.org" || emails[1].To[0] != "jo@example.org" {
		var to []string
		for _, m := range emails {
			to = append(to, m.To[0])
		}
		t.Fatalf("emails %v: the receipt whose answer was lost went twice", to)
	}
	if got := noticeStatuses(t, e.db); strings.Join(got, ",") != "sent,sent,skipped" {
		t.Errorf("notices: %v", got)
	}
}

// With --outbox, the .eml carries the PDF as an attachment of a
// multipart/mixed message.
func TestSendReceiptsOutbox(t *testing.T) {
	ctx := context.Background()
	_, n := receiptEnv(t)
	dir := t.TempDir()
	rep, err := n.SendReceipts(ctx, &newsletter.Outbox{Dir: dir}, newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil || rep.Sent != 2 {
		t.Fatalf("outbox: %+v %v", rep, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	var names []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		name, pdf, text := emlAttachment(t, b)
		names = append(names, name)
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !strings.Contains(text, "2026-000") {
			t.Errorf("%s: attachment %q of %d bytes, text %q", f, name, len(pdf), text)
		}
	}
	if strings.Join(names, ",") != "2026-0001.pdf,2026-0002.pdf" && strings.Join(names, ",") != "2026-0002.pdf,2026-0001.pdf" {
		t.Errorf("attachments: %v", names)
	}
}

// A preview writes the emails and records nothing: the send afterwards
// sends every receipt, once.
func TestPreviewReceipts(t *testing.T) {
	ctx := context.Background()
	e, n := receiptEnv(t)
	var numbers, skipped []string
	for p, err := range n.PreviewReceipts(ctx, newsletter.ReceiptSendOptions{Year: 2026}) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Skip != "" {
			skipped = append(skipped, p.Number+": "+p.Skip)
			continue
		}
		numbers = append(numbers, p.Number)
		if len(p.Message.Attachments) != 1 || p.Message.Attachments[0].Filename != p.Number+".pdf" ||
			newsletter.ReceiptFileName(*p.Message) != p.Number+".eml" {
			t.Errorf("%s: %+v", p.Number, p.Message.Attachments)
		}
	}
	if strings.Join(numbers, ",") != "2026-0001,2026-0002" || len(skipped) != 1 || !strings.HasPrefix(skipped[0], "2026-0003: ") {
		t.Fatalf("preview: %v, skipped %v", numbers, skipped)
	}
	if got := noticeStatuses(t, e.db); len(got) != 0 {
		t.Fatalf("a preview queued %v", got)
	}
	rep, err := n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026})
	if err != nil || rep.Sent != 2 || len(e.srv.Emails()) != 2 {
		t.Fatalf("send after the preview: %+v %v", rep, err)
	}
	// What was sent (or skipped) is previewed no more.
	for p, err := range n.PreviewReceipts(ctx, newsletter.ReceiptSendOptions{Year: 2026}) {
		t.Errorf("after the send, the preview yields %+v %v", p, err)
	}
}

// No sender address: nothing is queued, and the error says so.
func TestSendReceiptsNoFrom(t *testing.T) {
	ctx := context.Background()
	e, n := receiptEnv(t)
	if err := e.db.SetSetting(ctx, "from", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026}); !errors.Is(err, newsletter.ErrNoFrom) {
		t.Errorf("send without from: %v", err)
	}
	for _, err := range n.PreviewReceipts(ctx, newsletter.ReceiptSendOptions{Year: 2026}) {
		if !errors.Is(err, newsletter.ErrNoFrom) {
			t.Errorf("preview without from: %v", err)
		}
	}
	if got := noticeStatuses(t, e.db); len(got) != 0 || len(e.srv.Emails()) != 0 {
		t.Errorf("without from: notices %v, %d emails", got, len(e.srv.Emails()))
	}
	rep, err := n.SendReceipts(ctx, e.sender(t), newsletter.ReceiptSendOptions{Year: 2026, Notice: newsletter.NoticeOptions{From: from}})
	if err != nil || rep.Sent != 2 {
		t.Errorf("with From in the options: %+v %v", rep, err)
	}
}

// emlAttachment reads a multipart/mixed email: its attachment's file
// name and bytes, and its text part.
func emlAttachment(t *testing.T, b []byte) (name string, content []byte, text string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch {
		case pt == "multipart/alternative":
			ar := multipart.NewReader(p, pp["boundary"])
			first, err := ar.NextPart() // text/plain, quoted-printable: multipart decodes it
			if err != nil {
				t.Fatal(err)
			}
			tb, _ := io.ReadAll(first)
			text = string(tb)
		case p.FileName() != "":
			name = p.FileName()
			raw, _ := io.ReadAll(p)
			if content, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", "")); err != nil {
				t.Fatal(err)
			}
		}
	}
}
