package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

const from = "Asso <news@asso.example.org>"

// welcomeOn gives the list the package's default welcome, in French and
// English.
func welcomeOn(t *testing.T, n *newsletter.Newsletter, list string) {
	t.Helper()
	if err := n.SetListTemplates(context.Background(), list, newsletter.NoticeWelcome, []newsletter.ListTemplate{
		{Language: "fr", Source: newsletter.DefaultWelcome("fr")}, {Language: "en", Source: newsletter.DefaultWelcome("en")},
	}); err != nil {
		t.Fatal(err)
	}
}

func subjects(srv *resendtest.Server, part string) []resendtest.Email {
	var out []resendtest.Email
	for _, e := range srv.Emails() {
		if strings.Contains(e.Subject, part) {
			out = append(out, e)
		}
	}
	return out
}

// noticeStatuses returns the statuses of the notices, in order, and
// fails if a resolved one kept its message.
func noticeStatuses(t *testing.T, db *crm.DB) []string {
	t.Helper()
	var rows []struct {
		Status  string `bun:"status"`
		Payload string `bun:"payload"`
	}
	if err := dbutil.DB(db).NewSelect().Table("newsletter_notices").Column("status", "payload").Order("id").
		Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.Status != "pending" && r.Status != "in_flight" && r.Payload != "" {
			t.Errorf("a %s notice kept its message", r.Status)
		}
		out = append(out, r.Status)
	}
	return out
}

// The welcome goes once when the subscription becomes subscribed: at
// once on a single opt-in list, after the confirmation on a double
// opt-in one, in the person's language, with a working unsubscribe link.
func TestWelcomeEmail(t *testing.T) {
	w := newWeb(t)
	welcomeOn(t, w.n, "lettre")
	welcomeOn(t, w.n, "alertes")
	form := url.Values{"email": {"lea@example.org"}, "first_name": {"Léa"}, "language": {"en"}, "lists": {"lettre", "alertes"}}
	if code, body := w.do(t, "POST", "/nl/subscribe", form.Encode(), nil); code != 200 {
		t.Fatalf("signup: %d %s", code, body)
	}
	welcomes := subjects(w.env.srv, "Welcome")
	if len(welcomes) != 1 || welcomes[0].Subject != "Welcome: La lettre" || !strings.Contains(welcomes[0].Text, "Hello Léa") {
		t.Fatalf("welcome after a single opt-in signup: %+v", welcomes)
	}
	if welcomes[0].Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("welcome headers: %v", welcomes[0].Headers)
	}
	confirms := subjects(w.env.srv, "Confirm your subscription")
	if len(confirms) != 1 {
		t.Fatalf("confirmations: %d", len(confirms))
	}
	confirm := strings.TrimPrefix(linkRE.FindString(confirms[0].Text), "https://asso.example.org")
	for range 2 { // a second click confirms nothing new and welcomes no one
		if code, body := w.do(t, "POST", confirm, "", nil); code != 200 {
			t.Fatalf("confirm: %d %s", code, body)
		}
	}
	if welcomes = subjects(w.env.srv, "Welcome"); len(welcomes) != 2 || welcomes[1].Subject != "Welcome: Alertes expulsions" {
		t.Fatalf("welcomes after the confirmation: %+v", welcomes)
	}
	unsub := strings.TrimPrefix(linkRE.FindString(welcomes[1].Text), "https://asso.example.org")
	if !strings.Contains(unsub, "/unsubscribe?") {
		t.Fatalf("no unsubscribe link in the welcome: %q", welcomes[1].Text)
	}
	if code, _ := w.do(t, "POST", unsub, "", nil); code != 200 || w.status(t, "lea@example.org", "alertes") != crm.StatusUnsubscribed {
		t.Fatalf("the welcome's unsubscribe link: %d %s", code, w.status(t, "lea@example.org", "alertes"))
	}
	if got := strings.Join(noticeStatuses(t, w.db), " "); got != "sent sent sent" {
		t.Errorf("notices: %s", got)
	}
}

// Two confirmations of one link at the same instant, and two senders
// sweeping the queue at once, send one welcome.
func TestSimultaneousConfirmationsWelcomeOnce(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	welcomeOn(t, w.n, "alertes")
	res, err := w.n.Signup(ctx, newsletter.SignupRequest{Email: "sam@example.org", Lists: []string{"alertes"}}, nil, "")
	if err != nil || res.ConfirmationSent || len(res.Confirmation) != 1 {
		t.Fatalf("signup without a sender: %+v %v", res, err)
	}
	s, err := w.db.GetSupporterByEmail(ctx, "sam@example.org")
	if err != nil {
		t.Fatal(err)
	}
	l, err := w.db.GetList(ctx, "alertes")
	if err != nil {
		t.Fatal(err)
	}
	token := tokenOf(w.n.ConfirmURL(s.ID, l.ID))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, _, err := w.n.ConfirmToken(ctx, token, crm.Consent{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, newsletter.ErrNothingToConfirm) {
			t.Fatal(err)
		}
	}
	sender := w.sender(t)
	for range 2 {
		wg.Go(func() {
			if _, err := w.n.SendNotices(ctx, sender, newsletter.NoticeOptions{From: from}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(subjects(w.env.srv, "Bienvenue")); got != 1 {
		t.Fatalf("%d welcome emails, want 1", got)
	}
	// The confirmation queued without a sender was skipped: confirmed
	// before it went, it had nothing left to ask.
	if got := strings.Join(noticeStatuses(t, w.db), " "); got != "skipped sent" {
		t.Errorf("notices: %s", got)
	}
}

// A notice whose answer was lost after the provider sent it, then whose
// sender died, is sent again after the claim, with the same key and
// bytes: the provider answers without sending twice.
func TestNoticeResumedAfterLostAnswer(t *testing.T) {
	// While lose is set, the first request goes out and its answer is
	// lost, and the provider is down for the retries that follow.
	var mu sync.Mutex
	lose, calls := true, 0
	e := newEnv(t, resendtest.Options{Faults: func(int) resendtest.Fault {
		mu.Lock()
		defer mu.Unlock()
		if !lose {
			return 0
		}
		if calls++; calls == 1 {
			return resendtest.FaultLostAnswer
		}
		return resendtest.FaultServerError
	}})
	ctx := context.Background()
	if err := e.db.CreateList(ctx, &crm.List{Name: "alertes", DoubleOptIn: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	n := e.newsletter(t)
	res, err := n.Signup(ctx, newsletter.SignupRequest{Email: "ana+x@example.org", Lists: []string{"alertes"}}, e.sender(t), from)
	if err != nil || res.ConfirmationSent || res.NoticeError == nil {
		t.Fatalf("signup whose email's answer is lost: %+v %v", res, err)
	}
	if got := strings.Join(noticeStatuses(t, e.db), " "); got != "in_flight" {
		t.Fatalf("notices: %s", got)
	}
	mu.Lock()
	lose = false
	mu.Unlock()
	rep, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || rep.Sent != 1 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	emails := e.srv.Emails()
	if len(emails) != 1 {
		t.Fatalf("%d emails, want 1 (the provider dedupes the retry by its key)", len(emails))
	}
	if !strings.HasPrefix(emails[0].IdempotencyKey, "notice-") {
		t.Errorf("key %q", emails[0].IdempotencyKey)
	}
	// Past the provider's memory of keys, an unknown fate is never
	// retried.
	res, err = n.Signup(ctx, newsletter.SignupRequest{Email: "bo@example.org", Lists: []string{"alertes"}}, nil, "")
	if err != nil || !slicesContains(res.Confirmation, "alertes") {
		t.Fatal(res, err)
	}
	mu.Lock()
	lose, calls = true, 0
	mu.Unlock()
	if _, err := n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Hour)
	mu.Lock()
	lose = false
	mu.Unlock()
	rep, err = n.SendNotices(ctx, e.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || rep.Uncertain != 1 || rep.Sent != 0 {
		t.Fatalf("a day later: %+v %v", rep, err)
	}
	if got := strings.Join(noticeStatuses(t, e.db), " "); got != "sent uncertain" {
		t.Errorf("notices: %s", got)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Erasing someone drops their queued emails, and no queued email goes to
// them afterwards.
func TestErasureDropsQueuedNotices(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if _, err := w.n.Signup(ctx, newsletter.SignupRequest{Email: "gone@example.org", Lists: []string{"alertes"}}, nil, ""); err != nil {
		t.Fatal(err)
	}
	rep, err := w.n.Forget(ctx, "gone@example.org")
	if err != nil || rep.NoticesMayHaveGone != 0 {
		t.Fatal(rep, err)
	}
	nr, err := w.n.SendNotices(ctx, w.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || nr.Sent != 0 {
		t.Fatal(nr, err)
	}
	if len(w.env.srv.Emails()) != 0 {
		t.Fatal("an erased person was mailed")
	}
	if got := strings.Join(noticeStatuses(t, w.db), " "); got != "skipped" {
		t.Errorf("notices: %s", got)
	}
}

// A list's own confirmation email replaces the package's; a template
// that cannot confirm anything is refused.
func TestListConfirmationTemplate(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	err := w.n.SetListTemplates(ctx, "alertes", newsletter.NoticeConfirm, []newsletter.ListTemplate{
		{Language: "fr", Source: "---\nsubject: Un clic pour {{.List}}\n---\nBonjour, cliquez : {{.ConfirmURL}}\n"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"---\nsubject: x\n---\nno link\n", "Bonjour {{.ConfirmURL}}\n", "---\nsubject: x\n---\n{{.Prenom}} {{.ConfirmURL}}"} {
		err := w.n.SetListTemplates(ctx, "alertes", newsletter.NoticeConfirm, []newsletter.ListTemplate{{Language: "fr", Source: bad}})
		var te *newsletter.TemplateError
		if !errors.As(err, &te) {
			t.Errorf("template %q: %v, want a TemplateError", bad, err)
		}
	}
	if _, err := w.n.Signup(ctx, newsletter.SignupRequest{Email: "kim@example.org", Lists: []string{"alertes"}}, w.sender(t), from); err != nil {
		t.Fatal(err)
	}
	emails := w.env.srv.Emails()
	if len(emails) != 1 || emails[0].Subject != "Un clic pour Alertes expulsions" || !linkRE.MatchString(emails[0].Text) {
		t.Fatalf("custom confirmation: %+v", emails)
	}
	if strings.Contains(emails[0].Text, "Se désinscrire") {
		t.Errorf("a confirmation email offers to unsubscribe from a list the person is not on: %q", emails[0].Text)
	}
	ts, err := w.n.ListTemplates(ctx, "alertes")
	if err != nil || len(ts) != 1 || ts[0].Kind != newsletter.NoticeConfirm {
		t.Fatal(ts, err)
	}
}

// An import welcomes, when asked, only the people it newly subscribed,
// once.
func TestWelcomeImported(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	welcomeOn(t, w.n, "lettre")
	old := &crm.Supporter{Email: "old@example.org"}
	if err := w.db.CreateSupporter(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: old.ID, List: "lettre", Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	csv := "email,first_name\nold@example.org,Old\nnew1@example.org,Une\nnew2@example.org,Deux\n"
	rep, err := w.db.ImportSupporters(ctx, strings.NewReader(csv), crm.ImportOptions{FileName: "f.csv", List: "lettre", Consent: "papier"})
	if err != nil || rep.Subscribed != 2 || rep.ImportID == 0 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	ids, err := w.n.WelcomeImported(ctx, rep.ImportID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("welcomes: %v %v", ids, err)
	}
	if again, err := w.n.WelcomeImported(ctx, rep.ImportID); err != nil || len(again) != 0 {
		t.Fatalf("welcomes queued twice: %v %v", again, err)
	}
	nr, err := w.n.SendNotices(ctx, w.sender(t), newsletter.NoticeOptions{From: from})
	if err != nil || nr.Sent != 2 {
		t.Fatal(nr, err)
	}
	for _, e := range w.env.srv.Emails() {
		if e.To[0] == "old@example.org" {
			t.Error("someone already subscribed was welcomed")
		}
	}
}

// A template's mistake lists the fields of its kind: a campaign has no
// list, a welcome has the list, a confirmation also its links.
func TestTemplateFieldsByKind(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	const person = `FirstName, LastName, Email, City, Language, Attr "key", UnsubscribeURL, PreferencesURL, Association, PostalAddress`
	_, err := newsletter.ParseTemplate("fr", "---\nsubject: x\n---\n{{.List}}")
	if err == nil || !strings.HasSuffix(err.Error(), `unknown field "List"; fields are `+person) {
		t.Errorf("campaign: %v", err)
	}
	for _, tt := range []struct {
		kind newsletter.NoticeKind
		want string
	}{
		{newsletter.NoticeWelcome, "fields are " + person + ", List"},
		{newsletter.NoticeConfirm, "fields are " + person + ", List, ConfirmURL, ConfirmLinks"},
	} {
		err := w.n.SetListTemplates(ctx, "alertes", tt.kind, []newsletter.ListTemplate{
			{Language: "fr", Source: "---\nsubject: {{.List}}\n---\n{{.Prenom}} {{.ConfirmURL}}"}})
		if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("%s: %v, want the fields %q", tt.kind, err, tt.want)
		}
	}
	// What a kind has, it may use.
	if err := w.n.SetListTemplates(ctx, "alertes", newsletter.NoticeWelcome, []newsletter.ListTemplate{
		{Language: "fr", Source: "---\nsubject: {{.List}}\n---\n{{.FirstName}} {{.Association}}"}}); err != nil {
		t.Error(err)
	}
	if err := w.n.SetListTemplates(ctx, "alertes", newsletter.NoticeWelcome, []newsletter.ListTemplate{
		{Language: "fr", Source: "---\nsubject: {{.List}}\n---\n{{.ConfirmURL}}"}}); err == nil {
		t.Error("a welcome may use ConfirmURL, which it never has")
	}
}

// The built-in confirmation email greets the person by their first name
// when it is known, and names the association when its name is set.
func TestConfirmationGreetsByName(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	if err := w.db.SetSetting(ctx, "name", "Solidarité Calais"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []newsletter.SignupRequest{
		{Email: "lea@example.org", FirstName: "Léa", Lists: []string{"alertes"}},
		{Email: "kim@example.org", Language: "en", Lists: []string{"alertes"}},
	} {
		if _, err := w.n.Signup(ctx, r, w.sender(t), from); err != nil {
			t.Fatal(err)
		}
	}
	emails := w.env.srv.Emails()
	if len(emails) != 2 {
		t.Fatalf("%d emails", len(emails))
	}
	for i, want := range []string{
		"Bonjour Léa,\n\nPour recevoir « Alertes expulsions » de Solidarité Calais, confirmez",
		"Hello,\n\nTo receive “Alertes expulsions” from Solidarité Calais, confirm",
	} {
		if !strings.Contains(emails[i].Text, want) {
			t.Errorf("confirmation %d lacks %q:\n%s", i, want, emails[i].Text)
		}
	}
	if !strings.Contains(emails[0].HTML, "<p>Bonjour Léa,</p>") {
		t.Errorf("HTML: %s", emails[0].HTML)
	}
}

// EditListTemplates changes one language and keeps the others in their
// place; ListEmails says what each language gets.
func TestEditListTemplates(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	welcomeOn(t, w.n, "lettre")
	custom := "---\nsubject: Hi {{.List}}\n---\nHello\n"
	got, err := w.n.EditListTemplates(ctx, "lettre", newsletter.NoticeWelcome, []newsletter.ListTemplate{{Language: "fr", Source: custom}}, nil)
	if err != nil || len(got) != 2 || got[0].Language != "fr" || got[0].Source != custom || got[1].Source != newsletter.DefaultWelcome("en") {
		t.Fatalf("replace fr: %+v %v", got, err)
	}
	if got, err = w.n.EditListTemplates(ctx, "lettre", newsletter.NoticeWelcome, nil, []string{"fr"}); err != nil ||
		len(got) != 1 || got[0].Language != "en" {
		t.Fatalf("remove fr: %+v %v", got, err)
	}
	for _, tt := range []struct {
		set    []newsletter.ListTemplate
		remove []string
		want   error
	}{
		{nil, []string{"fr"}, crm.ErrNotFound},
		{[]newsletter.ListTemplate{{Language: "en", Source: custom}}, []string{"en"}, crm.ErrInvalid},
		{[]newsletter.ListTemplate{{Language: "fr", Source: "no subject"}}, nil, crm.ErrInvalid},
	} {
		if _, err := w.n.EditListTemplates(ctx, "lettre", newsletter.NoticeWelcome, tt.set, tt.remove); !errors.Is(err, tt.want) {
			t.Errorf("set %v remove %v: %v, want %v", tt.set, tt.remove, err, tt.want)
		}
	}
	emails, err := w.n.ListEmails(ctx, "lettre")
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, e := range emails {
		said = append(said, fmt.Sprintf("%s %s %s %s", e.Kind, e.Language, e.Source, e.From))
	}
	want := []string{"welcome fr default en", "welcome en default ", "confirm fr default ", "confirm en default "}
	if strings.Join(said, "|") != strings.Join(want, "|") {
		t.Errorf("ListEmails = %q, want %q", said, want)
	}
}
