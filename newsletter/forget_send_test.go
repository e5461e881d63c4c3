package newsletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
)

// addresses for TestForgetDuringAStoppedSend, by position in the
// audience: in the batch left in flight (the second), in the one after it
// and in the last.
var forgetAddrs = map[int]string{150: "ann+lettre&co@example.org", 250: "bob+x&y@example.org", 320: "cy&d+e@example.org"}

// addForgetAudience imports 350 subscribers, the addresses of forgetAddrs
// at their positions, and returns every address in order.
func addForgetAudience(t *testing.T, e *env) []string {
	t.Helper()
	ctx := context.Background()
	if err := e.db.CreateList(ctx, &crm.List{Name: "lettre"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("email,first_name,language\n")
	var all []string
	for i := range 350 {
		addr := fmt.Sprintf("p%05d@example.org", i)
		if a, ok := forgetAddrs[i]; ok {
			addr = a
		}
		all = append(all, addr)
		fmt.Fprintf(&b, "%s,Personne %d,fr\n", addr, i)
	}
	rep, err := e.db.ImportSupporters(ctx, strings.NewReader(b.String()), crm.ImportOptions{List: "lettre", Consent: "test"})
	if err != nil || rep.Created != 350 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	return all
}

// A send is killed with its second batch in flight; three people are
// erased: one in that batch, one in the next (prepared or pending), one
// in the last. Their addresses hold & (which JSON stores as \u0026) and
// +. The send resumes against a Resend that received the batch in flight
// and against one that did not: nobody else is lost or mailed twice, the
// two not in flight are never mailed, the one in flight is mailed at
// most once and Forget said it may have been, and no byte of the three
// addresses is left in the database once the send is over.
func TestForgetDuringAStoppedSend(t *testing.T) {
	for _, received := range []bool{true, false} {
		t.Run(fmt.Sprintf("received=%v", received), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			all := addForgetAudience(t, e)
			n := e.newsletter(t)
			e.campaign(t, n, "mars", "lettre", "")
			// after=true: the request reached the fake, which sent the
			// batch; after=false: the batch was marked in flight and the
			// process died before the request left.
			if crashed, err := sendUntilCrash(n, "mars", &crashAt{next: e.sender(t), n: 2, after: received}); !crashed {
				t.Fatalf("no crash (err %v)", err)
			}
			var mailedBefore []string
			for _, m := range e.srv.Emails() {
				mailedBefore = append(mailedBefore, m.To[0])
			}
			for pos, addr := range forgetAddrs {
				rep, err := n.Forget(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				inFlight := pos/newsletter.BatchSize == 1
				if got := slices.Equal(rep.MayHaveBeenMailed, []string{"mars"}); got != inFlight {
					t.Errorf("forget %s (position %d): may have been mailed %v", addr, pos, rep.MayHaveBeenMailed)
				}
			}
			rep, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
			if err != nil || rep.Unfinished != 0 {
				t.Fatalf("resume: %+v, %v", rep, err)
			}
			// Everyone once, but the two erased outside the batch in
			// flight, never; the one in it was mailed once, before the
			// erasure (received) or by the resume, as Forget warned.
			var want []string
			for _, a := range all {
				if a != forgetAddrs[250] && a != forgetAddrs[320] {
					want = append(want, a)
				}
			}
			assertOnce(t, e.srv.Emails(), want)
			if received != slices.Contains(mailedBefore, forgetAddrs[150]) {
				t.Errorf("before the erasure, %s mailed: %v", forgetAddrs[150], !received)
			}
			st, _ := n.CampaignStats(ctx, "mars")
			if st.Campaign.Status != newsletter.StatusSent || st.Pending != 0 || st.Skipped != 2 {
				t.Errorf("stats %+v", st)
			}
			assertAddressesGone(t, e, slices.Collect(mapsValues(forgetAddrs)))
		})
	}
}

// A send is running: batch 1 is with the provider and batch 2 prepared
// behind it when someone in batch 2 is erased. Batch 2 goes out without
// them, to everyone else.
func TestForgetDuringALiveSend(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	all := addForgetAudience(t, e)
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	g, done := e.sendHeldAtGate(ctx, t, n, "mars")
	// Wait for batch 2 (the second one, holding position 150) to be
	// prepared.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("batch 2 was never prepared")
		}
		var status string
		if err := dbutil.DB(e.db).NewSelect().Table("newsletter_batches").Column("status").
			Where("batch = 1").Scan(ctx, &status); err != nil {
			t.Fatal(err)
		}
		if status == "prepared" {
			break
		}
	}
	rep, err := e.newsletter(t).Forget(ctx, forgetAddrs[150])
	if err != nil || len(rep.MayHaveBeenMailed) != 0 {
		t.Fatalf("forget: %+v, %v", rep, err)
	}
	close(g.wait)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(all, func(a string) bool { return a == forgetAddrs[150] })
	assertOnce(t, e.srv.Emails(), want)
	assertAddressesGone(t, e, []string{forgetAddrs[150]})
}

func mapsValues(m map[int]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// assertAddressesGone checks that no stored batch payload nor delivery
// holds the addresses (in plain or JSON-escaped form), and on SQLite that
// the raw database files hold no trace of them, while the database is
// still open and after it is closed.
func assertAddressesGone(t *testing.T, e *env, addrs []string) {
	t.Helper()
	ctx := context.Background()
	var forms []string
	for _, a := range addrs {
		// The address as such and JSON-escaped, and what is on either
		// side of its &, as a text replace would leave it.
		amp := strings.IndexByte(a, '&')
		forms = append(forms, a, strings.ReplaceAll(a, "&", `\u0026`), a[amp+1:])
		if amp >= 5 {
			forms = append(forms, a[:amp])
		}
	}
	for _, f := range forms {
		k, err := dbutil.DB(e.db).NewSelect().Table("newsletter_batches").Where("payload LIKE ?", "%"+f+"%").Count(ctx)
		if err != nil || k != 0 {
			t.Errorf("%d stored payloads hold %q (%v)", k, f, err)
		}
		k, err = dbutil.DB(e.db).NewSelect().Table("newsletter_deliveries").Where("email LIKE ?", "%"+f+"%").Count(ctx)
		if err != nil || k != 0 {
			t.Errorf("%d deliveries hold %q (%v)", k, f, err)
		}
	}
	if crm.IsPostgresDSN(e.path) {
		return // PostgreSQL's files are the server's
	}
	scan := func(when string) {
		for _, suffix := range []string{"", "-wal"} {
			raw, err := os.ReadFile(e.path + suffix)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range forms {
				if bytes.Contains(raw, []byte(f)) {
					t.Errorf("%s: %q is still in %s", when, f, filepath.Base(e.path+suffix))
				}
			}
		}
	}
	scan("database open")
	e.db.Close()
	scan("database closed")
}
