package newsletter_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
	"github.com/assocrm/assocrm/newsletter"
	"github.com/assocrm/assocrm/newsletter/resendtest"
)

// A supporter is erased while the first Send of a campaign is freezing
// its audience. On PostgreSQL the freeze's INSERT ... SELECT is slowed
// down (a statement trigger sleeping 1.5 s), so its snapshot is taken
// before the erasure and its rows appear after it: the erasure must wait
// for the freeze and then clear the address from the new delivery. On
// SQLite the two are serialised by the write lock anyway. Either way the
// address is never mailed and no delivery keeps it.
func TestForgetDuringFreeze(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 300, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	const addr = "p00150@example.org"
	if crm.IsPostgresDSN(e.path) {
		for _, stmt := range []string{
			`CREATE FUNCTION slow_freeze() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$`,
			`CREATE TRIGGER slow_freeze BEFORE INSERT ON newsletter_deliveries FOR EACH STATEMENT EXECUTE FUNCTION slow_freeze()`,
		} {
			if _, err := dbutil.DB(e.db).ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan error)
	go func() {
		_, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	// On SQLite the send may be over, or past that batch, by now.
	mailedBefore := false
	for _, m := range e.srv.Emails() {
		mailedBefore = mailedBefore || m.To[0] == addr
	}
	rep, err := e.newsletter(t).Forget(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mailed := 0
	for _, m := range e.srv.Emails() {
		if m.To[0] == addr {
			mailed++
		}
	}
	if mailed > 1 || mailed == 1 && !mailedBefore && len(rep.MayHaveBeenMailed) == 0 {
		t.Errorf("%s was mailed %d times, though not before the erasure nor in a batch in flight", addr, mailed)
	}
	if crm.IsPostgresDSN(e.path) && mailed != 0 {
		t.Errorf("%s was mailed though erased while the audience was being frozen", addr)
	}
	k, err := dbutil.DB(e.db).NewSelect().Table("newsletter_deliveries").Where("email = ?", addr).Count(ctx)
	if err != nil || k != 0 {
		t.Errorf("%d deliveries still hold the erased address (%v)", k, err)
	}
}

// A supporter is erased after their batch's recipients were read
// (snapshotBatch) and before its payload is stored: the store must see
// that the batch changed (its generation) and read it again, so the
// stored payload never holds the erased address, the address is never
// mailed, and Forget does not say it may have been. Without the
// generation guard the old snapshot would be stored and sent.
func TestForgetBetweenSnapshotAndStore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 300, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	const addr = "p00150@example.org"
	var rep *newsletter.ForgetReport
	var forgetErr error
	erased := false
	newsletter.SetPrepareHook(n, func(stage string, batch int) {
		switch {
		case stage == "snapshot" && batch == 1 && !erased:
			erased = true
			rep, forgetErr = e.newsletter(t).Forget(ctx, addr)
		case stage == "stored" && batch == 1:
			k, err := dbutil.DB(e.db).NewSelect().Table("newsletter_batches").
				Where("payload LIKE ?", "%"+addr+"%").Count(ctx)
			if err != nil || k != 0 {
				t.Errorf("after the erasure, %d stored payloads hold the address (%v)", k, err)
			}
		}
	})
	if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !erased || forgetErr != nil {
		t.Fatalf("forget: erased %v, %v", erased, forgetErr)
	}
	if len(rep.MayHaveBeenMailed) != 0 {
		t.Errorf("may have been mailed: %v", rep.MayHaveBeenMailed)
	}
	var want []string
	for i := range 300 {
		if a := fmt.Sprintf("p%05d@example.org", i); a != addr {
			want = append(want, a)
		}
	}
	assertOnce(t, e.srv.Emails(), want)
	k, err := dbutil.DB(e.db).NewSelect().Table("newsletter_deliveries").Where("email = ?", addr).Count(ctx)
	if err != nil || k != 0 {
		t.Errorf("%d deliveries still hold the erased address (%v)", k, err)
	}
}

// Another program reads the database while a supporter is erased, so
// SQLite's log cannot be truncated after the erasure commits: Forget
// still returns its report (with an error wrapping crm.ErrLogBusy, not a
// bare failure), and the erasure holds. On PostgreSQL there is no log to
// truncate and Forget returns its report without error.
func TestForgetReportSurvivesABusyLog(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 3, crm.List{Name: "lettre"})
	if !crm.IsPostgresDSN(e.path) {
		reader, err := crm.Open(ctx, e.path)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		conn, err := dbutil.DB(reader).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// A read transaction left open: its snapshot keeps the log.
		var k int
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "ROLLBACK")
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM supporters").Scan(&k); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := e.newsletter(t).Forget(ctx, "p00001@example.org")
	if crm.IsPostgresDSN(e.path) {
		if err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, crm.ErrLogBusy) {
		t.Fatalf("forget with a reader open: %v, want crm.ErrLogBusy", err)
	}
	if rep == nil || rep.SupporterID == 0 {
		t.Fatalf("forget returned no report: %+v, %v", rep, err)
	}
	if _, err := e.db.GetSupporterByEmail(ctx, "p00001@example.org"); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("the supporter is still found after the erasure: %v", err)
	}
}

// A sender on this machine that is alive keeps its campaign after its
// lease expired (it may be waiting out retries or a rate limit, or the
// machine slept): a second sender is refused with ErrBusy, not let in to
// send the same campaign alongside it. (SQLite only: on PostgreSQL
// senders share a campaign.)
func TestLiveHolderKeepsAnExpiredLease(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if crm.IsPostgresDSN(e.path) {
		t.Skip("PostgreSQL senders share a campaign's batches: there is no lease")
	}
	e.addAudience(t, 250, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	g, done := e.sendHeldAtGate(ctx, t, n, "mars")
	e.clock.Advance(10 * time.Minute) // far past the one-minute lease
	_, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
	if !errors.Is(err, newsletter.ErrBusy) {
		t.Errorf("second sender while the first is alive, lease expired: %v, want ErrBusy", err)
	}
	close(g.wait)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(250))
}

// A sender waiting a long time between two batches keeps renewing its
// lease, so a sender on another machine, which cannot check that it is
// alive, does not take the campaign over once the lease would have
// expired. (SQLite only.)
func TestLeaseIsRenewedWhileWaiting(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if crm.IsPostgresDSN(e.path) {
		t.Skip("PostgreSQL senders share a campaign's batches: there is no lease")
	}
	e.addAudience(t, 100, crm.List{Name: "lettre"})
	n, err := newsletter.New(ctx, e.db, newsletter.WithClock(e.clock.Now),
		newsletter.WithPublicURL("https://asso.example.org/nl"), newsletter.WithLease(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e.campaign(t, n, "mars", "lettre", "")
	// One batch: no later batch's preparation renews the lease.
	g, done := e.sendHeldAtGate(ctx, t, n, "mars")
	e.clock.Advance(time.Hour) // the sender waits for an hour...
	var until time.Time
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := dbutil.DB(e.db).NewSelect().Table("newsletter_campaigns").Column("lease_until").
			Where("name = 'mars'").Scan(ctx, &until); err != nil {
			t.Fatal(err)
		}
		if until.After(e.clock.Now()) {
			break
		}
	}
	if !until.After(e.clock.Now()) {
		t.Errorf("the lease was not renewed while the sender waited: it ends at %s", until)
	}
	close(g.wait)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(100))
}

// On PostgreSQL, a sender whose session (the one holding its advisory
// lock, its proof of life) ends while it sends, as after a server
// restart or an idle timeout, stops with ErrSessionLost instead of going
// on claiming batches under a lock another sender may take; a new Send
// finishes the campaign, everyone once.
func TestSenderStopsWhenItsSessionEnds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if !crm.IsPostgresDSN(e.path) {
		t.Skip("SQLite senders hold a lease, not a session lock")
	}
	e.addAudience(t, 600, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	g, done := e.sendHeldAtGate(ctx, t, n, "mars")
	var key int64
	if err := dbutil.DB(e.db).NewSelect().Table("newsletter_batches").Column("owner_lock").
		Where("owner_lock <> 0").Limit(1).Scan(ctx, &key); err != nil {
		t.Fatal(err)
	}
	var ended bool
	if err := dbutil.DB(e.db).NewRaw(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
		AND objsubid = 1 AND classid = ? AND objid = ?`, int64(uint64(key)>>32), int64(uint64(key)&0xffffffff)).
		Scan(ctx, &ended); err != nil || !ended {
		t.Fatalf("ending the sender's session: %v, %v", ended, err)
	}
	time.Sleep(1100 * time.Millisecond) // past a check made before
	close(g.wait)
	if err := <-done; !errors.Is(err, newsletter.ErrSessionLost) {
		t.Fatalf("send after its session ended: %v, want ErrSessionLost", err)
	}
	if got := len(e.srv.Emails()); got >= 600 {
		t.Errorf("the sender went on to the end (%d sent) without its session", got)
	}
	if _, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	assertOnce(t, e.srv.Emails(), audienceEmails(600))
}

// A batch the provider refused for its quota was not sent: resumed more
// than 23 hours later (past the idempotency window), it is sent, not
// marked failed as uncertain. A batch with one attempt of unknown fate
// (an answer lost) before the quota refusal may have gone out: it is
// still marked uncertain after the window.
func TestQuotaRefusedBatchIsSentAfterTheWindow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		faults    []resendtest.Fault
		uncertain int
	}{
		{"refused", []resendtest.Fault{0, resendtest.FaultDailyQuota}, 0},
		{"lost answer then refused", []resendtest.Fault{0, resendtest.FaultLostAnswer, resendtest.FaultDailyQuota}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.addAudience(t, 300, crm.List{Name: "lettre"})
			n := e.newsletter(t)
			e.campaign(t, n, "mars", "lettre", "")
			e.srv.InjectFaults(tc.faults...)
			if _, err := n.Send(ctx, "mars", e.sender(t), newsletter.SendOptions{}); !errors.Is(err, newsletter.ErrQuota) {
				t.Fatalf("quota: %v", err)
			}
			e.clock.Advance(30 * time.Hour)
			rep, err := e.newsletter(t).Send(ctx, "mars", e.sender(t), newsletter.SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Uncertain != tc.uncertain {
				t.Errorf("resume after 30 h: %d uncertain, want %d (%+v)", rep.Uncertain, tc.uncertain, rep)
			}
			assertOnce(t, e.srv.Emails(), audienceEmails(300))
		})
	}
}

// Prune returns the report of each supporter it erased, so that a
// campaign that may have mailed one of them is said, as Forget says it.
func TestPruneReturnsTheForgetReports(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.addAudience(t, 2, crm.List{Name: "lettre"})
	n := e.newsletter(t)
	e.campaign(t, n, "mars", "lettre", "")
	if crashed, err := sendUntilCrash(n, "mars", &crashAt{next: e.sender(t), n: 1}); !crashed {
		t.Fatalf("no crash (err %v)", err)
	}
	id, err := e.db.SupporterID(ctx, "p00001@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Unsubscribe(ctx, id, "lettre", crm.Consent{Source: "web"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(4 * 365 * 24 * time.Hour)
	reps, err := e.newsletter(t).Prune(ctx, e.clock.Now().AddDate(-3, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].SupporterID != id || len(reps[0].MayHaveBeenMailed) != 1 || reps[0].MayHaveBeenMailed[0] != "mars" {
		t.Errorf("prune reports: %+v", reps)
	}
}
