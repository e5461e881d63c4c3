package resendtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/resend/resend-go/v2"

	"github.com/assocrm/assocrm/newsletter/resendtest"
)

func msg(to string) *resend.SendEmailRequest {
	return &resend.SendEmailRequest{From: "Asso <news@asso.example.org>", To: []string{to}, Subject: "Bonjour", Html: "<p>Hi</p>", Text: "Hi"}
}

func TestBatchAndIdempotency(t *testing.T) {
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()
	batch := []*resend.SendEmailRequest{msg("a@example.org"), msg("b@example.org")}
	opts := &resend.BatchSendEmailOptions{IdempotencyKey: "campaign-1-batch-0"}
	if k, last := srv.Accepted(); k != 0 || !last.IsZero() {
		t.Errorf("accepted before any send: %d at %v", k, last)
	}
	first, err := c.Batch.SendWithOptions(ctx, batch, opts)
	if err != nil || len(first.Data) != 2 {
		t.Fatalf("first send: %+v, %v", first, err)
	}
	k, last := srv.Accepted()
	if k != 2 || last.IsZero() {
		t.Errorf("accepted after the first send: %d at %v", k, last)
	}
	// The same key and payload replays the first answer and sends nothing.
	again, err := c.Batch.SendWithOptions(ctx, batch, opts)
	if err != nil || again.Data[0].Id != first.Data[0].Id || len(srv.Emails()) != 2 {
		t.Fatalf("replay: %+v, %v, %d emails", again, err, len(srv.Emails()))
	}
	if k2, last2 := srv.Accepted(); k2 != 2 || !last2.Equal(last) {
		t.Errorf("accepted after a replay: %d at %v, want 2 at %v", k2, last2, last)
	}
	// The same key with another payload is refused with 409.
	_, err = c.Batch.SendWithOptions(ctx, batch[:1], opts)
	if err == nil || !strings.Contains(err.Error(), "idempotency key") {
		t.Fatalf("changed payload: %v", err)
	}
	if got := srv.Emails()[1]; got.To[0] != "b@example.org" || got.IdempotencyKey != opts.IdempotencyKey || !got.Batch {
		t.Errorf("email = %+v", got)
	}
}

func TestValidationModes(t *testing.T) {
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()
	batch := []*resend.SendEmailRequest{msg("a@example.org"), msg("not an address"), msg("c@example.org")}
	if _, err := c.Batch.SendWithContext(ctx, batch); err == nil || !strings.Contains(err.Error(), "emails[1]") {
		t.Errorf("strict batch with a bad address: %v", err)
	}
	if n := len(srv.Emails()); n != 0 {
		t.Fatalf("strict mode sent %d", n)
	}
	resp, err := c.Batch.SendWithOptions(ctx, batch, &resend.BatchSendEmailOptions{BatchValidation: resend.BatchValidationPermissive})
	if err != nil || len(resp.Data) != 2 || len(resp.Errors) != 1 || resp.Errors[0].Index != 1 {
		t.Fatalf("permissive: %+v, %v", resp, err)
	}
	big := make([]*resend.SendEmailRequest, 101)
	for i := range big {
		big[i] = msg("a@example.org")
	}
	if _, err := c.Batch.SendWithContext(ctx, big); err == nil || !strings.Contains(err.Error(), "maximum is 100") {
		t.Errorf("101 emails: %v", err)
	}
	bad := resend.NewClient("wrong")
	bad.BaseURL = c.BaseURL
	if _, err := bad.Emails.SendWithContext(ctx, msg("a@example.org")); err == nil {
		t.Error("wrong API key accepted")
	}
}

func TestFaults(t *testing.T) {
	srv := resendtest.NewServer(resendtest.Options{RateLimit: 2})
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()
	var rle *resend.RateLimitError
	sent := 0
	for i := 0; i < 3; i++ {
		_, err := c.Emails.SendWithContext(ctx, msg("a@example.org"))
		if err == nil {
			sent++
		} else if !errors.As(err, &rle) {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if sent != 2 || rle == nil || rle.Limit != "2" || rle.Remaining != "0" || rle.RetryAfter == "" {
		t.Fatalf("rate limit: sent %d, error %+v", sent, rle)
	}
	srv.SetRateLimit(0)

	srv.InjectFaults(resendtest.FaultLostAnswer)
	opts := &resend.BatchSendEmailOptions{IdempotencyKey: "k"}
	batch := []*resend.SendEmailRequest{msg("lost@example.org")}
	if _, err := c.Batch.SendWithOptions(ctx, batch, opts); err == nil {
		t.Fatal("lost answer: no error")
	}
	before := len(srv.Emails())
	resp, err := c.Batch.SendWithOptions(ctx, batch, opts)
	if err != nil || len(resp.Data) != 1 || len(srv.Emails()) != before {
		t.Fatalf("retry after a lost answer: %+v, %v; emails %d -> %d", resp, err, before, len(srv.Emails()))
	}
	srv.InjectFaults(resendtest.FaultServerError, resendtest.FaultDailyQuota)
	if _, err := c.Emails.SendWithContext(ctx, msg("a@example.org")); err == nil {
		t.Error("500: no error")
	}
	if _, err := c.Emails.SendWithContext(ctx, msg("a@example.org")); !errors.As(err, &rle) || !strings.Contains(rle.Message, "daily") {
		t.Errorf("quota: %v", err)
	}
}

// A request under a key still being processed is refused with 409
// concurrent_idempotent_requests; once it is answered, the same request
// is answered as it was.
func TestConcurrentIdempotentRequest(t *testing.T) {
	// The first request stops inside its processing (in Reject) until
	// told to go on.
	entered, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := resendtest.NewServer(resendtest.Options{Reject: func(string) string {
		once.Do(func() {
			close(entered)
			<-proceed
		})
		return ""
	}})
	defer srv.Close()
	body := `[{"from":"a@example.org","to":["b@example.org"],"subject":"s","text":"t"}]`
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/emails/batch", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+resendtest.APIKey)
		req.Header.Set("Idempotency-Key", "k1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first := make(chan string)
	go func() {
		code, b := post()
		if code != 200 {
			t.Errorf("first: %d %s", code, b)
		}
		first <- b
	}()
	<-entered
	if code, b := post(); code != http.StatusConflict || !strings.Contains(b, "concurrent_idempotent_requests") {
		t.Errorf("concurrent: %d %s", code, b)
	}
	close(proceed)
	want := <-first
	if code, b := post(); code != 200 || b != want {
		t.Errorf("after: %d %s, want %s", code, b, want)
	}
	if n := len(srv.Emails()); n != 1 {
		t.Errorf("%d emails sent", n)
	}
}

// Attachments on the single-email endpoint are recorded, whether their
// content is base64 (as the API documents) or an array of byte values
// (as resend-go writes it); the batch endpoint refuses them.
func TestAttachments(t *testing.T) {
	srv := resendtest.NewServer(resendtest.Options{})
	defer srv.Close()
	ctx := context.Background()
	m := msg("a@example.org")
	m.Attachments = []*resend.Attachment{{Filename: "2026-0001.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.3 x")}}
	if _, err := srv.Client().Emails.SendWithOptions(ctx, m, &resend.SendEmailOptions{IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	body := `{"from":"Asso <news@asso.example.org>","to":["b@example.org"],"subject":"Reçu","text":"Hi",` +
		`"attachments":[{"filename":"2026-0002.pdf","content":"JVBERi0xLjM="}]}`
	req, _ := http.NewRequest("POST", srv.URL+"/emails", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+resendtest.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("base64 attachment: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	got := srv.Emails()
	if len(got) != 2 || len(got[0].Attachments) != 1 || string(got[0].Attachments[0].Content) != "%PDF-1.3 x" ||
		got[0].Attachments[0].Filename != "2026-0001.pdf" || got[0].Attachments[0].ContentType != "application/pdf" ||
		string(got[1].Attachments[0].Content) != "%PDF-1.3" || got[1].Attachments[0].Filename != "2026-0002.pdf" {
		t.Fatalf("recorded: %+v", got)
	}
	bad := strings.Replace(body, "JVBERi0xLjM=", "not base64!", 1)
	req, _ = http.NewRequest("POST", srv.URL+"/emails", strings.NewReader(bad))
	req.Header.Set("Authorization", "Bearer "+resendtest.APIKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 422 {
		t.Errorf("content not base64: %v %v", resp.Status, err)
	}
	res, err := srv.Client().Batch.SendWithOptions(ctx, []*resend.SendEmailRequest{m},
		&resend.BatchSendEmailOptions{BatchValidation: resend.BatchValidationPermissive})
	if err != nil || len(res.Errors) != 1 || len(srv.Emails()) != 2 {
		t.Errorf("batch with an attachment: %+v %v", res, err)
	}
}
