// Package resendtest is a fake of Resend's email API for tests: an
// httptest server that speaks the real API (paths, JSON fields,
// Idempotency-Key, x-batch-validation, rate-limit headers and error
// bodies), so code using the real resend-go client can be tested with no
// network. Faults can be injected: 5xx before or after processing (an
// answer lost after the mail went out), rate limiting, quota errors,
// latency.
//
//	srv := resendtest.NewServer(resendtest.Options{})
//	defer srv.Close()
//	client := srv.Client()            // a *resend.Client pointed at srv
//	... send ...
//	srv.Emails()                      // what was accepted, in order
package resendtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resend/resend-go/v2"
	"golang.org/x/time/rate"
)

// APIKey is the key the server accepts unless Options.APIKey says
// otherwise.
const APIKey = "re_test_key"

// Email is one message the server accepted.
type Email struct {
	ID             string
	From           string
	To             []string
	Subject        string
	HTML           string
	Text           string
	ReplyTo        string
	Headers        map[string]string
	Tags           []resend.Tag
	IdempotencyKey string // of the request that carried it
	Batch          bool   // sent through /emails/batch
	// Attachments are the files it carried (only /emails takes them).
	Attachments []Attachment
}

// Attachment is one file of an accepted message, its content decoded
// from the base64 string the API documents (or the array of byte values
// resend-go writes).
type Attachment struct {
	Filename    string
	ContentType string
	Content     []byte
}

// decodeAttachments reads a request's attachments, or says what is
// wrong with them.
func decodeAttachments(raw json.RawMessage) ([]Attachment, string) {
	if empty(raw) {
		return nil, ""
	}
	var in []struct {
		Filename    string          `json:"filename"`
		ContentType string          `json:"content_type"`
		Content     json.RawMessage `json:"content"`
		Path        string          `json:"path"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, "The `attachments` field must be an array of objects."
	}
	out := make([]Attachment, len(in))
	for i, a := range in {
		if a.Filename == "" && a.Path == "" {
			return nil, fmt.Sprintf("attachments[%d]: the `filename` field is missing.", i)
		}
		out[i] = Attachment{Filename: a.Filename, ContentType: a.ContentType}
		var b64 string
		var bytesArr []byte
		var ints []int
		switch {
		case json.Unmarshal(a.Content, &b64) == nil:
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, fmt.Sprintf("attachments[%d]: the `content` field is not base64.", i)
			}
			out[i].Content = b
		case json.Unmarshal(a.Content, &ints) == nil:
			bytesArr = make([]byte, len(ints))
			for k, v := range ints {
				if v < 0 || v > 255 {
					return nil, fmt.Sprintf("attachments[%d]: the `content` array holds a value that is not a byte.", i)
				}
				bytesArr[k] = byte(v)
			}
			out[i].Content = bytesArr
		case a.Path == "":
			return nil, fmt.Sprintf("attachments[%d]: the `content` or `path` field is missing.", i)
		}
	}
	return out, ""
}

// Fault is an injected failure of one request.
type Fault int

// Faults.
const (
	// FaultServerError answers 500 without processing the request.
	FaultServerError Fault = iota + 1
	// FaultUnavailable answers 503 without processing the request.
	FaultUnavailable
	// FaultLostAnswer processes the request (the mail goes out and the
	// idempotency key is stored) and then answers 500, as when the
	// answer is lost on its way back.
	FaultLostAnswer
	// FaultRateLimit answers 429 rate_limit_exceeded with retry-after 1.
	FaultRateLimit
	// FaultDailyQuota answers 429 daily_quota_exceeded.
	FaultDailyQuota
	// FaultMonthlyQuota answers 429 monthly_quota_exceeded.
	FaultMonthlyQuota
)

// Options configures a Server.
type Options struct {
	// APIKey is the bearer token required (default APIKey).
	APIKey string
	// RateLimit is the number of requests allowed per second; 0 means no
	// limit. Past it the server answers 429 with Resend's headers.
	RateLimit int
	// Latency is added to every request.
	Latency time.Duration
	// Faults, if set, is asked before each request to /emails or
	// /emails/batch (n counts from 1) and returns the fault to inject,
	// or 0 for none.
	Faults func(n int) Fault
	// CountOnly keeps only the id, recipients and key of accepted
	// messages, not their bodies, for benchmarks with many messages.
	CountOnly bool
	// Reject, if set, is asked for every recipient; a non-empty answer
	// refuses that message with this reason (as Resend does for a
	// suppressed address), the rest of a permissive batch going on.
	Reject func(to string) string
}

// Server is the fake API. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	opts Options

	mu       sync.Mutex
	emails   [][]Email // in chunks, so a long run never copies them all to grow
	accepted int
	last     time.Time // when the last message was accepted
	requests int
	idem     map[string]idemEntry
	limiter  *rate.Limiter
	faults   []Fault
}

type idemEntry struct {
	hash   string
	status int
	body   []byte
	// running is a request under this key still being processed: another
	// one meanwhile is refused with 409 concurrent_idempotent_requests,
	// as Resend does (a sender resuming at once after a crash can meet
	// its dead predecessor's request still running).
	running bool
}

// NewServer starts a fake Resend API on a loopback port; the zero
// Options give a server that accepts every valid request. Close it when
// done.
func NewServer(opts Options) *Server {
	s := &Server{idem: map[string]idemEntry{}, opts: opts}
	if s.opts.APIKey == "" {
		s.opts.APIKey = APIKey
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /emails", s.handleSend)
	mux.HandleFunc("POST /emails/batch", s.handleBatch)
	s.Server = httptest.NewServer(mux)
	return s
}

// Client returns a resend-go client pointed at the server with the right
// key.
func (s *Server) Client() *resend.Client {
	c := resend.NewClient(s.opts.APIKey)
	c.BaseURL, _ = url.Parse(s.BaseURL())
	return c
}

// BaseURL is the server's address with the trailing slash resend-go
// needs, as RESEND_BASE_URL would hold it.
func (s *Server) BaseURL() string { return s.URL + "/" }

// Emails returns a copy of the accepted messages, in order.
func (s *Server) Emails() []Email {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Email
	for _, c := range s.emails {
		out = append(out, c...)
	}
	return out
}

// Accepted returns how many messages the server accepted, and when it
// accepted the last one (zero before any), without copying them: what a
// benchmark needs to time a send from its start to its last email.
func (s *Server) Accepted() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.last
}

// Requests returns how many send requests reached the server, faults and
// rejections included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// InjectFaults queues faults for the next requests, one each, before any
// from Options.Faults.
func (s *Server) InjectFaults(fs ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fs...)
}

// SetRateLimit changes the requests-per-second limit (0: none).
func (s *Server) SetRateLimit(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimit = perSecond
}

// apiError is Resend's error body.
type apiError struct {
	StatusCode int    `json:"statusCode"`
	Name       string `json:"name"`
	Message    string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) []byte {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	return b
}

func writeError(w http.ResponseWriter, status int, name, msg string) []byte {
	return writeJSON(w, status, apiError{StatusCode: status, Name: name, Message: msg})
}

// admit runs the checks every send request goes through: latency, auth,
// injected faults and the rate limit. It returns the fault to apply after
// processing, and false when it has answered already.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (lostAnswer bool, ok bool) {
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	s.mu.Lock()
	s.requests++
	n := s.requests
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	} else if s.opts.Faults != nil {
		fault = s.opts.Faults(n)
	}
	limit := s.opts.RateLimit
	limited, reset := false, 0
	if limit > 0 {
		// A token bucket of limit requests per second, like Resend's.
		if s.limiter == nil || s.limiter.Limit() != rate.Limit(limit) {
			s.limiter = rate.NewLimiter(rate.Limit(limit), limit)
		}
		now := time.Now()
		if res := s.limiter.ReserveN(now, 1); res.DelayFrom(now) > 0 {
			res.CancelAt(now)
			limited = true
			reset = int(res.DelayFrom(now)/time.Second) + 1
		} else {
			w.Header().Set("ratelimit-limit", strconv.Itoa(limit))
			w.Header().Set("ratelimit-remaining", strconv.Itoa(int(s.limiter.TokensAt(now))))
			w.Header().Set("ratelimit-reset", "1")
		}
	}
	s.mu.Unlock()

	auth := r.Header.Get("Authorization")
	switch {
	case auth == "" || !strings.HasPrefix(auth, "Bearer "):
		writeError(w, http.StatusUnauthorized, "missing_api_key", "Missing API key in the authorization header.")
		return false, false
	case strings.TrimPrefix(auth, "Bearer ") != s.opts.APIKey:
		writeError(w, http.StatusForbidden, "invalid_api_key", "API key is invalid.")
		return false, false
	}
	switch fault {
	case FaultServerError:
		writeError(w, http.StatusInternalServerError, "internal_server_error", "An unexpected error occurred.")
		return false, false
	case FaultUnavailable:
		writeError(w, http.StatusServiceUnavailable, "service_unavailable", "Service unavailable.")
		return false, false
	case FaultRateLimit:
		limited, reset = true, 1
	case FaultDailyQuota:
		writeError(w, http.StatusTooManyRequests, "daily_quota_exceeded", "You have reached your daily email sending quota.")
		return false, false
	case FaultMonthlyQuota:
		writeError(w, http.StatusTooManyRequests, "monthly_quota_exceeded", "You have reached your monthly email sending quota.")
		return false, false
	}
	if limited {
		if limit > 0 {
			w.Header().Set("ratelimit-limit", strconv.Itoa(limit))
		}
		w.Header().Set("ratelimit-remaining", "0")
		w.Header().Set("ratelimit-reset", strconv.Itoa(reset))
		w.Header().Set("retry-after", strconv.Itoa(reset))
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests. Please slow down.")
		return false, false
	}
	return fault == FaultLostAnswer, true
}

// idempotent replays the stored answer of a key, refuses the key with
// another payload or while a request under it runs (409), or returns a
// function that stores this answer. A request that returns without
// storing an answer must call abandon.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, body []byte) (store func(status int, body []byte), done bool) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return func(int, []byte) {}, false
	}
	if len(key) > 256 {
		writeError(w, http.StatusBadRequest, "validation_error", "The Idempotency-Key header must be at most 256 characters.")
		return nil, true
	}
	h := sha256.New()
	h.Write([]byte(r.URL.Path + "\x00"))
	h.Write(body)
	hash := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	prev, ok := s.idem[key]
	if !ok {
		s.idem[key] = idemEntry{hash: hash, running: true}
	}
	s.mu.Unlock()
	if ok {
		if prev.running {
			writeError(w, http.StatusConflict, "concurrent_idempotent_requests",
				"Same idempotency key used while original request is still in progress. Try the request again later.")
			return nil, true
		}
		if prev.hash != hash {
			writeError(w, http.StatusConflict, "invalid_idempotent_request",
				"Same idempotency key used with a different request payload. Change your idempotency key or payload.")
			return nil, true
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(prev.status)
		w.Write(prev.body)
		return nil, true
	}
	return func(status int, b []byte) {
		s.mu.Lock()
		s.idem[key] = idemEntry{hash: hash, status: status, body: b}
		s.mu.Unlock()
	}, false
}

// abandon forgets the key of a request that ends with no answer stored
// (an invalid body), so it can be sent again.
func (s *Server) abandon(r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	if e, ok := s.idem[key]; ok && e.running {
		delete(s.idem, key)
	}
	s.mu.Unlock()
}

// request is an email as a request carries it: resend.SendEmailRequest
// with the bodies left as JSON text, unquoted only when they are kept, so
// a count-only server decodes a 100-message batch without copying every
// HTML body.
type request struct {
	From        string            `json:"from"`
	To          []string          `json:"to"`
	Subject     string            `json:"subject"`
	Bcc         []string          `json:"bcc"`
	Cc          []string          `json:"cc"`
	ReplyTo     string            `json:"reply_to"`
	Html        json.RawMessage   `json:"html"`
	Text        json.RawMessage   `json:"text"`
	Tags        []resend.Tag      `json:"tags"`
	Attachments json.RawMessage   `json:"attachments"`
	Headers     map[string]string `json:"headers"`
	ScheduledAt string            `json:"scheduled_at"`
}

// text unquotes a body; an absent or null one is "".
func text(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// empty reports whether a value is absent, null, "" or [].
func empty(raw json.RawMessage) bool {
	r := string(raw)
	return r == "" || r == "null" || r == `""` || r == "[]"
}

// isString reports whether a body is a JSON string, or absent or null.
func isString(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null" || raw[0] == '"'
}

// validate checks one message as Resend does and returns what is wrong.
func validate(m *request) string {
	switch {
	case !isString(m.Html) || !isString(m.Text):
		return "The `html` and `text` fields must be strings."
	case strings.TrimSpace(m.From) == "":
		return "The `from` field is missing."
	case len(m.To) == 0:
		return "The `to` field is missing."
	case len(m.To) > 50:
		return "The `to` field must have at most 50 recipients."
	case strings.TrimSpace(m.Subject) == "":
		return "The `subject` field is missing."
	case empty(m.Html) && empty(m.Text):
		return "Either `html` or `text` must be provided."
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return "Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format."
	}
	for _, to := range m.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return "Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format."
		}
	}
	return ""
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) accept(m *request, key string, batch bool) string {
	e := Email{ID: newID(), To: append([]string(nil), m.To...), IdempotencyKey: key, Batch: batch}
	if !s.opts.CountOnly {
		e.From, e.Subject, e.HTML, e.Text = m.From, m.Subject, text(m.Html), text(m.Text)
		e.ReplyTo, e.Headers, e.Tags = m.ReplyTo, m.Headers, m.Tags
		e.Attachments, _ = decodeAttachments(m.Attachments)
	}
	s.mu.Lock()
	if k := len(s.emails); k == 0 || len(s.emails[k-1]) == cap(s.emails[k-1]) {
		s.emails = append(s.emails, make([]Email, 0, 1024))
	}
	chunk := &s.emails[len(s.emails)-1]
	*chunk = append(*chunk, e)
	s.accepted++
	s.last = time.Now()
	s.mu.Unlock()
	return e.ID
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 40<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "validation_error", "The request body is too large.")
		return nil, false
	}
	return body, true
}

// begin runs what every send request goes through (checks and faults,
// body, idempotency replay) and decodes the body into v. ok is false when
// the request was answered already.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, v any) (lost bool, store func(int, []byte), ok bool) {
	lost, ok = s.admit(w, r)
	if !ok {
		return false, nil, false
	}
	body, ok := readBody(w, r)
	if !ok {
		return false, nil, false
	}
	store, done := s.idempotent(w, r, body)
	if done {
		return false, nil, false
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.abandon(r)
		writeError(w, http.StatusUnprocessableEntity, "validation_error", "Invalid JSON: "+err.Error())
		return false, nil, false
	}
	return lost, store, true
}

// answer stores a successful answer for its idempotency key and sends it,
// or, for an injected lost answer, a 500 instead.
func answer(w http.ResponseWriter, store func(int, []byte), lost bool, body []byte) {
	store(http.StatusOK, body)
	if lost {
		writeError(w, http.StatusInternalServerError, "internal_server_error", "An unexpected error occurred.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var m request
	lost, store, ok := s.begin(w, r, &m)
	if !ok {
		return
	}
	msg := validate(&m)
	if msg == "" {
		_, msg = decodeAttachments(m.Attachments)
	}
	if msg != "" {
		store(http.StatusUnprocessableEntity, writeError(w, http.StatusUnprocessableEntity, "validation_error", msg))
		return
	}
	id := s.accept(&m, r.Header.Get("Idempotency-Key"), false)
	resp, _ := json.Marshal(resend.SendEmailResponse{Id: id})
	answer(w, store, lost, resp)
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	var ms []request
	lost, store, ok := s.begin(w, r, &ms)
	if !ok {
		return
	}
	switch {
	case len(ms) == 0:
		store(http.StatusUnprocessableEntity, writeError(w, http.StatusUnprocessableEntity, "validation_error", "The batch is empty."))
		return
	case len(ms) > 100:
		store(http.StatusUnprocessableEntity, writeError(w, http.StatusUnprocessableEntity, "validation_error",
			"Too many emails in the batch: the maximum is 100."))
		return
	}
	mode := r.Header.Get("x-batch-validation")
	if mode == "" {
		mode = "strict"
	}
	if mode != "strict" && mode != "permissive" {
		s.abandon(r)
		writeError(w, http.StatusUnprocessableEntity, "validation_error", "x-batch-validation must be strict or permissive.")
		return
	}
	var errs []resend.BatchError
	for i := range ms {
		if !empty(ms[i].Attachments) || ms[i].ScheduledAt != "" {
			errs = append(errs, resend.BatchError{Index: i, Message: "Attachments and scheduling are not supported in batch emails."})
		} else if msg := validate(&ms[i]); msg != "" {
			errs = append(errs, resend.BatchError{Index: i, Message: msg})
		} else if s.opts.Reject != nil {
			if msg := s.opts.Reject(ms[i].To[0]); msg != "" {
				errs = append(errs, resend.BatchError{Index: i, Message: msg})
			}
		}
	}
	if mode == "strict" && len(errs) > 0 {
		store(http.StatusUnprocessableEntity, writeError(w, http.StatusUnprocessableEntity, "validation_error",
			fmt.Sprintf("emails[%d]: %s", errs[0].Index, errs[0].Message)))
		return
	}
	resp := resend.BatchEmailResponse{Data: []resend.SendEmailResponse{}}
	bad := map[int]bool{}
	for _, e := range errs {
		bad[e.Index] = true
	}
	for i := range ms {
		if !bad[i] {
			resp.Data = append(resp.Data, resend.SendEmailResponse{Id: s.accept(&ms[i], r.Header.Get("Idempotency-Key"), true)})
		}
	}
	resp.Errors = errs
	b, _ := json.Marshal(resp)
	answer(w, store, lost, b)
}
