package newsletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/resend/resend-go/v2"
	"golang.org/x/time/rate"

	"github.com/assocrm/assocrm/crm"
)

// HandlerOption configures NewHandler.
type HandlerOption func(*handler) error

// WithConfirmationSender sends the double opt-in emails through s, from
// the given address ("Asso <news@asso.org>"). Without it, signups to
// lists that need a confirmation fail with a 500 page.
func WithConfirmationSender(s Sender, from string) HandlerOption {
	return func(h *handler) error {
		if s == nil || strings.TrimSpace(from) == "" {
			return &crm.ValidationError{Field: "from", Reason: "a sender and a from address are needed"}
		}
		h.sender, h.from = s, from
		return nil
	}
}

// WithWebhookSecret enables POST /webhooks/resend, checking Svix
// signatures with the signing secret Resend gave ("whsec_..."). Spaces
// around it (a copy and paste, a line of an env file) are trimmed; a
// secret of spaces only is refused. A webhook refused for its signature is
// logged (without its body) to the Newsletter's logger (WithLogger), so a
// wrong secret shows.
func WithWebhookSecret(secret string) HandlerOption {
	return func(h *handler) error {
		trimmed := strings.TrimSpace(secret)
		if secret != "" && trimmed == "" {
			return &crm.ValidationError{Field: "webhook secret", Reason: "blank (only spaces)"}
		}
		h.webhookSecret = trimmed
		return nil
	}
}

// WithConsentTexts registers the consent texts the embedder's forms show.
// A signup that posts one of them (compared with runs of white space made
// one space) records the registered text; any other posted text is
// ignored and the package's own text for each list is recorded
// (DefaultConsentText). The consent history must hold what the
// association showed, not whatever a client sent: a posted text could be
// forged, or carry personal data.
func WithConsentTexts(texts ...string) HandlerOption {
	return func(h *handler) error {
		for _, t := range texts {
			k := consentKey(t)
			if k == "" {
				return &crm.ValidationError{Field: "consent text", Reason: "empty"}
			}
			h.consentTexts[k] = t
		}
		return nil
	}
}

func consentKey(t string) string { return strings.Join(strings.Fields(t), " ") }

// WithConfirmationInterval sets the least time between two confirmation
// emails to one address (default DefaultConfirmationInterval, 15
// minutes), whatever lists each signup asks for.
func WithConfirmationInterval(d time.Duration) HandlerOption {
	return func(h *handler) error {
		if d <= 0 {
			return &crm.ValidationError{Field: "confirmation interval", Value: d.String(), Reason: "must be positive"}
		}
		h.confirmEvery = d
		return nil
	}
}

// WithRecordIP records the IP address and user agent of web signups and
// confirmations in the consent history. It is off by default: the data is
// personal and an association may not need it.
func WithRecordIP(on bool) HandlerOption {
	return func(h *handler) error {
		h.recordIP = on
		return nil
	}
}

// WithSignupRate allows each IP address perMinute signups per minute (default
// 10), and as many event answers (POST /rsvp, counted apart); past it the
// answer is 429.
func WithSignupRate(perMinute int) HandlerOption {
	return func(h *handler) error {
		if perMinute < 1 {
			return &crm.ValidationError{Field: "signup rate", Reason: "at least one per minute"}
		}
		h.perMinute = perMinute
		return nil
	}
}

// maxBody bounds request bodies: a form or a webhook event is small.
const maxBody = 64 << 10

// honeypotField is a form field people do not see and bots fill in.
const honeypotField = "website"

type handler struct {
	n             *Newsletter
	mux           *http.ServeMux
	sender        Sender
	from          string
	webhookSecret string
	recordIP      bool
	perMinute     int
	consentTexts  map[string]string // by consentKey
	confirmEvery  time.Duration
	trusted       []netip.Prefix // reverse proxies (WithTrustedProxies)

	mu       sync.Mutex
	limiters map[string]*visitor
}

type visitor struct {
	limiter *rate.Limiter
	seen    time.Time
}

// NewHandler returns the subscription and event pages and the webhook of n as an
// http.Handler with paths relative to where it is mounted (use
// http.StripPrefix for a prefix):
//
//	GET  /subscribe            the signup form (?lang=fr|en, ?lists=a,b ticks public lists)
//	POST /subscribe            HTML form or JSON signup
//	GET  /confirm?token=       a page with one button (mail scanners open links)
//	POST /confirm?token=       confirm a double opt-in subscription
//	GET  /unsubscribe?token=   a page with one button
//	POST /unsubscribe?token=   unsubscribe (also the RFC 8058 one-click target)
//	GET|POST /preferences?token=
//	GET  /rsvp?token=&answer=  an event and one button giving the answer (RSVPURL)
//	POST /rsvp                 record the answer (token, answer, guests from the form)
//	GET  /events               the upcoming public events (?lang=fr|en)
//	GET  /events.ics           their calendar (iCalendar), the cancelled ones marked
//	GET  /events/NAME.ics      one event's calendar file (a non-public one with ?token=)
//	POST /webhooks/resend      bounces, complaints and deliveries (Svix-signed)
func NewHandler(n *Newsletter, opts ...HandlerOption) (http.Handler, error) {
	h := &handler{n: n, perMinute: 10, limiters: map[string]*visitor{}, consentTexts: map[string]string{},
		confirmEvery: DefaultConfirmationInterval}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subscribe", h.signupPage) // and HEAD
	mux.HandleFunc("POST /subscribe", h.subscribe)
	mux.HandleFunc("GET /confirm", h.confirmPage) // and HEAD
	mux.HandleFunc("POST /confirm", h.confirm)
	mux.HandleFunc("GET /unsubscribe", h.unsubscribePage)
	mux.HandleFunc("POST /unsubscribe", h.unsubscribe)
	mux.HandleFunc("GET /preferences", h.preferences)
	mux.HandleFunc("POST /preferences", h.preferences)
	mux.HandleFunc("GET /rsvp", h.rsvpPage) // and HEAD
	mux.HandleFunc("POST /rsvp", h.rsvp)
	mux.HandleFunc("GET /events", h.eventsPage)
	mux.HandleFunc("GET /events.ics", h.eventsFeed)
	mux.HandleFunc("GET /events/{file}", h.eventFile)
	mux.HandleFunc("POST /webhooks/resend", h.webhook)
	h.mux = mux
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r = h.fromProxy(r)
	channel := "web:" + r.URL.Path
	if strings.HasPrefix(r.URL.Path, "/webhooks/") {
		channel = "webhook"
	}
	h.mux.ServeHTTP(w, r.WithContext(crm.WithChannel(r.Context(), channel)))
}

func (h *handler) write(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(renderPage(p))
}

func (h *handler) textsFor(r *http.Request, supporterLang string) pageTexts {
	return texts[pageLanguage(supporterLang, r.Header.Get("Accept-Language"))]
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if h.n.logger != nil {
		h.n.logger.ErrorContext(r.Context(), "newsletter: request failed", "path", r.URL.Path, "error", err)
	}
	t := h.textsFor(r, "")
	h.write(w, http.StatusInternalServerError, page{T: t, Title: t.ErrorTitle, Message: t.ErrorBody})
}

// tokenError answers a bad link with a clear page, never a 500, in lang
// when the supporter is known ("" for the browser's language). The link
// of an erased supporter gets one generic page that says nothing of them.
func (h *handler) tokenError(w http.ResponseWriter, r *http.Request, err error, lang string) bool {
	t := h.textsFor(r, lang)
	switch {
	case errors.Is(err, ErrSupporterErased):
		t = h.textsFor(r, "")
		h.write(w, http.StatusGone, page{T: t, Title: t.GoneTitle, Message: t.GoneBody})
	case errors.Is(err, ErrTokenExpired):
		h.write(w, http.StatusGone, page{T: t, Title: t.ExpiredTitle, Message: t.ExpiredBody})
	case errors.Is(err, ErrListDeleted):
		h.write(w, http.StatusGone, page{T: t, Title: t.ListGoneTitle, Message: t.ListGoneBody})
	case errors.Is(err, ErrNothingToConfirm):
		h.write(w, http.StatusConflict, page{T: t, Title: t.NothingTitle, Message: t.NothingBody})
	case errors.Is(err, ErrTokenInvalid), errors.Is(err, crm.ErrNotFound):
		h.write(w, http.StatusBadRequest, page{T: t, Title: t.InvalidTitle, Message: t.InvalidBody})
	default:
		return false
	}
	return true
}

// signupConsentText returns the registered text a form posted, or "" for
// the package's own text (see WithConsentTexts).
func (h *handler) signupConsentText(posted string) string {
	return h.consentTexts[consentKey(posted)]
}

func (h *handler) consent(r *http.Request, text string) crm.Consent {
	c := crm.Consent{Source: crm.SourceWeb, Text: text}
	if h.recordIP {
		c.IP, c.UserAgent = clientIP(r), r.UserAgent()
	}
	return c
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow applies the per-IP signup rate.
func (h *handler) allow(ip string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if len(h.limiters) > 10000 {
		for k, v := range h.limiters {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(h.limiters, k)
			}
		}
	}
	v := h.limiters[ip]
	if v == nil {
		v = &visitor{limiter: rate.NewLimiter(rate.Every(time.Minute/time.Duration(h.perMinute)), h.perMinute)}
		h.limiters[ip] = v
	}
	v.seen = now
	return v.limiter.Allow()
}

// signupForm is the JSON body of POST /subscribe; a form uses the same
// names, with lists and interests repeated.
type signupForm struct {
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Language  string   `json:"language"`
	Lists     []string `json:"lists"`
	Interests []string `json:"interests"`
	Consent   string   `json:"consent"`
	Website   string   `json:"website"` // the honeypot
	// Thanks is "site" in the snippet's form: after the POST, the person
	// goes to the signup-redirect page of the settings when one is set.
	// Only ever the stored page: a request never names where it goes.
	Thanks string `json:"-"`
}

func (h *handler) subscribe(w http.ResponseWriter, r *http.Request) {
	isJSON := false
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		isJSON = true
	}
	var f signupForm
	if isJSON {
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			h.badRequest(w, r, isJSON, h.textsFor(r, ""), &crm.ValidationError{Field: "body", Reason: err.Error()})
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			h.badRequest(w, r, isJSON, h.textsFor(r, ""), &crm.ValidationError{Field: "form", Reason: err.Error()})
			return
		}
		f = signupForm{Email: r.PostForm.Get("email"), FirstName: r.PostForm.Get("first_name"),
			LastName: r.PostForm.Get("last_name"), Language: r.PostForm.Get("language"), Lists: r.PostForm["lists"],
			Interests: r.PostForm["interests"], Consent: r.PostForm.Get("consent"), Website: r.PostForm.Get(honeypotField),
			Thanks: r.PostForm.Get("thanks")}
	}
	t := h.textsFor(r, f.Language)
	if !h.allow(clientIP(r)) {
		w.Header().Set("Retry-After", "60")
		if isJSON {
			writeJSONStatus(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests"})
			return
		}
		h.write(w, http.StatusTooManyRequests, page{T: t, Title: t.TooManyTitle, Message: t.TooManyBody})
		return
	}
	if f.Website == "" {
		req := SignupRequest{Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, Language: f.Language,
			Lists: f.Lists, Interests: f.Interests, ConsentText: h.signupConsentText(f.Consent),
			ConfirmationInterval: h.confirmEvery}
		c := h.consent(r, "")
		req.IP, req.UserAgent = c.IP, c.UserAgent
		if _, err := h.n.Signup(r.Context(), req, h.sender, h.from); err != nil {
			var ve *crm.ValidationError
			switch {
			case errors.As(err, &ve) && isJSON:
				h.badRequest(w, r, isJSON, t, ve)
			case errors.As(err, &ve):
				h.formAgain(w, r, t.Lang, f, ve)
			default:
				h.fail(w, r, err)
			}
			return
		}
	}
	// The same answer whether the address was known, new, or a bot's:
	// see thanksFor.
	if isJSON {
		writeJSONStatus(w, http.StatusOK, map[string]string{"status": "ok", "message": t.SignupDone})
		return
	}
	lists, err := h.n.askedPublicLists(r.Context(), f.Lists)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Thanks == thanksSite {
		st, err := h.n.db.Settings(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if st.SignupRedirect != "" {
			http.Redirect(w, r, redirectURL(st.SignupRedirect, signupOutcome(lists)), http.StatusSeeOther)
			return
		}
	}
	h.writeThanks(w, thanksFor(t.Lang, lists, h.confirmEvery))
}

// badRequest answers a refused form: JSON callers get the error as the
// package wrote it (English, for developers); people get a page in t's
// language naming the field.
func (h *handler) badRequest(w http.ResponseWriter, r *http.Request, isJSON bool, t pageTexts, ve *crm.ValidationError) {
	if isJSON {
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": ve.Error()})
		return
	}
	h.write(w, http.StatusBadRequest, page{T: t, Title: t.BadRequestTitle, Message: fmt.Sprintf(t.BadRequestBody, ve.Field)})
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// confirmPage shows what a confirm link confirms and one button; it
// changes nothing, as mail scanners (Outlook Safe Links, corporate
// gateways) open every link of a message before the person does.
func (h *handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	l, s, err := h.n.CheckConfirmToken(r.Context(), token)
	if err != nil {
		if !h.tokenError(w, r, err, langOf(s)) {
			h.fail(w, r, err)
		}
		return
	}
	t := h.textsFor(r, s.Language)
	h.write(w, http.StatusOK, page{T: t, Title: t.ConfirmTitle, Message: fmt.Sprintf(t.ConfirmAsk, l.TitleFor(t.Lang)),
		Form: &formView{Action: "?" + url.Values{"token": {token}}.Encode(), Button: t.ConfirmButton}})
}

// confirm is the confirmation page's button: the POST confirms.
func (h *handler) confirm(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	l, s, err := h.n.ConfirmToken(r.Context(), r.URL.Query().Get("token"), h.consent(r, ""))
	if err != nil {
		if !h.tokenError(w, r, err, langOf(s)) {
			h.fail(w, r, err)
		}
		return
	}
	h.sendNotices(r.Context(), s.ID)
	t := h.textsFor(r, s.Language)
	h.write(w, http.StatusOK, page{T: t, Title: t.ConfirmedTitle, Message: fmt.Sprintf(t.ConfirmedBody, l.TitleFor(t.Lang))})
}

// langOf is the language of s, or "" when there is no supporter.
func langOf(s *crm.Supporter) string {
	if s == nil {
		return ""
	}
	return s.Language
}

func (h *handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	tok, err := h.n.signer.Verify(token, PurposeUnsubscribe, h.n.clock())
	if err != nil {
		h.tokenError(w, r, err, "")
		return
	}
	s, l, err := h.n.tokenTargets(r.Context(), tok)
	if err != nil {
		if !h.tokenError(w, r, err, "") {
			h.fail(w, r, err)
		}
		return
	}
	t := h.textsFor(r, s.Language)
	msg := fmt.Sprintf(t.UnsubscribeAskAll, s.Email)
	if l != nil {
		msg = fmt.Sprintf(t.UnsubscribeAsk, l.TitleFor(t.Lang), s.Email)
	}
	h.write(w, http.StatusOK, page{T: t, Title: t.UnsubscribeTitle, Message: msg,
		Form: &formView{Action: "?" + url.Values{"token": {token}}.Encode(), Button: t.UnsubscribeButton}})
}

// unsubscribe is the button's target and the RFC 8058 one-click target:
// a POST with List-Unsubscribe=One-Click, no cookie, no login.
func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	_, s, err := h.n.UnsubscribeToken(r.Context(), r.URL.Query().Get("token"), h.consent(r, "unsubscribe link"))
	if err != nil {
		if !h.tokenError(w, r, err, "") {
			h.fail(w, r, err)
		}
		return
	}
	t := h.textsFor(r, s.Language)
	h.write(w, http.StatusOK, page{T: t, Title: t.UnsubscribedTitle, Message: t.UnsubscribedBody})
}

func (h *handler) preferences(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	p, err := h.n.PreferencesFor(r.Context(), token)
	if err != nil {
		if !h.tokenError(w, r, err, "") {
			h.fail(w, r, err)
		}
		return
	}
	saved := false
	if r.Method == http.MethodPost {
		t := h.textsFor(r, p.Supporter.Language)
		if err := r.ParseForm(); err != nil {
			h.badRequest(w, r, false, t, &crm.ValidationError{Field: "form", Reason: err.Error()})
			return
		}
		err := h.n.UpdatePreferences(r.Context(), token, PreferenceChange{Lists: r.PostForm["lists"],
			Language: r.PostForm.Get("language"), Interests: r.PostForm["interests"]}, h.consent(r, "preferences page"))
		if err != nil {
			var ve *crm.ValidationError
			switch {
			case h.tokenError(w, r, err, p.Supporter.Language):
			case errors.As(err, &ve):
				h.badRequest(w, r, false, t, ve)
			default:
				h.fail(w, r, err)
			}
			return
		}
		saved = true
		h.sendNotices(r.Context(), p.Supporter.ID)
		if p, err = h.n.PreferencesFor(r.Context(), token); err != nil {
			if !h.tokenError(w, r, err, "") {
				h.fail(w, r, err)
			}
			return
		}
	}
	t := h.textsFor(r, p.Supporter.Language)
	v := &prefsView{Action: "?" + url.Values{"token": {token}}.Encode(), Saved: saved}
	for _, l := range p.Lists {
		st := p.Status[l.Name]
		v.Lists = append(v.Lists, checkbox{Name: l.Name, Label: l.TitleFor(t.Lang), Checked: st == crm.StatusSubscribed || st == crm.StatusPending})
	}
	for _, code := range []string{"fr", "en"} {
		v.Languages = append(v.Languages, checkbox{Name: code, Label: t.LanguageNames[code], Checked: p.Supporter.Language == code})
	}
	mine := map[string]bool{}
	for _, in := range p.Supporter.Interests {
		mine[in.Interest] = true
	}
	for _, in := range p.Interests {
		v.Interests = append(v.Interests, checkbox{Name: in.Name, Label: in.Label(t.Lang), Checked: mine[in.Name]})
	}
	h.write(w, http.StatusOK, page{T: t, Title: t.PreferencesTitle, Prefs: v})
}

func (h *handler) webhook(w http.ResponseWriter, r *http.Request) {
	if h.webhookSecret == "" {
		http.Error(w, "webhooks are not configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	headers := resend.WebhookHeaders{Id: r.Header.Get("svix-id"), Timestamp: r.Header.Get("svix-timestamp"),
		Signature: r.Header.Get("svix-signature")}
	verifier := resend.NewClient("")
	if err := verifier.Webhooks.Verify(&resend.VerifyWebhookOptions{Payload: string(body), Headers: headers,
		WebhookSecret: h.webhookSecret}); err != nil {
		// Logged, so that a wrong secret shows; never the body, which
		// holds addresses.
		if h.n.logger != nil {
			h.n.logger.WarnContext(r.Context(), "newsletter: webhook refused: bad signature (check the webhook secret)",
				"svix_id", clip(headers.Id, 64), "error", clip(err.Error(), 200))
		}
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	res, err := h.n.ApplyWebhook(r.Context(), headers.Id, body)
	if err != nil {
		var ve *crm.ValidationError
		if errors.As(err, &ve) {
			http.Error(w, ve.Error(), http.StatusBadRequest)
			return
		}
		if h.n.logger != nil {
			h.n.logger.ErrorContext(r.Context(), "newsletter: webhook failed", "svix_id", headers.Id, "error", err)
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]string{"status": [...]string{"applied", "replayed", "ignored"}[res]})
}

// clip cuts what a client sent to at most n bytes (at a character
// boundary) before it is logged: a header may be a megabyte long.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// sendNotices sends the emails a request just queued for the supporter
// (a welcome), when the handler has a sender; otherwise, or when sending
// fails, they wait in the queue for the next SendNotices. The page does
// not wait on a failure, and the log names no one.
func (h *handler) sendNotices(ctx context.Context, supporterID int64) {
	if h.sender == nil {
		return
	}
	rep, err := h.n.SendNotices(ctx, h.sender, NoticeOptions{From: h.from, SupporterID: supporterID})
	if err == nil && len(rep.Errors) == 0 {
		return
	}
	if h.n.logger != nil {
		n := 0
		if rep != nil {
			n = len(rep.Errors)
		}
		h.n.logger.WarnContext(ctx, "newsletter: emails left in the queue for the next SendNotices", "failed", n, "error", err)
	}
}
