package newsletter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/resend/resend-go/v2"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/time/rate"
)

// Message is one rendered email, ready for a Sender.
type Message struct {
	DeliveryID int64  `json:"delivery_id"`
	From       string `json:"from"`
	To         string `json:"to"`
	ReplyTo    string `json:"reply_to,omitempty"`
	Subject    string `json:"subject"`
	HTML       string `json:"html"`
	Text       string `json:"text"`
	// Headers are extra header fields, such as List-Unsubscribe. EML
	// writes them as structured fields: printable ASCII, never encoded.
	Headers map[string]string `json:"headers,omitempty"`
	// Tags are handed to the provider, which sends them back with its
	// webhook events: a campaign's messages carry "campaign" (its name)
	// and "delivery" (the delivery's id), so that events map back to the
	// campaign even for an address that changed since.
	Tags map[string]string `json:"tags,omitempty"`
	// Attachments are files sent with the message (a tax receipt's
	// PDF). Only the single-email endpoint takes them: a message with
	// attachments goes alone through a SingleSender.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"` // from the file name's extension when empty
	Content     []byte `json:"content"`                // base64 in JSON
}

// Result is what became of one message of a batch: sent with the
// provider's id, or refused with a reason.
type Result struct {
	ID    string
	Error string
}

// Sender sends batches of at most 100 messages. It must treat key as an
// idempotency key: sending the same key with the same messages again,
// within 24 hours, must not send them twice.
type Sender interface {
	SendBatch(ctx context.Context, key string, msgs []Message) ([]Result, error)
}

// SingleSender is a Sender that can also send one message through the
// provider's single-email endpoint, which, unlike the batch one, takes
// attachments (Resend's POST /emails). key is the message's idempotency
// key, with the same promise as SendBatch's. The delivery engine sends a
// message with attachments this way, alone; a Sender without Send cannot
// send such a message, and the engine reports it as refused for good.
type SingleSender interface {
	Sender
	Send(ctx context.Context, key string, m Message) (Result, error)
}

// SendErrorKind classifies a failed batch.
type SendErrorKind int

// Kinds of send failure.
const (
	// KindTransient failures (5xx, network) are retried with backoff.
	KindTransient SendErrorKind = iota + 1
	// KindRateLimited failures are retried after RetryAfter.
	KindRateLimited
	// KindQuota failures stop the send with ErrQuota; it can be resumed
	// later.
	KindQuota
	// KindPermanent failures (bad key, refused request) stop the send.
	KindPermanent
)

// SendError is a batch the Sender could not hand over.
type SendError struct {
	Kind       SendErrorKind
	RetryAfter time.Duration // for KindRateLimited
	Status     int           // HTTP status, if there was one
	Err        error
}

// Error says what kind of failure it was and why.
func (e *SendError) Error() string {
	kind := map[SendErrorKind]string{KindTransient: "temporary failure", KindRateLimited: "rate limited",
		KindQuota: "quota exceeded", KindPermanent: "refused"}[e.Kind]
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %v", kind, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %v", kind, e.Err)
}

// Unwrap returns the failure's cause.
func (e *SendError) Unwrap() error { return e.Err }

// ResendSender sends through Resend's batch API with the resend-go client,
// in permissive validation mode so one bad address does not hold back the
// rest. It throttles itself to the ratelimit-limit the API announces.
type ResendSender struct {
	client  *resend.Client
	limiter *rate.Limiter
}

var _ SingleSender = (*ResendSender)(nil)

// DefaultRateLimit is the requests per second Resend allows by default;
// the sender adapts to the ratelimit-limit header of every answer.
const DefaultRateLimit = 2

// ResendOption configures a ResendSender.
type ResendOption func(*resendConfig) error

type resendConfig struct {
	baseURL string
	http    *http.Client
	rate    rate.Limit
}

// WithBaseURL sends to another address than Resend's, such as a
// resendtest server. The default is RESEND_BASE_URL if set (as resend-go
// reads it), else Resend's API.
func WithBaseURL(u string) ResendOption {
	return func(c *resendConfig) error {
		if _, err := url.Parse(u); err != nil || u == "" {
			return fmt.Errorf("base URL %q: not a URL", u)
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client (timeouts, proxies). Its transport
// is wrapped to read status codes and rate-limit headers.
func WithHTTPClient(h *http.Client) ResendOption {
	return func(c *resendConfig) error {
		if h == nil {
			return errors.New("nil HTTP client")
		}
		c.http = h
		return nil
	}
}

// WithRateLimit sets the requests per second to start with (default
// DefaultRateLimit); 0 means no limit until the API announces one.
func WithRateLimit(perSecond float64) ResendOption {
	return func(c *resendConfig) error {
		if perSecond < 0 {
			return fmt.Errorf("rate limit %v: negative", perSecond)
		}
		c.rate = rate.Limit(perSecond)
		if perSecond == 0 {
			c.rate = rate.Inf
		}
		return nil
	}
}

// ErrNoAPIKey is returned by NewResendSender for an empty API key.
var ErrNoAPIKey = errors.New("no Resend API key")

// NewResendSender returns a sender using apiKey, or ErrNoAPIKey if it is
// empty.
func NewResendSender(apiKey string, opts ...ResendOption) (*ResendSender, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, ErrNoAPIKey
	}
	cfg := resendConfig{baseURL: os.Getenv("RESEND_BASE_URL"), http: &http.Client{Timeout: time.Minute}, rate: DefaultRateLimit}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	hc := *cfg.http
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &observer{next: next}
	client := resend.NewCustomClient(&hc, apiKey)
	if cfg.baseURL != "" {
		base := cfg.baseURL
		if !strings.HasSuffix(base, "/") {
			base += "/" // resend-go resolves paths against it
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("RESEND_BASE_URL %q: %w", base, err)
		}
		client.BaseURL = u
	}
	return &ResendSender{client: client, limiter: rate.NewLimiter(cfg.rate, 1)}, nil
}

// observation is what the transport saw of one call.
type observation struct {
	status    int
	errorName string
	limit     int
}

type obsKey struct{}

// observer is an http.RoundTripper that records the status, the error
// name of the body and the rate limit of a response, for the call whose
// context carries an *observation. resend-go keeps only the message of
// an error, which is not enough to tell a quota from a rate limit.
type observer struct{ next http.RoundTripper }

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if ob, ok := r.Context().Value(obsKey{}).(*observation); ok {
		ob.status = resp.StatusCode
		ob.limit, _ = strconv.Atoi(resp.Header.Get("ratelimit-limit"))
		if resp.StatusCode >= 400 && resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			var e struct {
				Name string `json:"name"`
			}
			json.Unmarshal(body, &e)
			ob.errorName = e.Name
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	return resp, nil
}

// SendBatch sends msgs with the idempotency key.
func (s *ResendSender) SendBatch(ctx context.Context, key string, msgs []Message) ([]Result, error) {
	if err := s.limiter.Wait(ctx); err != nil {
		return nil, &SendError{Kind: KindTransient, Err: err}
	}
	reqs := make([]*resend.SendEmailRequest, len(msgs))
	for i, m := range msgs {
		reqs[i] = &resend.SendEmailRequest{From: m.From, To: []string{m.To}, ReplyTo: m.ReplyTo, Subject: m.Subject,
			Html: m.HTML, Text: m.Text, Headers: m.Headers}
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) { // in one order: a retry sends the same bytes
			reqs[i].Tags = append(reqs[i].Tags, resend.Tag{Name: k, Value: m.Tags[k]})
		}
	}
	ob := &observation{}
	resp, err := s.client.Batch.SendWithOptions(context.WithValue(ctx, obsKey{}, ob), reqs,
		&resend.BatchSendEmailOptions{IdempotencyKey: key, BatchValidation: resend.BatchValidationPermissive})
	if ob.limit > 0 && rate.Limit(ob.limit) != s.limiter.Limit() {
		s.limiter.SetLimit(rate.Limit(ob.limit))
	}
	if err != nil {
		return nil, classify(err, ob)
	}
	results := make([]Result, len(msgs))
	failed := map[int]string{}
	for _, e := range resp.Errors {
		failed[e.Index] = e.Message
	}
	next := 0
	for i := range msgs {
		if reason, ok := failed[i]; ok {
			results[i].Error = reason
			continue
		}
		if next >= len(resp.Data) {
			return nil, &SendError{Kind: KindPermanent, Err: fmt.Errorf("answer has %d ids for %d messages", len(resp.Data), len(msgs)-len(failed))}
		}
		results[i].ID = resp.Data[next].Id
		next++
	}
	return results, nil
}

// singleEmail is the body of Resend's POST /emails: resend-go's
// SendEmailRequest, but with attachments in base64, as the API
// documents them (resend-go writes an array of numbers, some four times
// the size).
type singleEmail struct {
	From        string             `json:"from"`
	To          []string           `json:"to"`
	Subject     string             `json:"subject"`
	ReplyTo     string             `json:"reply_to,omitempty"`
	HTML        string             `json:"html,omitempty"`
	Text        string             `json:"text,omitempty"`
	Headers     map[string]string  `json:"headers,omitempty"`
	Tags        []resend.Tag       `json:"tags,omitempty"`
	Attachments []base64Attachment `json:"attachments,omitempty"`
}

type base64Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Content     string `json:"content"`
}

// Send sends one message, attachments included, through Resend's
// single-email endpoint with the idempotency key. A message the API
// refuses (422) is a SendError of KindPermanent.
func (s *ResendSender) Send(ctx context.Context, key string, m Message) (Result, error) {
	if err := s.limiter.Wait(ctx); err != nil {
		return Result{}, &SendError{Kind: KindTransient, Err: err}
	}
	body := &singleEmail{From: m.From, To: []string{m.To}, ReplyTo: m.ReplyTo, Subject: m.Subject, HTML: m.HTML, Text: m.Text,
		Headers: m.Headers}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		body.Tags = append(body.Tags, resend.Tag{Name: k, Value: m.Tags[k]})
	}
	for _, a := range m.Attachments {
		body.Attachments = append(body.Attachments, base64Attachment{Filename: a.Filename, ContentType: a.ContentType,
			Content: base64.StdEncoding.EncodeToString(a.Content)})
	}
	ob := &observation{}
	req, err := s.client.NewRequestWithOptions(context.WithValue(ctx, obsKey{}, ob), http.MethodPost, "emails", body,
		&resend.SendEmailOptions{IdempotencyKey: key})
	if err != nil {
		return Result{}, &SendError{Kind: KindPermanent, Err: err}
	}
	var resp resend.SendEmailResponse
	_, err = s.client.Perform(req, &resp)
	if ob.limit > 0 && rate.Limit(ob.limit) != s.limiter.Limit() {
		s.limiter.SetLimit(rate.Limit(ob.limit))
	}
	if err != nil {
		return Result{}, classify(err, ob)
	}
	return Result{ID: resp.Id}, nil
}

func classify(err error, ob *observation) error {
	var rle *resend.RateLimitError
	switch {
	case ob.errorName == "daily_quota_exceeded" || ob.errorName == "monthly_quota_exceeded":
		return &SendError{Kind: KindQuota, Status: ob.status, Err: err}
	case errors.As(err, &rle) || ob.status == http.StatusTooManyRequests:
		wait := time.Second
		if rle != nil {
			for _, h := range []string{rle.RetryAfter, rle.Reset} {
				if secs, perr := strconv.ParseFloat(h, 64); perr == nil && secs > 0 {
					wait = time.Duration(secs * float64(time.Second))
					break
				}
			}
		}
		return &SendError{Kind: KindRateLimited, RetryAfter: wait, Status: ob.status, Err: err}
	case ob.status == 0 || ob.status >= 500:
		return &SendError{Kind: KindTransient, Status: ob.status, Err: err}
	case ob.status == http.StatusConflict && ob.errorName == "concurrent_idempotent_requests":
		// The same batch is still being processed under its key: a sender
		// resumed at once after a crash meets its predecessor's request.
		// Retried, it gets that request's answer.
		return &SendError{Kind: KindTransient, Status: ob.status, Err: err}
	case ob.status == http.StatusConflict && ob.errorName == "invalid_idempotent_request":
		// The provider already has a request under this key, with other
		// bytes: an earlier try of this batch reached it, and the
		// program or its settings changed before this one.
		return &SendError{Kind: KindPermanent, Status: ob.status, Err: fmt.Errorf("%w: %w", ErrKeyReused, err)}
	}
	return &SendError{Kind: KindPermanent, Status: ob.status, Err: err}
}

// ErrKeyReused is wrapped by the SendError of a batch the provider already
// had under its idempotency key with other bytes: an earlier try reached
// it (the batch most likely went out), and something changed the bytes
// since (an upgrade of the program between two tries). The send marks
// the batch's recipients failed as uncertain, never sends it again, and
// goes on.
var ErrKeyReused = errors.New("the provider already had this batch under its idempotency key, with other bytes")

// Outbox is a Sender that writes each message as an .eml file in a
// folder instead of sending it: for previews, tests and trying the tool
// without an account. Writing the same batch again rewrites the same
// files, so it is idempotent too.
type Outbox struct {
	Dir string
	// FileName, when set, names each message's file in Dir (a receipt's
	// "2026-0001.eml"); it must give each message its own plain name.
	// By default a message of a campaign is delivery-ID.eml.
	FileName func(Message) string

	mu    sync.Mutex
	count int
}

var _ SingleSender = (*Outbox)(nil)

// Written returns how many files the outbox has written.
func (o *Outbox) Written() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count
}

// SendBatch writes msgs to Dir as delivery-<id>.eml.
func (o *Outbox) SendBatch(ctx context.Context, key string, msgs []Message) ([]Result, error) {
	// The files hold addresses and names, as the database does, which is
	// created readable by its owner only: so are they (and the folder,
	// when the outbox creates it).
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, &SendError{Kind: KindPermanent, Err: err}
	}
	results := make([]Result, len(msgs))
	for i, m := range msgs {
		name := fmt.Sprintf("delivery-%06d.eml", m.DeliveryID)
		if m.DeliveryID == 0 {
			sum := sha256.Sum256([]byte(key + m.To))
			name = "message-" + hex.EncodeToString(sum[:6]) + ".eml"
		}
		if o.FileName != nil {
			if name = o.FileName(m); name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
				return nil, &SendError{Kind: KindPermanent, Err: fmt.Errorf("outbox: %q is no file name", name)}
			}
		}
		b, err := EML(m, key)
		if err != nil {
			results[i].Error = err.Error()
			continue
		}
		tmp := filepath.Join(o.Dir, "."+name+".tmp")
		os.Remove(tmp) // left by a crash, perhaps with a wider mode
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return nil, &SendError{Kind: KindPermanent, Err: err}
		}
		if err := os.Rename(tmp, filepath.Join(o.Dir, name)); err != nil {
			return nil, &SendError{Kind: KindPermanent, Err: err}
		}
		results[i].ID = "outbox:" + name
	}
	o.mu.Lock()
	o.count += len(msgs)
	o.mu.Unlock()
	return results, nil
}

// Send writes one message to Dir, as SendBatch does.
func (o *Outbox) Send(ctx context.Context, key string, m Message) (Result, error) {
	rs, err := o.SendBatch(ctx, key, []Message{m})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// EML formats a message as an RFC 5322 email with text and HTML
// alternatives, and its attachments (multipart/mixed) when it has some. key makes the Message-ID stable across retries. Header
// lines are folded at 78 characters (never past RFC 5322's 998), and
// non-ASCII text is written as RFC 2047 encoded words: the subject and
// the display names in From, To and Reply-To, and any header value with
// a word too long to fold. Non-ASCII domains are written in their IDNA
// (punycode) form; a non-ASCII local part has no ASCII form and stays
// UTF-8 (RFC 6532). It fails on a From or Reply-To that is not an address.
func EML(m Message, key string) ([]byte, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	contentType := `multipart/alternative; boundary="` + mw.Boundary() + `"`
	// With attachments, the alternatives are the first part of a
	// multipart/mixed whose other parts are the files.
	var mixed *multipart.Writer
	var mixedBody bytes.Buffer
	if len(m.Attachments) > 0 {
		mixed = multipart.NewWriter(&mixedBody)
		contentType = `multipart/mixed; boundary="` + mixed.Boundary() + `"`
	}
	sum := sha256.Sum256([]byte(key + "\x00" + m.To))
	domain := asciiDomain(from.Address[strings.LastIndexByte(from.Address, '@')+1:])
	hdr := map[string]string{
		"From":         formatAddress(from),
		"To":           formatAddress(to),
		"Subject":      encodeText(m.Subject),
		"Date":         time.Now().UTC().Format(time.RFC1123Z),
		"Message-ID":   "<" + hex.EncodeToString(sum[:12]) + "@" + domain + ">",
		"MIME-Version": "1.0",
		"Content-Type": contentType,
	}
	if m.ReplyTo != "" {
		replyTo, err := mail.ParseAddress(m.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
		hdr["Reply-To"] = formatAddress(replyTo)
	}
	for k, v := range m.Headers {
		// The engine's own headers (List-Unsubscribe, -Post) are
		// structured: no encoded words in them.
		if hdr[k], err = structuredHeader(k, v); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var head bytes.Buffer
	for _, k := range keys {
		writeFolded(&head, k, hdr[k])
	}
	head.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		io.WriteString(qp, part.body)
		qp.Close()
	}
	mw.Close()
	if mixed != nil {
		w, err := mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {`multipart/alternative; boundary="` + mw.Boundary() + `"`}})
		if err != nil {
			return nil, err
		}
		w.Write(b.Bytes())
		for _, a := range m.Attachments {
			if err := writeAttachment(mixed, a); err != nil {
				return nil, err
			}
		}
		mixed.Close()
		return append(head.Bytes(), mixedBody.Bytes()...), nil
	}
	return append(head.Bytes(), b.Bytes()...), nil
}

// writeAttachment writes a file as a base64 part of a multipart/mixed
// message, in lines of 76 characters.
func writeAttachment(mw *multipart.Writer, a Attachment) error {
	ctype := a.ContentType
	if ctype == "" {
		ctype = mime.TypeByExtension(filepath.Ext(a.Filename))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	name := mime.QEncoding.Encode("utf-8", filepath.Base(a.Filename))
	w, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(ctype, map[string]string{"name": name})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(a.Content)
	for len(enc) > 76 {
		io.WriteString(w, enc[:76]+"\r\n")
		enc = enc[76:]
	}
	_, err = io.WriteString(w, enc+"\r\n")
	return err
}

// headerLine is the length header lines are folded at, as RFC 5322
// recommends; encodedLine is RFC 2047's limit for a line holding an
// encoded word; maxWord is the longest word (with the spaces before it)
// written as it is, the line limit (998) less room for a header name.
const (
	headerLine  = 78
	encodedLine = 76
	maxWord     = 900
)

// writeFolded writes "name: value" and CRLF, folding value so that lines
// stay within headerLine (encodedLine for a line with an encoded word)
// where its words allow it. It folds only by inserting CRLF before a run
// of spaces followed by a word, so unfolding (removing each CRLF) gives
// back value exactly, and no line is made of spaces only (RFC 5322
// 3.2.2 forbids generating those). An encoded word that does not fit
// after the header name starts on the next line.
func writeFolded(w *bytes.Buffer, name, value string) {
	w.WriteString(name)
	w.WriteString(":")
	line := len(name) + 1
	encoded := false
	for i, u := range foldUnits(value) {
		if i == 0 {
			u = " " + u // the space after the colon
		}
		word := strings.TrimLeft(u, " ")
		limit := headerLine
		if encoded || strings.HasPrefix(word, "=?") {
			limit = encodedLine
		}
		if word != "" && line+len(u) > limit && (line > len(name)+1 || strings.HasPrefix(word, "=?")) {
			w.WriteString("\r\n")
			line, encoded = 0, false
			if i == 0 {
				u = " " + word
			}
		}
		w.WriteString(u)
		line += len(u)
		encoded = encoded || strings.HasPrefix(word, "=?")
	}
	w.WriteString("\r\n")
}

// foldUnits cuts s before each run of spaces: every unit but the first
// is a run of spaces and the word after it (empty at the end of s).
func foldUnits(s string) []string {
	var units []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			units = append(units, s[start:i])
			start = i
		}
	}
	return append(units, s[start:])
}

// encodeText returns unstructured header text as it can be written: as
// it is when it is printable ASCII with words that fold, else as RFC 2047
// encoded words (quoted-printable, each at most 75 characters, for text
// with non-ASCII letters; base64 for a word, or run of spaces, too long,
// so it can be cut anywhere between characters).
func encodeText(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			plain = false
			break
		}
	}
	for _, u := range foldUnits(s) {
		if len(u) > maxWord || strings.Contains(u, "=?") {
			return encodeWords(s)
		}
	}
	if plain {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// structuredHeader checks the value of a structured header, such as
// List-Unsubscribe (RFC 2369: URLs in angle brackets, separated by
// commas), which must not hold encoded words: it is written as it is,
// folded at its spaces, and must be printable ASCII with no word too
// long for a line.
func structuredHeader(name, v string) (string, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", fmt.Errorf("header %s: not printable ASCII", name)
		}
	}
	for _, u := range foldUnits(v) {
		if len(u) > maxWord {
			return "", fmt.Errorf("header %s: a part of %d characters is too long for a header line", name, len(u))
		}
	}
	return v, nil
}

// encodeWords writes s as base64 encoded words of at most 45 bytes of
// text (72 characters), never cutting a character. A reader joins
// adjacent encoded words with nothing between them.
func encodeWords(s string) string {
	var out []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 {
			n = min(len(s), 45)
		}
		out = append(out, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(out, " ")
}

// formatAddress writes an address for a header: the display name quoted
// or encoded as needed (mail.Address.String), the domain in its ASCII
// form.
func formatAddress(a *mail.Address) string {
	at := strings.LastIndexByte(a.Address, '@')
	out := mail.Address{Name: a.Name, Address: a.Address[:at+1] + asciiDomain(a.Address[at+1:])}
	if out.Name == "" {
		return out.Address
	}
	if len(out.Name) > maxWord {
		// Too long to quote on one line: encoded words fold.
		return encodeWords(out.Name) + " <" + out.Address + ">"
	}
	return out.String()
}

// asciiDomain returns a domain in its IDNA ASCII form: each label with
// non-ASCII letters, NFC-normalised and lower-cased, is written as
// "xn--" and its punycode (RFC 3492).
func asciiDomain(d string) string {
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return d
	}
	labels := strings.Split(norm.NFC.String(strings.ToLower(d)), ".")
	for i, l := range labels {
		for j := 0; j < len(l); j++ {
			if l[j] >= 0x80 {
				labels[i] = "xn--" + punycode(l)
				break
			}
		}
	}
	return strings.Join(labels, ".")
}

// punycode encodes a label as RFC 3492 says (section 6.3).
func punycode(label string) string {
	const (
		base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
	)
	adapt := func(delta, points int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / points
		k := 0
		for delta > (base-tmin)*tmax/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	digit := func(d int) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	runes := []rune(label)
	var out []byte
	for _, r := range runes {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	basic := len(out)
	h := basic
	if basic > 0 {
		out = append(out, '-')
	}
	n, delta, bias := 128, 0, 72
	for h < len(runes) {
		m := int(^uint(0) >> 1)
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := base; ; k += base {
				t := min(max(k-bias, tmin), tmax)
				if q < t {
					break
				}
				out = append(out, digit(t+(q-t)%(base-t)))
				q = (q - t) / (base - t)
			}
			out = append(out, digit(q))
			bias = adapt(delta, h+1, h == basic)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out)
}
