package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

// A preference form posted while the person is being erased either
// lands before the erasure (which then undoes it) or is refused: an
// erased row never ends up subscribed or with interests. The check that a
// link's supporter is not erased is also made inside crm's write
// transactions, where it cannot race.
func TestPreferencesRacingForget(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	for i := range 20 {
		email := fmt.Sprintf("race%d@example.org", i)
		s := &crm.Supporter{Email: email}
		if err := w.db.CreateSupporter(ctx, s); err != nil {
			t.Fatal(err)
		}
		prefs := path(w.n.PreferencesURL(s.ID))
		var wg sync.WaitGroup
		wg.Add(2)
		codes := make(chan int, 1)
		go func() {
			defer wg.Done()
			code, _ := w.do(t, "POST", prefs, url.Values{"lists": {"lettre", "alertes"}, "interests": {"terrain"}}.Encode(), nil)
			codes <- code
		}()
		go func() {
			defer wg.Done()
			if _, err := w.n.Forget(ctx, email); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if code := <-codes; code >= 500 {
			t.Errorf("race %d: the form got %d", i, code)
		}
		got, err := w.db.GetSupporter(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		subs, _ := w.db.Subscriptions(ctx, s.ID)
		for _, sub := range subs {
			if sub.Status != crm.StatusUnsubscribed {
				t.Errorf("race %d: the erased row is %s to %s", i, sub.Status, sub.List)
			}
		}
		if got.ErasedAt.IsZero() || len(got.Interests) > 0 {
			t.Errorf("race %d: erased %v, interests %v", i, !got.ErasedAt.IsZero(), got.Interests)
		}
	}
}

// Every write about one supporter refuses an erased one with
// crm.ErrErased, and writes nothing.
func TestWritesRefusedForTheErased(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	s := &crm.Supporter{Email: "gone@example.org"}
	if err := e.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre",
		Consent: crm.Consent{Source: crm.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.newsletter(t).Forget(ctx, s.Email); err != nil {
		t.Fatal(err)
	}
	before, _ := e.db.ConsentHistory(ctx, s.ID)
	c := crm.Consent{Source: crm.SourceWeb}
	for name, err := range map[string]error{
		"subscribe": func() error {
			_, err := e.db.Subscribe(ctx, crm.SubscribeRequest{SupporterID: s.ID, List: "lettre", Consent: c, Confirmed: true})
			return err
		}(),
		"confirm":     func() error { _, err := e.db.Confirm(ctx, s.ID, "lettre", c); return err }(),
		"unsubscribe": func() error { _, err := e.db.Unsubscribe(ctx, s.ID, "", c); return err }(),
		"email status": func() error {
			_, err := e.db.SetEmailStatus(ctx, s.ID, crm.EmailBounced, c)
			return err
		}(),
		"update": func() error {
			lang := "en"
			_, err := e.db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{Language: &lang})
			return err
		}(),
		"tag": e.db.TagSupporter(ctx, s.ID, "x"),
	} {
		if !errors.Is(err, crm.ErrErased) {
			t.Errorf("%s on an erased supporter: %v, want ErrErased", name, err)
		}
	}
	if after, _ := e.db.ConsentHistory(ctx, s.ID); len(after) != len(before) {
		t.Errorf("consent events %d -> %d", len(before), len(after))
	}
}

// A record stored before the bounds existed (a long note) can still be
// edited, and the preference page still works for its owner; what a
// change adds is held to the bounds.
func TestOldRecordsOverTheBoundsStayEditable(t *testing.T) {
	w := newWeb(t)
	ctx := context.Background()
	s := &crm.Supporter{Email: "old@example.org"}
	if err := w.db.CreateSupporter(ctx, s); err != nil {
		t.Fatal(err)
	}
	// As the previous version could store it.
	long := strings.Repeat("n", crm.MaxNotesLength+1)
	if _, err := dbutil.DB(w.db).NewUpdate().Table("supporters").Set("notes = ?", long).Where("id = ?", s.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := w.do(t, "POST", path(w.n.PreferencesURL(s.ID)), url.Values{"language": {"en"}}.Encode(), nil); code != 200 {
		t.Errorf("preferences of a record with a long note: %d", code)
	}
	if err := w.db.TagSupporter(ctx, s.ID, "x"); err != nil {
		t.Errorf("tag: %v", err)
	}
	longer := long + "n"
	if _, err := w.db.UpdateSupporter(ctx, s.ID, crm.SupporterUpdate{Notes: &longer}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("a longer note was accepted: %v", err)
	}
}

// The placeholder domain of erased supporters is nobody's: taking
// supporter-N@erased.invalid would make N's erasure collide with it.
func TestErasedDomainIsReserved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &crm.Supporter{Email: "a@example.org"}
	if err := e.db.CreateSupporter(ctx, a); err != nil {
		t.Fatal(err)
	}
	ph := crm.ErasedAddress(a.ID)
	if err := e.db.CreateSupporter(ctx, &crm.Supporter{Email: ph}); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("create %s: %v", ph, err)
	}
	rep, err := e.db.ImportSupporters(ctx, strings.NewReader("email\n"+ph+"\n"), crm.ImportOptions{})
	if err != nil || rep.Created != 0 || rep.Rejected != 1 {
		t.Errorf("import of %s: %+v, %v", ph, rep, err)
	}
	if _, err := e.newsletter(t).Forget(ctx, "a@example.org"); err != nil {
		t.Errorf("forget: %v", err)
	}
}

// A webhook refused for its signature is logged without letting a client
// write megabytes into the log.
func TestWebhookRefusalLogIsBounded(t *testing.T) {
	var logs lockedBuffer
	w := newWeb(t)
	newsletter.SetLogger(w.n, slog.New(slog.NewTextHandler(&logs, nil)))
	code, _ := w.do(t, "POST", "/nl/webhooks/resend", `{"type":"x"}`, map[string]string{"Content-Type": "application/json",
		"svix-id": strings.Repeat("A", 500000), "svix-timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"svix-signature": "v1," + strings.Repeat("B", 100000)})
	if code != 401 {
		t.Errorf("unsigned webhook: %d", code)
	}
	if n := len(logs.String()); n == 0 || n > 2000 {
		t.Errorf("one refused webhook wrote %d bytes of log", n)
	}
}
