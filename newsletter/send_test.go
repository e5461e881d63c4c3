package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/crmtest"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	db    *crm.DB
	path  string
	clock *testClock
	srv   *resendtest.Server
}

func newEnv(t testing.TB, opts ...resendtest.Options) *env {
	t.Helper()
	e := &env{path: crmtest.Database(t), clock: &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	var err error
	if e.db, err = crm.Open(context.Background(), e.path, crm.WithClock(e.clock.Now)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	var o resendtest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	e.srv = resendtest.NewServer(o)
	t.Cleanup(e.srv.Close)
	return e
}

// newsletter opens a Newsletter over the env's database, as a fresh
// process would after a crash.
func (e *env) newsletter(t testing.TB) *newsletter.Newsletter {
	t.Helper()
	n, err := newsletter.New(context.Background(), e.db, newsletter.WithClock(e.clock.Now),
		newsletter.WithPublicURL("https://asso.example.org/nl"), newsletter.WithLease(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	newsletter.SetSleep(n, func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	return n
}

func (e *env) sender(t testing.TB) *newsletter.ResendSender {
	t.Helper()
	s, err := newsletter.NewResendSender(resendtest.APIKey, newsletter.WithBaseURL(e.srv.BaseURL()), newsletter.WithRateLimit(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addAudience creates the list "lettre" and n subscribed supporters,
// every fifth in English.
func (e *env) addAudience(t testing.TB, n int, list crm.List) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.CreateList(ctx, &list); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("email,first_name,language,city\n")
	for i := 0; i < n; i++ {
		lang := "fr"
		if i%5 == 0 {
			lang = "en"
		}
		fmt.Fprintf(&b, "p%05d@example.org,Personne %d,%s,Calais\n", i, i, lang)
	}
	rep, err := e.db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{List: list.Name, Consent: "test"})
	if err != nil || rep.Created != n {
		t.Fatalf("import audience: %+v, %v", rep, err)
	}
}

const (
	tplFR = "---\nsubject: La lettre de mars\n---\nBonjour {{.FirstName}}, [se désinscrire]({{.UnsubscribeURL}})\n"
	tplEN = "---\nsubject: The March letter\n---\nHello {{.FirstName}}\n"
)

func (e *env) campaign(t testing.TB, n *newsletter.Newsletter, name, list, segment string) {
	t.Helper()
	_, err := n.CreateCampaign(context.Background(), newsletter.CampaignSpec{Name: name, List: list, Segment: segment,
		From: "Asso <news@asso.example.org>", Templates: []newsletter.TemplateSource{
			{Language: "fr", Source: tplFR}, {Language: "en", Source: tplEN}}})
	if err != nil {
		t.Fatal(err)
	}
}

// assertOnce checks that every address in want got exactly one message
// and nobody else got any.
func assertOnce(t testing.TB, emails []resendtest.Email, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, e := range emails {
		count[e.To[0]]++
	}
	var dup, missing, extra []string
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
		switch count[w] {
		case 0:
			missing = append(missing, w)
		case 1:
		default:
			dup = append(dup, w)
		}
	}
	for to := range count {
		if !wanted[to] {
			extra = append(extra, to)
		}
	}
	if len(dup)+len(missing)+len(extra) > 0 {
		sort.Strings(dup)
		t.Fatalf("%d duplicates %v, %d missing %v, %d not in the audience %v",
			len(dup), head(dup), len(missing), head(missing), len(extra), head(extra))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func audienceEmails(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%05d@example.org", i)
	}
	return out
}

func TestSendExactlyOnceWithLanguagesAndHeaders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 250, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	rep, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recipients != 250 || rep.Sent != 250 || rep.Failed != 0 {
		t.Fatalf("report = %+v", rep)
	}
	emails := e.srv.Emails()
	assertOnce(t, emails, audienceEmails(250))
	if got := e.srv.Requests(); got != 3 {
		t.Errorf("%d API calls for 250 recipients, want 3 batches", got)
	}
	for _, m := range emails {
		english := isMultipleOf5(m.To[0])
		if english != (m.Subject == "The March letter") {
			t.Fatalf("%s got %q", m.To[0], m.Subject)
		}
		if !strings.HasPrefix(m.Headers["List-Unsubscribe"], "<https://asso.example.org/nl/unsubscribe?token=") ||
			m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Fatalf("headers = %v", m.Headers)
		}
		if !strings.Contains(m.HTML, `href="https://asso.example.org/nl/unsubscribe?token=`) || m.Text == "" {
			t.Fatalf("no visible unsubscribe link or no text part for %s", m.To[0])
		}
	}
	// A finished campaign sends nothing.
	rep, err = n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || !rep.AlreadyDone || len(e.srv.Emails()) != 250 {
		t.Fatalf("second send: %+v, %v, %d emails", rep, err, len(e.srv.Emails()))
	}
	st, _ := n.CampaignStats(ctx, "mars")
	if st.Sent != 250 || st.ByLanguage["en"] != 50 || st.ByLanguage["fr"] != 200 || st.Campaign.Status != newsletter.StatusSent {
		t.Errorf("stats = %+v", st)
	}
}

// Someone whose language has no variant gets the first one given.
func TestLanguageWithoutVariantGetsTheFirst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 10, crm.List{Name: "lettre"})
	for _, addr := range []string{"p00000@example.org", "p00001@example.org"} { // en, fr
		id, _ := e.db.SupporterID(ctx, addr)
		de := "de"
		if _, err := e.db.UpdateSupporter(ctx, id, crm.SupporterUpdate{Language: &de}); err != nil {
			t.Fatal(err)
		}
	}
	n := e.newsletter(t)
	_, err := n.CreateCampaign(ctx, newsletter.CampaignSpec{Name: "mars", List: "lettre", From: "Asso <news@asso.example.org>",
		Templates: []newsletter.TemplateSource{{Language: "en", Source: tplEN}, {Language: "fr", Source: tplFR}}})
	if err != nil {
		t.Fatal(err)
	}
	// Before the send, the draft's audience is counted the same way.
	p, err := n.DryRun(ctx, "mars")
	if err != nil || p.Recipients != 10 || p.ByLanguage["en"] != 3 || p.ByLanguage["fr"] != 7 || len(p.ByLanguage) != 2 {
		t.Fatalf("dry run: %+v, %v", p, err)
	}
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range e.srv.Emails() {
		got[m.To[0]] = m.Subject
	}
	want := map[string]string{"p00000@example.org": "The March letter", "p00001@example.org": "The March letter",
		"p00002@example.org": "La lettre de mars", "p00005@example.org": "The March letter"}
	for addr, subject := range want {
		if got[addr] != subject {
			t.Errorf("%s got %q, want %q", addr, got[addr], subject)
		}
	}
	st, _ := n.CampaignStats(ctx, "mars")
	if st.ByLanguage["en"] != 3 || st.ByLanguage["fr"] != 7 || len(st.ByLanguage) != 2 {
		t.Errorf("by language: %v", st.ByLanguage)
	}
}

func isMultipleOf5(addr string) bool {
	var i int
	fmt.Sscanf(addr, "p%05d@", &i)
	return i%5 == 0
}

func TestConsentExclusions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db
	for _, l := range []crm.List{{Name: "lettre"}, {Name: "alertes", DoubleOptIn: true}} {
		if err := db.CreateList(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	add := func(email string, tags ...string) int64 {
		s := &crm.Supporter{Email: email, Tags: tags, Language: "fr"}
		if err := db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	sub := func(id int64, list string, confirmed bool) {
		if _, err := db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: id, List: list, Confirmed: confirmed,
			Consent: crm.Consent{Source: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	ok := add("ok@example.org", "terrain")
	sub(ok, "lettre", false)
	sub(ok, "alertes", true)
	left := add("left@example.org", "terrain")
	sub(left, "lettre", false)
	db.Unsubscribe(ctx, left, "lettre", crm.Consent{Source: "test"})
	pending := add("pending@example.org", "terrain")
	sub(pending, "alertes", false) // never confirmed
	bounced := add("bounced@example.org", "terrain")
	sub(bounced, "lettre", false)
	db.SetEmailStatus(ctx, bounced, crm.EmailBounced, crm.Consent{Source: "test"})
	complained := add("complained@example.org", "terrain")
	sub(complained, "lettre", false)
	db.SetEmailStatus(ctx, complained, crm.EmailComplained, crm.Consent{Source: "test"})
	other := add("other@example.org", "presse")
	sub(other, "lettre", false)
	add("never@example.org", "terrain")

	n := e.newsletter(t)
	e.campaign(t, n, "c1", "lettre", "tag:terrain")
	e.campaign(t, n, "c2", "alertes", "")
	p, err := n.DryRun(ctx, "c1")
	if err != nil || p.Recipients != 1 || p.First == nil || p.First.To != "ok@example.org" {
		t.Fatalf("dry run = %+v, %v", p, err)
	}
	if len(e.srv.Emails()) != 0 {
		t.Fatal("dry run sent mail")
	}
	if _, err := n.Send(ctx, "c1", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "c2", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range e.srv.Emails() {
		got = append(got, m.To[0])
	}
	sort.Strings(got)
	if want := []string{"ok@example.org", "ok@example.org"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sent to %v, want %v", got, want)
	}
}

// gate is a Sender that waits until told before passing batches on.
type gate struct {
	next    newsletter.Sender
	wait    chan struct{}
	started chan struct{}
	once    sync.Once
}

func (g *gate) SendBatch(ctx context.Context, key string, msgs []newsletter.Message) ([]newsletter.Result, error) {
	g.once.Do(func() { close(g.started) })
	<-g.wait
	return g.next.SendBatch(ctx, key, msgs)
}

// sendHeldAtGate starts sending the campaign name in a goroutine through
// a gate in front of the env's sender, and returns once the first batch
// is held there; done receives Send's error when the send ends.
func (e *env) sendHeldAtGate(ctx context.Context, t testing.TB, n *newsletter.Newsletter, name string) (*gate, chan error) {
	g := &gate{next: e.sender(t), wait: make(chan struct{}), started: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := n.Send(ctx, name, g, newsletter.SendOptions{})
		done <- err
	}()
	<-g.started
	return g, done
}

func TestLeaseRefusesASecondSender(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 150, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	g, done := e.sendHeldAtGate(ctx, t, n, "mars")
	_, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if crm.IsPostgresDSN(e.path) {
		// On PostgreSQL the second sender takes the batches the first has
		// not claimed.
		if err != nil {
			t.Errorf("second sender on PostgreSQL: %v", err)
		}
	} else if !errors.Is(err, newsletter.ErrBusy) {
		t.Errorf("second sender: %v, want ErrBusy", err)
	}
	close(g.wait)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(150))
}

// crashAt is a Sender that panics, like a process killed, before or after
// handing the nth batch to the API.
type crashAt struct {
	next  newsletter.Sender
	n     int
	after bool
	calls int
}

type crash struct{}

func (c *crashAt) SendBatch(ctx context.Context, key string, msgs []newsletter.Message) ([]newsletter.Result, error) {
	c.calls++
	if c.calls == c.n && !c.after {
		panic(crash{})
	}
	res, err := c.next.SendBatch(ctx, key, msgs)
	if c.calls == c.n && c.after {
		panic(crash{})
	}
	return res, err
}

func sendUntilCrash(n *newsletter.Newsletter, name string, s newsletter.Sender) (crashed bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	_, err = n.Send(context.Background(), name, s, newsletter.SendOptions{})
	return false, err
}

func TestCrashAndResume(t *testing.T) {
	for _, tt := range []struct {
		name  string
		batch int
		after bool
		fault resendtest.Fault
	}{
		{"before the first call", 1, false, 0},
		{"before a middle call", 2, false, 0},
		{"after the answer, before the commit", 2, true, 0},
		{"after the last answer, before the commit", 3, true, 0},
		{"answer lost, then crash before the retry", 2, false, resendtest.FaultLostAnswer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.addAudience(t, 250, crm.List{Name: "lettre"})
			n := e.newsletter(t)
			e.campaign(t, n, "mars", "lettre", "")
			if tt.fault != 0 {
				// The second request goes through but its answer is lost;
				// the engine retries, and the process dies before that.
				e.srv.InjectFaults(0, tt.fault)
			}
			s := &crashAt{next: e.sender(t), n: tt.batch, after: tt.after}
			if tt.fault != 0 {
				s.n = 3 // the retry of batch 2
			}
			crashed, err := sendUntilCrash(n, "mars", s)
			if !crashed {
				t.Fatalf("no crash (err %v)", err)
			}
			// A new process resumes at once, with no wait for the lease or
			// the claims to expire: the dead sender is seen to be gone
			// (its Send no longer runs in this process on SQLite, its
			// session ended on PostgreSQL). TestKillAndResume does it with
			// real processes.
			rep, err := e.newsletter(t).Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{})
			if err != nil || rep.Unfinished != 0 {
				t.Fatalf("resume at once: %+v, %v", rep, err)
			}
			assertOnce(t, e.srv.Emails(), audienceEmails(250))
			st, _ := n.CampaignStats(context.Background(), "mars")
			if st.Sent != 250 || st.Pending != 0 || rep.Recipients != 250 {
				t.Errorf("stats %+v, report %+v", st, rep)
			}
		})
	}
}

// A batch left in flight by a crash more than 23 hours ago is not sent
// again (Resend would have forgotten its key): its recipients are marked
// failed as uncertain, and the rest go on.
func TestResumeAfterTheIdempotencyWindow(t *testing.T) {
	e := newEnv(t)
	e.addAudience(t, 250, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if crashed, _ := sendUntilCrash(n, "mars", &crashAt{next: e.sender(t), n: 2, after: true}); !crashed {
		t.Fatal("no crash")
	}
	e.clock.Advance(24 * time.Hour)
	rep, err := e.newsletter(t).Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uncertain != 100 || rep.Sent != 50 {
		t.Errorf("report = %+v", rep)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(250))
}

// Random 429s, 5xx before processing and lost answers over a 5,000-recipient
// campaign: everyone gets exactly one message.
func TestRandomFaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	faults := func(int) resendtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch r := rng.IntN(10); {
		case r == 0:
			return resendtest.FaultRateLimit
		case r == 1:
			return resendtest.FaultServerError
		case r == 2:
			return resendtest.FaultUnavailable
		case r == 3:
			return resendtest.FaultLostAnswer
		}
		return 0
	}
	e := newEnv(t, resendtest.Options{Faults: faults})
	e.addAudience(t, 5000, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	rep, err := n.Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{MaxRetries: 20})
	if err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(5000))
	if rep.Sent != 5000 || e.srv.Requests() <= 50 {
		t.Errorf("report %+v after %d requests", rep, e.srv.Requests())
	}
}

func TestQuotaStopsAndResumes(t *testing.T) {
	e := newEnv(t)
	e.addAudience(t, 300, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	e.srv.InjectFaults(0, resendtest.FaultDailyQuota)
	rep, err := n.Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{})
	if !errors.Is(err, newsletter.ErrQuota) || rep.Sent != 100 {
		t.Fatalf("quota: %+v, %v", rep, err)
	}
	if _, err := n.Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(300))
}

func TestRejectedRecipientFailsAndOthersGoOn(t *testing.T) {
	e := newEnv(t, resendtest.Options{Reject: func(to string) string {
		if to == "p00007@example.org" {
			return "This address is on the suppression list."
		}
		return ""
	}})
	e.addAudience(t, 20, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	rep, err := n.Send(context.Background(), "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Sent != 19 || rep.Failed != 1 {
		t.Fatalf("%+v, %v", rep, err)
	}
	st, _ := n.CampaignStats(context.Background(), "mars")
	if st.Failed != 1 || st.Sent != 19 {
		t.Errorf("stats %+v", st)
	}
}

// Someone who unsubscribes after the audience was frozen, before their
// batch goes out, is skipped.
func TestLateUnsubscribeIsSkipped(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 150, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if crashed, _ := sendUntilCrash(n, "mars", &crashAt{next: e.sender(t), n: 1}); !crashed {
		t.Fatal("no crash")
	}
	id, _ := e.db.SupporterID(ctx, "p00120@example.org")
	if _, err := e.db.Unsubscribe(ctx, id, "lettre", crm.Consent{Source: "web"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	rep, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if err != nil || rep.Skipped != 1 || rep.Sent != 149 {
		t.Fatalf("%+v, %v", rep, err)
	}
	want := audienceEmails(150)
	want = append(want[:120], want[121:]...)
	assertOnce(t, e.srv.Emails(), want)
}

// A provider event after a send lands on that campaign's delivery of the
// recipient, found through the address in the event; an event for an
// address the supporter has left since is about nobody.
func TestWebhookEventsFindTheDelivery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 120, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	emails := e.srv.Emails()
	byAddr := map[string]string{}
	for _, m := range emails {
		byAddr[m.To[0]] = m.ID
	}
	event := func(svix, typ, addr, id string) newsletter.WebhookResult {
		t.Helper()
		payload := fmt.Sprintf(`{"type":%q,"data":{"email_id":%q,"to":[%q],"bounce":{"type":"Permanent"}}}`, typ, id, addr)
		res, err := n.ApplyWebhook(ctx, svix, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	deliveries := func(addr string) []newsletter.DeliveryRecord {
		t.Helper()
		x, err := n.Export(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		return x.Extra["deliveries"].([]newsletter.DeliveryRecord)
	}
	if event("m1", "email.delivered", "Personne 7 <p00007@example.org>", byAddr["p00007@example.org"]) != newsletter.WebhookApplied {
		t.Fatal("delivered event not applied")
	}
	if ds := deliveries("p00007@example.org"); len(ds) != 1 || ds[0].Event != "delivered" || ds[0].ProviderID != byAddr["p00007@example.org"] {
		t.Fatalf("deliveries = %+v", ds)
	}
	// Another message's id with this address changes nothing of it.
	event("m2", "email.bounced", "p00008@example.org", byAddr["p00009@example.org"])
	if ds := deliveries("p00009@example.org"); ds[0].Event != "" {
		t.Errorf("the event of p00008 landed on p00009's delivery: %+v", ds)
	}
	if ds := deliveries("p00008@example.org"); ds[0].Event != "" {
		t.Errorf("an event with another message's id landed on this delivery: %+v", ds)
	}
	// p00010 moves to a new address; a bounce of the old one is ignored.
	id, _ := e.db.SupporterID(ctx, "p00010@example.org")
	addr := "new10@example.org"
	if _, err := e.db.UpdateSupporter(ctx, id, crm.SupporterUpdate{Email: &addr}); err != nil {
		t.Fatal(err)
	}
	if event("m3", "email.bounced", "p00010@example.org", byAddr["p00010@example.org"]) != newsletter.WebhookIgnored {
		t.Error("a bounce of an address nobody has now was applied")
	}
	if s, _ := e.db.GetSupporter(ctx, id); s.EmailStatus != crm.EmailOK {
		t.Errorf("the new address is marked %s", s.EmailStatus)
	}
}

// Four senders, each with its own connection as separate processes would
// have, share one 20,000-recipient campaign on PostgreSQL: everyone gets
// exactly one message and the work is split.
func TestFourSendersShareOnPostgres(t *testing.T) {
	e := newEnv(t, resendtest.Options{CountOnly: true})
	if !crm.IsPostgresDSN(e.path) {
		t.Skip("sharing a campaign between senders is PostgreSQL's (set " + crmtest.PostgresEnv + "); on SQLite a second sender is refused")
	}
	const recipients = 20000
	e.addAudience(t, recipients, crm.List{Name: "lettre"})
	e.campaign(t, e.newsletter(t), "mars", "lettre", "")
	ctx := context.Background()
	var wg sync.WaitGroup
	sent := make([]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		db, err := crm.Open(ctx, e.path, crm.WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n, err := newsletter.New(ctx, db, newsletter.WithClock(e.clock.Now), newsletter.WithPublicURL("https://asso.example.org/nl"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{Owner: fmt.Sprintf("sender-%d", i)})
			errs[i] = err
			if rep != nil {
				sent[i] = rep.Sent
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("sender %d: %v", i, err)
		}
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(recipients))
	working, total := 0, 0
	for _, k := range sent {
		total += k
		if k > 0 {
			working++
		}
	}
	t.Logf("messages sent by each sender: %v", sent)
	if total != recipients || working < 2 {
		t.Errorf("senders sent %v: want %d in all, shared", sent, recipients)
	}
	st, _ := e.newsletter(t).CampaignStats(ctx, "mars")
	if st.Campaign.Status != newsletter.StatusSent || st.Sent != recipients {
		t.Errorf("campaign %s, %d sent", st.Campaign.Status, st.Sent)
	}
}
