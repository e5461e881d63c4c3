package newsletter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// BatchSize is how many messages go in one API call (Resend's maximum).
const BatchSize = 100

// idempotencyWindow is how long Resend keeps idempotency keys (24 h), less
// an hour of margin. A batch left in flight longer than that by a crash is
// not sent again, since it might then go out twice.
const idempotencyWindow = 23 * time.Hour

// SendOptions tunes a send. The zero value is fine.
type SendOptions struct {
	// Owner names this sender in the campaign's lease (default: random).
	Owner string
	// Progress, if set, is called after each batch with the deliveries
	// done (sent, failed or skipped) and the total.
	Progress func(done, total int)
	// MaxRetries bounds the retries of a batch after temporary failures
	// (default 8, with exponential backoff from 500 ms to 30 s).
	MaxRetries int
}

// SendReport says what a send did.
type SendReport struct {
	Campaign    string `json:"campaign"`
	Recipients  int    `json:"recipients"` // the frozen audience
	Sent        int    `json:"sent"`       // in this run
	Failed      int    `json:"failed"`
	Skipped     int    `json:"skipped"` // unsubscribed or bounced since the audience was frozen
	Uncertain   int    `json:"uncertain"`
	AlreadyDone bool   `json:"already_done"` // the campaign had been sent before: nothing was sent
	// Unfinished counts the batches left to another sender still
	// running (PostgreSQL), or held by a sender on another machine whose
	// claim has not expired: the campaign is not finished yet, and a
	// later Send goes on with them.
	Unfinished int           `json:"unfinished,omitempty"`
	Elapsed    time.Duration `json:"elapsed"`
}

// Send sends a campaign through sender, exactly once per recipient, in
// batches each sender claims for itself. The
// first call freezes the audience; a later call, after a crash or a
// stop, goes on where it stopped and never changes the audience or sends
// anyone twice: each batch's payload and idempotency key are stored
// before the API is called, and a retry sends the same bytes under the
// same key. A campaign already sent sends nothing (AlreadyDone). On
// SQLite, a process sending holds a lease on the campaign and another
// gets ErrBusy; on PostgreSQL, several processes share the batches, each
// recipient still once. A quota error stops cleanly with ErrQuota; the send can be
// resumed later.
//
// After a crash (kill -9, a power cut, a panic) the next Send resumes at
// once: on SQLite the lease names its holder's host and process (see
// holder), and a holder on this machine that is gone is taken over
// without waiting for the lease to expire, with the batches it had
// claimed; on PostgreSQL each sender holds a session-level advisory lock
// for the whole send, on a connection of the pool of its own, and the
// batches claimed under a session that ended are freed (see
// sessionLock). Only a holder on another machine, which cannot be
// checked, is waited for until its lease or claims expire.
func (n *Newsletter) Send(ctx context.Context, name string, sender Sender, opts SendOptions) (*SendReport, error) {
	start := time.Now()
	c, err := n.Campaign(ctx, name)
	if err != nil {
		return nil, err
	}
	rep := &SendReport{Campaign: c.Name, Recipients: c.Recipients}
	if c.Status == StatusSent {
		rep.AlreadyDone = true
		return rep, n.scrubResolved(ctx, c.ID)
	}
	if opts.Owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		opts.Owner = hex.EncodeToString(b)
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 8
	}
	// While this Send runs, its lease (SQLite) or its session lock
	// (PostgreSQL) says it is alive; when it ends, or its process dies,
	// another sender takes over its campaign or its batches at once.
	startRunning(opts.Owner)
	var lock *sessionLock
	if n.exclusive() {
		err = n.acquire(ctx, c, opts.Owner)
	} else {
		lock, err = n.lockSession(ctx)
	}
	if err != nil {
		stopRunning(opts.Owner)
		return nil, err
	}
	defer func() {
		r := recover()
		stopRunning(opts.Owner)
		if lock != nil {
			// A panic ends the session as a crash would.
			lock.end(r != nil)
		}
		if r != nil {
			// A panic leaves the lease, as a crash would: the state of the
			// batch in hand is not known here. The next Send sees that
			// this one is over and takes the campaign over.
			panic(r)
		}
		if n.exclusive() {
			n.release(context.WithoutCancel(ctx), c.ID, opts.Owner)
		}
	}()
	if n.exclusive() {
		stopKeeping := n.keepLease(ctx, c.ID, opts.Owner)
		defer stopKeeping()
	}
	if c, err = n.freeze(ctx, c.Name); err != nil {
		return nil, err
	}
	rep.Recipients = c.Recipients
	tpls, err := parseTemplates(c)
	if err != nil {
		return nil, err
	}
	err = n.pipeline(ctx, c, tpls, sender, opts, lock, rep)
	// Batches this sender claimed but did not finish go back to the pool,
	// for a later run or another sender. (A crash leaves them claimed
	// until the next sender sees that this one is dead: see acquire and
	// releaseDeadClaims.)
	if _, rerr := freeClaims(context.WithoutCancel(ctx), n.bun, "campaign_id = ? AND owner = ?", c.ID, opts.Owner); err == nil {
		err = rerr
	}
	if serr := n.scrubResolved(context.WithoutCancel(ctx), c.ID); err == nil {
		err = serr
	}
	if err != nil {
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	// Other senders may still be working on their batches; the one that
	// finds none left marks the campaign sent.
	left, err := n.bun.NewSelect().Table("newsletter_batches").Where(unfinished).
		Where("campaign_id = ?", c.ID).Count(ctx)
	if err != nil || left > 0 {
		rep.Unfinished = int(left)
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	_, err = n.bun.NewUpdate().Table("newsletter_campaigns").Set("status = ?", StatusSent).
		Set("finished_at = ?", n.clock()).Where("id = ?", c.ID).Exec(ctx)
	rep.Elapsed = time.Since(start)
	if n.logger != nil {
		n.logger.InfoContext(ctx, "newsletter: campaign sent", "campaign", c.Name, "sent", rep.Sent,
			"failed", rep.Failed, "skipped", rep.Skipped)
	}
	return rep, err
}

// exclusive reports whether one sender at a time sends a campaign. On
// SQLite (one machine, one file) a second sender is refused with ErrBusy;
// on PostgreSQL several senders share a campaign's batches.
func (n *Newsletter) exclusive() bool { return n.bun.Dialect().Name() != dialect.PG }

// acquire takes the campaign's lease, or returns ErrBusy while another
// sender holds it. A holder on this machine is checked: a dead one
// (holder.dead) is taken over at once, a live one (holder.alive) is
// refused even once its lease has expired. A holder on another machine
// cannot be checked: its lease is free once it expired, and a live
// sender keeps renewing it (keepLease). Taking the lease also frees every batch claim of the
// campaign: the lease being exclusive, they can only be a dead or
// finished sender's.
func (n *Newsletter) acquire(ctx context.Context, c *Campaign, owner string) error {
	var busy *leaseRow
	err := n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var l leaseRow
		if err := tx.NewSelect().Model(&l).Where("id = ?", c.ID).Scan(ctx); err != nil {
			return err
		}
		now := n.clock()
		h := l.holder()
		if l.Owner != "" && l.Owner != owner && (h.alive(l.Owner) || l.Until.After(now) && !h.dead(l.Owner)) {
			busy = &l
			return nil
		}
		me := thisProcess()
		if _, err := tx.NewUpdate().Table("newsletter_campaigns").
			Set("lease_owner = ?", owner).Set("lease_until = ?", now.Add(n.lease)).
			Set("lease_host = ?", me.Host).Set("lease_pid = ?", me.PID).Set("lease_pid_start = ?", me.Start).
			Where("id = ?", c.ID).Exec(ctx); err != nil {
			return err
		}
		_, err := freeClaims(ctx, tx, "campaign_id = ? AND owner <> ''", c.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("campaign %s: lease: %w", c.Name, err)
	}
	if busy != nil {
		if busy.Host == thisProcess().Host {
			return fmt.Errorf("campaign %s: %w (%s is sending it)", c.Name, ErrBusy, busy.holder())
		}
		return fmt.Errorf("campaign %s: %w (%s holds it until %s; if that process died, run again after that)",
			c.Name, ErrBusy, busy.holder(), busy.Until.Format(time.RFC3339))
	}
	return nil
}

// leaseRow is a campaign's lease.
type leaseRow struct {
	bun.BaseModel `bun:"table:newsletter_campaigns"`

	Owner string    `bun:"lease_owner"`
	Until time.Time `bun:"lease_until,nullzero"`
	Host  string    `bun:"lease_host"`
	PID   int       `bun:"lease_pid"`
	Start string    `bun:"lease_pid_start"`
}

func (l *leaseRow) holder() holder { return holder{Host: l.Host, PID: l.PID, Start: l.Start} }

// renew extends the lease inside a batch's transaction, and fails with
// ErrBusy if another owner took it over.
func (n *Newsletter) renew(ctx context.Context, tx bun.IDB, c *Campaign, owner string) error {
	if !n.exclusive() {
		return nil
	}
	now := n.clock()
	if until := c.LeaseUntil; c.LeaseOwner == owner && until.Sub(now) > n.lease*2/3 {
		return nil // renewed recently: nobody can have taken it over
	}
	res, err := tx.NewUpdate().Table("newsletter_campaigns").Set("lease_until = ?", now.Add(n.lease)).
		Where("id = ? AND lease_owner = ?", c.ID, owner).Exec(ctx)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fmt.Errorf("campaign %s: %w (the lease was taken over)", c.Name, ErrBusy)
	}
	c.LeaseOwner, c.LeaseUntil = owner, now.Add(n.lease)
	return nil
}

// keepLease renews the lease every third of its length until the
// returned function is called, so that a sender on another machine
// (a database file on a shared drive), which cannot check that this one
// is alive, does not take the campaign over while this one waits a long
// time between two batches: 8 retries backing off to 30 s, a long
// rate-limit wait, or a slow provider. It renews only a lease this owner
// still holds; the renewal inside each batch's transaction (renew) is
// what detects a lease lost anyway.
func (n *Newsletter) keepLease(ctx context.Context, id int64, owner string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(n.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A failure is retried at the next tick; the lease has two
			// more thirds to go.
			n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.NewUpdate().Table("newsletter_campaigns").Set("lease_until = ?", n.clock().Add(n.lease)).
					Where("id = ? AND lease_owner = ?", id, owner).Exec(ctx)
				return err
			})
		}
	}()
	return func() { cancel(); <-done }
}

func (n *Newsletter) release(ctx context.Context, id int64, owner string) {
	n.bun.NewUpdate().Table("newsletter_campaigns").Set("lease_owner = ''").Set("lease_until = NULL").
		Set("lease_host = ''").Set("lease_pid = 0").Set("lease_pid_start = ''").
		Where("id = ? AND lease_owner = ?", id, owner).Exec(ctx)
}

// freeze writes one delivery row per recipient, in batches of BatchSize,
// the first time a campaign is sent, and returns the campaign as it is
// now.
func (n *Newsletter) freeze(ctx context.Context, name string) (*Campaign, error) {
	var c *Campaign
	err := n.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if n.bun.Dialect().Name() == dialect.PG {
			// Senders starting together: one freezes, the others wait
			// here and then find the campaign sending.
			if _, err := tx.NewRaw("SELECT id FROM newsletter_campaigns WHERE name = ? FOR UPDATE", name).Exec(ctx); err != nil {
				return err
			}
		}
		var err error
		if c, err = getCampaign(ctx, tx, name); err != nil || c.Status != StatusDraft {
			return err
		}
		count, err := n.freezeAudience(ctx, tx, c)
		if err != nil {
			return err
		}
		now := n.clock()
		var batches []batchRow
		for b := 0; b*BatchSize < count; b++ {
			batches = append(batches, batchRow{CampaignID: c.ID, Batch: b,
				IdempotencyKey: batchKey(c, b), Status: "pending"})
			if len(batches) == 500 || (b+1)*BatchSize >= count {
				if _, err := tx.NewInsert().Model(&batches).Exec(ctx); err != nil {
					return fmt.Errorf("freeze batches: %w", err)
				}
				batches = batches[:0]
			}
		}
		c.Status, c.Recipients, c.StartedAt = StatusSending, count, now
		_, err = tx.NewUpdate().Model(c).Column("status", "recipients", "started_at").WherePK().Exec(ctx)
		return err
	})
	return c, err
}

// freezeAudience writes a pending delivery for each recipient the
// campaign has now, numbered into batches of BatchSize in supporter
// order, with the language variant each gets, and returns how many. One
// INSERT ... SELECT: the audience never travels through Go.
func (n *Newsletter) freezeAudience(ctx context.Context, tx bun.Tx, c *Campaign) (int, error) {
	q, err := n.audience(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	q = q.ColumnExpr("s.id, s.email, s.language")
	// variantFor in SQL: the recipient's language if a template has it,
	// else the first template's.
	langs := make([]string, len(c.Templates))
	for i, t := range c.Templates {
		langs[i] = t.Language
	}
	first := ""
	if len(langs) > 0 {
		first = langs[0]
	}
	res, err := tx.NewRaw(`INSERT INTO newsletter_deliveries (campaign_id, supporter_id, email, language, batch, status, updated_at)
		SELECT ?, a.id, a.email, CASE WHEN a.language IN (?) OR ? = '' THEN a.language ELSE ? END,
			(ROW_NUMBER() OVER (ORDER BY a.id) - 1) / ?, 'pending', ?
		FROM (?) AS a ORDER BY a.id`, c.ID, bun.List(langs), first, first, BatchSize, n.clock(), q).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("campaign %s: freeze audience: %w", c.Name, err)
	}
	k, err := res.RowsAffected()
	return int(k), err
}

// unfinished is the condition on newsletter_batches.status of a batch
// still to be sent: not yet handed over, or handed over with no answer
// recorded. (done and uncertain are final.)
const unfinished = "status IN ('pending', 'prepared', 'in_flight')"

// freeClaims gives the unfinished batches that where (with its bound
// args) selects back to the pool, for any sender to claim, and returns
// how many it freed.
func freeClaims(ctx context.Context, db bun.IDB, where string, args ...any) (int64, error) {
	res, err := db.NewUpdate().Table("newsletter_batches").Set("owner = ''").Set("claimed_until = NULL").
		Set("owner_lock = 0").Where(unfinished).Where(where, args...).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// batchKey is the idempotency key of a campaign's batch: the same for
// every attempt, in every process, so the provider sends it once.
func batchKey(c *Campaign, batch int) string {
	return "crm-" + c.UID + "-" + strconv.Itoa(batch)
}

// outcome is what recording a batch's result writes to a delivery: a
// model of those columns only, because bun's bulk UPDATE puts every
// column of its model in the statement.
type outcome struct {
	bun.BaseModel `bun:"table:newsletter_deliveries,alias:d"`

	ID         int64     `bun:"id,pk"`
	Status     string    `bun:"status"`
	ProviderID string    `bun:"provider_id"`
	Error      string    `bun:"error"`
	UpdatedAt  time.Time `bun:"updated_at"`
}

// batchRow is a batch's stored payload.
type batchRow struct {
	bun.BaseModel `bun:"table:newsletter_batches"`

	CampaignID     int64     `bun:"campaign_id,pk"`
	Batch          int       `bun:"batch,pk"`
	IdempotencyKey string    `bun:"idempotency_key"`
	Payload        string    `bun:"payload"`
	Status         string    `bun:"status"`
	AttemptedAt    time.Time `bun:"attempted_at,nullzero"`
	Owner          string    `bun:"owner"`
	ClaimedUntil   time.Time `bun:"claimed_until,nullzero"`
	OwnerLock      int64     `bun:"owner_lock"`
	Generation     int       `bun:"generation"`
	HoldsErased    int       `bun:"holds_erased"`
	Refused        int       `bun:"refused"`
}

func parseTemplates(c *Campaign) (map[string]*Template, error) {
	out := map[string]*Template{}
	for _, ts := range c.Templates {
		t, err := ParseTemplate(ts.Language, ts.Source)
		if err != nil {
			return nil, fmt.Errorf("campaign %s: template %s: %w", c.Name, ts.Language, err)
		}
		out[ts.Language] = t
	}
	return out, nil
}

// claim takes the first batch no sender is working on (or whose sender's
// claim expired) and marks it as this owner's. On PostgreSQL, several
// senders claim batches of one campaign at once: SKIP LOCKED lets each
// pass over the rows the others are claiming. On SQLite the write
// transaction already lets one claimer in at a time.
//
// It looks after the batch claimed before (after) first, so a long
// campaign is not read from its first batch at every claim, then from the
// start, for batches another sender gave up.
//
// lock is the sender's session lock key on PostgreSQL (0 on SQLite),
// written with the claim so that the claim ends with the session.
func (n *Newsletter) claim(ctx context.Context, c *Campaign, owner string, lock int64, after int) (int, bool, error) {
	var batch int
	found := false
	err := n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := n.clock()
		var bs []int
		for _, from := range []int{after + 1, 0} {
			q := tx.NewSelect().Table("newsletter_batches").Column("batch").
				Where(unfinished).Where("campaign_id = ? AND batch >= ?", c.ID, from).
				Where("(owner = '' OR claimed_until IS NULL OR claimed_until < ?)", now).
				Order("batch").Limit(1)
			if n.bun.Dialect().Name() == dialect.PG {
				q = q.For("UPDATE SKIP LOCKED")
			}
			if err := q.Scan(ctx, &bs); err != nil {
				return err
			}
			if len(bs) > 0 || from == 0 {
				break
			}
		}
		if len(bs) == 0 {
			return nil
		}
		batch, found = bs[0], true
		_, err := tx.NewUpdate().Table("newsletter_batches").Set("owner = ?", owner).
			Set("claimed_until = ?", now.Add(n.lease)).Set("owner_lock = ?", lock).
			Where("campaign_id = ? AND batch = ?", c.ID, batch).Exec(ctx)
		return err
	})
	return batch, found, err
}

// prepared is a batch ready to go: its key and messages, and what
// preparing it decided.
type prepared struct {
	batch int
	// generation is the batch's, as read when it was prepared.
	generation int
	// resumed is a batch found in flight: handed to the provider by an
	// earlier run, sent again as it was.
	resumed bool
	// refused is a batch found in flight whose every earlier request
	// the provider definitely refused (see pipeline).
	refused   bool
	key       string
	snap      []snapshot
	msgs      []Message
	skipped   int
	uncertain int
}

// pipeline prepares the next batch while the current one is with the
// provider, so the database, the templates and the network work at the
// same time. Batches are handed over in order, one at a time.
//
// A batch whose marking in flight finds it changed since it was prepared
// (Forget took someone out of it, or another sender took it over) is
// prepared again instead of sent: only a batch marked in flight, in a
// committed transaction, is ever handed to the provider.
func (n *Newsletter) pipeline(ctx context.Context, c *Campaign, tpls map[string]*Template, sender Sender,
	opts SendOptions, session *sessionLock, rep *SendReport) error {
	lock := session.key()
	pctx, cancel := context.WithCancel(ctx)
	type item struct {
		p   *prepared
		err error
	}
	ch := make(chan item, 1)
	go func() {
		defer close(ch)
		last := -1
		for {
			// A claim is only as good as the session lock it names.
			err := session.check(pctx)
			if err != nil {
				err = fmt.Errorf("campaign %s: %w", c.Name, err)
			}
			var batch int
			var ok bool
			if err == nil {
				batch, ok, err = n.claim(pctx, c, opts.Owner, lock, last)
			}
			if err == nil && !ok && lock != 0 {
				// Nothing left to claim: batches claimed by senders whose
				// session ended are ours to finish.
				var freed bool
				if freed, err = n.releaseDeadClaims(pctx, c, lock); err == nil && freed {
					continue
				}
			}
			if err == nil && !ok {
				return
			}
			last = batch
			var p *prepared
			if err == nil {
				p, err = n.prepare(pctx, c, tpls, batch, opts.Owner)
			}
			select {
			case ch <- item{p, err}:
			case <-pctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// sent is the batch the provider accepted whose outcome is not
	// recorded yet: it is recorded in the transaction that marks the next
	// batch in flight, one commit for both, and always before returning.
	var sent *prepared
	var sentResults []Result
	done := 0
	if opts.Progress != nil {
		k, err := n.bun.NewSelect().Table("newsletter_deliveries").
			Where("campaign_id = ? AND status <> 'pending'", c.ID).Count(ctx)
		if err != nil {
			cancel()
			return err
		}
		done = int(k)
	}
	progress := func(k int) {
		if opts.Progress != nil && k > 0 {
			done += k
			opts.Progress(done, c.Recipients)
		}
	}
	// advance records the batch sent before, if any, and marks next in
	// flight, if any, in one transaction. marked is false when next
	// changed since it was prepared: it must not be sent as it is.
	advance := func(next *prepared) (marked bool, err error) {
		if next != nil && next.resumed {
			next = nil // in flight already
		}
		if sent == nil && next == nil {
			return true, nil
		}
		failed := 0
		marked = true
		err = n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if sent != nil {
				var err error
				if failed, err = n.record(ctx, tx, c, sent, sentResults); err != nil {
					return err
				}
			}
			if next != nil {
				res, err := tx.NewUpdate().Table("newsletter_batches").Set("status = 'in_flight'").
					Set("attempted_at = ?", n.clock()).
					Where("campaign_id = ? AND batch = ? AND status = 'prepared'", c.ID, next.batch).
					Where("owner = ? AND generation = ?", opts.Owner, next.generation).Exec(ctx)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				marked = k == 1
			}
			return nil
		})
		if err == nil && sent != nil {
			// Counted once committed.
			rep.Failed += failed
			rep.Sent += len(sent.msgs) - failed
			progress(len(sent.msgs))
			sent, sentResults = nil, nil
		}
		return marked, err
	}
	stop := func(err error) error {
		cancel()
		for range ch {
		}
		if _, rerr := advance(nil); rerr != nil && err == nil {
			err = rerr
		}
		return err
	}
	defer cancel()
	for it := range ch {
		if it.err != nil {
			return stop(it.err)
		}
		p := it.p
		for {
			rep.Skipped += p.skipped
			rep.Uncertain += p.uncertain
			if len(p.msgs) == 0 {
				progress(p.skipped + p.uncertain)
				break
			}
			marked, err := advance(p)
			if err != nil {
				return stop(err)
			}
			if !marked {
				progress(p.skipped + p.uncertain)
				if p, err = n.prepare(ctx, c, tpls, p.batch, opts.Owner); err != nil {
					return stop(err)
				}
				continue
			}
			results, refused, err := n.deliver(ctx, sender, p.key, p.msgs, opts)
			if refused && (!p.resumed || p.refused) {
				// Every request of this batch was refused for certain
				// (this run's, and any earlier run's): nothing went out.
				// Marked so, a resume after the idempotency window sends
				// it instead of marking its recipients failed. A batch
				// with one attempt of unknown fate is not marked.
				if merr := n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
					_, err := tx.NewUpdate().Table("newsletter_batches").Set("refused = 1").
						Where("campaign_id = ? AND batch = ? AND status = 'in_flight' AND owner = ?", c.ID, p.batch, opts.Owner).
						Exec(ctx)
					return err
				}); merr != nil {
					err = errors.Join(err, merr)
				}
			}
			if err != nil {
				return stop(err)
			}
			sent, sentResults = p, results
			progress(p.skipped + p.uncertain)
			break
		}
	}
	return stop(nil)
}

// prepare readies one batch. A batch already handed to the provider
// (in flight) is rendered again from its stored snapshot, to send the same
// bytes under the same key; otherwise the recipients are checked again,
// snapshotted and stored before anything is sent.
func (n *Newsletter) prepare(ctx context.Context, c *Campaign, tpls map[string]*Template, batch int, owner string) (*prepared, error) {
	for {
		p, retry, err := n.prepareOnce(ctx, c, batch, owner)
		if err != nil {
			return nil, err
		}
		if retry {
			continue // the batch changed under us: read it again
		}
		// Rendering needs no lock: the snapshot is stored.
		p.msgs, err = n.renderAll(c, tpls, p.snap)
		return p, err
	}
}

// prepareOnce reads what a batch needs without the write lock, then
// stores the snapshot in one short transaction. It asks for a retry when
// the batch's status changed in between.
func (n *Newsletter) prepareOnce(ctx context.Context, c *Campaign, batch int, owner string) (*prepared, bool, error) {
	p := &prepared{batch: batch}
	var rows []batchRow
	if err := n.bun.NewSelect().Model(&rows).Where("campaign_id = ? AND batch = ?", c.ID, batch).Scan(ctx); err != nil {
		return nil, false, err
	}
	if len(rows) == 0 {
		return nil, false, fmt.Errorf("campaign %s: batch %d: %w", c.Name, batch, crm.ErrNotFound)
	}
	row := rows[0]
	if row.Owner != owner || row.Status == "done" || row.Status == "uncertain" {
		// Another sender took it over, or finished it: nothing to do here.
		return p, false, nil
	}
	if row.Status == "in_flight" && row.Refused != 0 {
		// Never sent: it goes again as it was, however long ago it was
		// refused. Cleared, with a new attempt time, before it goes:
		// what happens to this attempt is not known yet.
		err := n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.NewUpdate().Table("newsletter_batches").Set("refused = 0").Set("attempted_at = ?", n.clock()).
				Where("campaign_id = ? AND batch = ? AND status = 'in_flight' AND refused <> 0 AND owner = ?",
					c.ID, batch, owner).Exec(ctx)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return errChanged
			}
			return nil
		})
		if errors.Is(err, errChanged) {
			return p, true, nil
		} else if err != nil {
			return nil, false, err
		}
		row.AttemptedAt, p.refused = n.clock(), true
	}
	if row.Status == "in_flight" {
		if n.clock().Sub(row.AttemptedAt) > idempotencyWindow {
			err := n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
				k, err := n.markUncertain(ctx, tx, c, batch)
				p.uncertain = k
				return err
			})
			return p, false, err
		}
		if err := json.Unmarshal([]byte(row.Payload), &p.snap); err != nil {
			return nil, false, fmt.Errorf("campaign %s: batch %d: stored payload: %w", c.Name, batch, err)
		}
		p.key, p.resumed = row.IdempotencyKey, true
		return p, false, nil
	}
	p.generation = row.Generation
	snap, skipped, err := n.snapshotBatch(ctx, c, batch)
	if err != nil {
		return nil, false, err
	}
	p.snap, p.skipped = snap, len(skipped)
	if n.prepareHook != nil {
		n.prepareHook("snapshot", batch)
	}
	p.key = batchKey(c, batch)
	payload, err := json.Marshal(snap)
	if err != nil {
		return nil, false, err
	}
	status := "prepared"
	if len(snap) == 0 {
		status, payload = "done", nil
	}
	err = n.writeTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := n.renew(ctx, tx, c, owner); err != nil {
			return err
		}
		// Deliveries before their batch, in every transaction of the
		// engine and in Forget, so PostgreSQL never finds two of them
		// waiting on each other.
		if len(skipped) > 0 {
			if _, err := tx.NewUpdate().Table("newsletter_deliveries").Set("status = 'skipped'").
				Set("error = ?", "no longer subscribed, or mail to the address bounces").Set("updated_at = ?", n.clock()).
				Where("id IN (?) AND status = 'pending'", bun.List(skipped)).Exec(ctx); err != nil {
				return err
			}
		}
		// Unchanged since read: not erased from (generation), not taken
		// over (owner).
		res, err := tx.NewUpdate().Table("newsletter_batches").Set("payload = ?", string(payload)).
			Set("status = ?", status).Set("idempotency_key = ?", p.key).
			Where("campaign_id = ? AND batch = ? AND status IN ('pending', 'prepared')", c.ID, batch).
			Where("generation = ? AND owner = ?", p.generation, owner).Exec(ctx)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errChanged // undo the skips too: read the batch again
		}
		return nil
	})
	if errors.Is(err, errChanged) {
		return p, true, nil
	}
	if err == nil && n.prepareHook != nil {
		n.prepareHook("stored", batch)
	}
	return p, false, err
}

// errChanged rolls back the storing of a batch that changed since it was
// read.
var errChanged = errors.New("batch changed")

// record writes the outcome of each message of a batch the provider
// answered, marks the batch done, and returns how many failed.
func (n *Newsletter) record(ctx context.Context, tx bun.Tx, c *Campaign, p *prepared, results []Result) (int, error) {
	now := n.clock()
	outcomes := make([]outcome, len(p.msgs))
	failed := 0
	for i, m := range p.msgs {
		d := outcome{ID: m.DeliveryID, Status: "sent", ProviderID: results[i].ID, UpdatedAt: now}
		if results[i].Error != "" || results[i].ID == "" {
			d.Status, d.ProviderID, d.Error = "failed", "", results[i].Error
			if d.Error == "" {
				d.Error = "no id in the provider's answer"
			}
			failed++
		}
		outcomes[i] = d
	}
	if _, err := tx.NewUpdate().Model(&outcomes).Column("status", "provider_id", "error", "updated_at").
		Bulk().Exec(ctx); err != nil {
		return 0, fmt.Errorf("record batch %d: %w", p.batch, err)
	}
	_, err := tx.NewUpdate().Table("newsletter_batches").Set("status = 'done'").Set("payload = ''").
		Where("campaign_id = ? AND batch = ?", c.ID, p.batch).Exec(ctx)
	return failed, err
}

// writeTx runs fn in a transaction, after the engine's other writes in
// this process.
func (n *Newsletter) writeTx(ctx context.Context, fn func(context.Context, bun.Tx) error) error {
	n.writes.Lock()
	defer n.writes.Unlock()
	return n.bun.RunInTx(ctx, nil, fn)
}

// markUncertain gives up on a batch that was in flight longer than the
// provider keeps idempotency keys: it may or may not have gone out, and
// sending it again could send it twice.
func (n *Newsletter) markUncertain(ctx context.Context, tx bun.IDB, c *Campaign, batch int) (int, error) {
	res, err := tx.NewUpdate().Table("newsletter_deliveries").Set("status = 'failed'").
		Set("error = ?", "uncertain: in flight when a send stopped more than 23 hours ago; check the provider's logs").
		Set("updated_at = ?", n.clock()).
		Where("campaign_id = ? AND batch = ? AND status = 'pending'", c.ID, batch).Exec(ctx)
	if err != nil {
		return 0, err
	}
	k, _ := res.RowsAffected()
	_, err = tx.NewUpdate().Table("newsletter_batches").Set("status = 'uncertain'").Set("payload = ''").
		Where("campaign_id = ? AND batch = ?", c.ID, batch).Exec(ctx)
	return int(k), err
}

// snapshot is what a batch's messages are rendered from, stored before
// the first attempt so a retry renders the same bytes.
type snapshot struct {
	DeliveryID  int64             `json:"d"`
	SupporterID int64             `json:"s"`
	Language    string            `json:"l"`
	Email       string            `json:"e"`
	FirstName   string            `json:"f,omitempty"`
	LastName    string            `json:"n,omitempty"`
	City        string            `json:"c,omitempty"`
	Attributes  map[string]string `json:"a,omitempty"`
}

// snapshotBatch reads the batch's pending recipients as they are now:
// the snapshot of those who may still be sent the campaign, and the
// deliveries of those who unsubscribed, bounced or complained since the
// audience was frozen, to be skipped.
func (n *Newsletter) snapshotBatch(ctx context.Context, c *Campaign, batch int) ([]snapshot, []int64, error) {
	var ds []struct {
		ID          int64  `bun:"id"`
		SupporterID int64  `bun:"supporter_id"`
		Language    string `bun:"language"`
	}
	if err := n.bun.NewSelect().Table("newsletter_deliveries").Column("id", "supporter_id", "language").
		Where("campaign_id = ? AND batch = ? AND status = 'pending'", c.ID, batch).Order("id").Scan(ctx, &ds); err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.SupporterID
	}
	eligible, err := n.eligible(ctx, n.bun, c, ids)
	if err != nil {
		return nil, nil, err
	}
	var snap []snapshot
	var skipped []int64
	for _, d := range ds {
		s := eligible[d.SupporterID]
		if s == nil {
			skipped = append(skipped, d.ID)
			continue
		}
		snap = append(snap, snapshot{DeliveryID: d.ID, SupporterID: s.ID, Language: d.Language, Email: s.Email,
			FirstName: s.FirstName, LastName: s.LastName, City: s.City, Attributes: s.Attributes})
	}
	return snap, skipped, nil
}

func (n *Newsletter) renderAll(c *Campaign, tpls map[string]*Template, snap []snapshot) ([]Message, error) {
	msgs := make([]Message, len(snap))
	// Two halves rendered at once: templates are safe for concurrent use.
	half := len(snap) / 2
	errs := make(chan error, 2)
	work := func(from, to int) {
		for i := from; i < to; i++ {
			r := snap[i]
			s := &crm.Supporter{ID: r.SupporterID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
				City: r.City, Language: r.Language, Attributes: r.Attributes}
			m, err := n.render(c, tpls[r.Language], s, r.DeliveryID)
			if err != nil {
				errs <- fmt.Errorf("campaign %s: render for supporter %d: %w", c.Name, r.SupporterID, err)
				return
			}
			msgs[i] = m
		}
		errs <- nil
	}
	go work(0, half)
	work(half, len(snap))
	for range 2 {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// eligible loads the supporters among ids who may still be sent the
// campaign: subscribed to its list and with mail that does not bounce.
// Only what templates use is loaded.
func (n *Newsletter) eligible(ctx context.Context, tx bun.IDB, c *Campaign, ids []int64) (map[int64]*crm.Supporter, error) {
	q, err := dbutil.SupporterQuery(ctx, n.bun, crm.SupporterFilter{IDs: ids, List: &c.List, Mailable: true})
	if err != nil {
		return nil, err
	}
	var ss []*crm.Supporter
	if err := q.Conn(tx).ColumnExpr("s.id, s.email, s.first_name, s.last_name, s.city, s.language").
		Scan(ctx, &ss); err != nil {
		return nil, err
	}
	found := make([]int64, len(ss))
	for i, s := range ss {
		found[i] = s.ID
	}
	attrs, err := n.db.Attributes(ctx, found)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*crm.Supporter, len(ss))
	for _, s := range ss {
		s.Attributes = attrs[s.ID]
		out[s.ID] = s
	}
	return out, nil
}

// render makes one recipient's message.
func (n *Newsletter) render(c *Campaign, tpl *Template, s *crm.Supporter, deliveryID int64) (Message, error) {
	unsub := n.UnsubscribeURL(s.ID, c.ListID)
	out, err := tpl.Render(Recipient{FirstName: s.FirstName, LastName: s.LastName, Email: s.Email, City: s.City,
		Language: s.Language, Attributes: s.Attributes, UnsubscribeURL: unsub, PreferencesURL: n.PreferencesURL(s.ID)})
	if err != nil {
		return Message{}, err
	}
	subject := out.Subject
	if c.Subject != "" {
		subject = c.Subject
	}
	return Message{DeliveryID: deliveryID, From: c.From, To: s.Email, ReplyTo: c.ReplyTo, Subject: subject,
		HTML: out.HTML, Text: out.Text, Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}}, nil
}

// deliver hands a batch to the sender, waiting out rate limits and
// retrying temporary failures with backoff, always with the same key and
// messages. refused is true when it stops on a quota error and every
// attempt was definitely refused (a quota or a rate limit, never a
// temporary failure after which the batch may have gone out).
func (n *Newsletter) deliver(ctx context.Context, sender Sender, key string, msgs []Message, opts SendOptions) ([]Result, bool, error) {
	backoff := 500 * time.Millisecond
	definite := true
	for attempt := 0; ; attempt++ {
		results, err := sender.SendBatch(ctx, key, msgs)
		if err == nil {
			if len(results) != len(msgs) {
				return nil, false, fmt.Errorf("sender returned %d results for %d messages", len(results), len(msgs))
			}
			return results, false, nil
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var se *SendError
		if !errors.As(err, &se) {
			se = &SendError{Kind: Transient, Err: err}
		}
		switch se.Kind {
		case Quota:
			return nil, definite, fmt.Errorf("%w: %v (run the send again later to go on)", ErrQuota, se)
		case Permanent:
			return nil, false, se
		case RateLimited:
			if err := n.sleep(ctx, se.RetryAfter); err != nil {
				return nil, false, err
			}
			attempt-- // waiting for the limit is not a failed attempt
			continue
		}
		definite = false // a temporary failure: it may have gone out
		if attempt >= opts.MaxRetries {
			return nil, false, fmt.Errorf("giving up after %d attempts (run the send again to go on): %w", attempt+1, se)
		}
		if n.logger != nil {
			n.logger.WarnContext(ctx, "newsletter: retrying batch", "key", key, "attempt", attempt+1, "error", se.Error())
		}
		if err := n.sleep(ctx, backoff); err != nil {
			return nil, false, err
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// Preview is what a dry run shows.
type Preview struct {
	Campaign   *Campaign      `json:"campaign"`
	Recipients int            `json:"recipients"`
	ByLanguage map[string]int `json:"by_language"`
	First      *Message       `json:"first,omitempty"` // the message the first recipient would get
}

// DryRun counts who the campaign would go to now (or, once the send has
// started, who is still pending) and renders the first message. It sends
// and records nothing.
func (n *Newsletter) DryRun(ctx context.Context, name string) (*Preview, error) {
	st, err := n.CampaignStats(ctx, name)
	if err != nil {
		return nil, err
	}
	c := st.Campaign
	p := &Preview{Campaign: c, Recipients: st.Pending, ByLanguage: st.ByLanguage}
	var first []recipientRow
	if c.Status == StatusDraft {
		q, err := n.audience(ctx, n.bun, c)
		if err != nil {
			return nil, err
		}
		if err := q.ColumnExpr("s.id, s.email, s.language").Order("s.id").Limit(1).Scan(ctx, &first); err != nil {
			return nil, err
		}
	} else {
		if err := n.bun.NewSelect().Table("newsletter_deliveries").ColumnExpr("supporter_id AS id, email, language").
			Where("campaign_id = ? AND status = 'pending'", c.ID).Order("id").Limit(1).Scan(ctx, &first); err != nil {
			return nil, err
		}
	}
	if len(first) == 0 {
		return p, nil
	}
	tpls, err := parseTemplates(c)
	if err != nil {
		return nil, err
	}
	s, err := n.db.GetSupporter(ctx, first[0].ID)
	if err != nil {
		return nil, err
	}
	m, err := n.render(c, tpls[n.variantFor(c, s.Language)], s, 0)
	if err != nil {
		return nil, err
	}
	p.First = &m
	return p, nil
}

// SendTest sends one copy of the campaign to the address to, with
// "[TEST] " before the subject, rendered for that address's supporter if
// there is one (else for SampleRecipient), in lang (or the first
// variant). Nothing is recorded.
func (n *Newsletter) SendTest(ctx context.Context, name, to, lang string, sender Sender) (*Message, error) {
	addr, err := crm.NormalizeEmail(to)
	if err != nil {
		return nil, err
	}
	c, err := n.Campaign(ctx, name)
	if err != nil {
		return nil, err
	}
	tpls, err := parseTemplates(c)
	if err != nil {
		return nil, err
	}
	s, err := n.db.GetSupporterByEmail(ctx, addr)
	if errors.Is(err, crm.ErrNotFound) {
		s = &crm.Supporter{Email: addr, FirstName: SampleRecipient.FirstName, LastName: SampleRecipient.LastName,
			City: SampleRecipient.City, Attributes: map[string]string{}}
	} else if err != nil {
		return nil, err
	}
	if lang == "" {
		lang = s.Language
	}
	m, err := n.render(c, tpls[n.variantFor(c, strings.ToLower(lang))], s, 0)
	if err != nil {
		return nil, err
	}
	m.To, m.Subject = addr, "[TEST] "+m.Subject
	results, _, err := n.deliver(ctx, sender, "", []Message{m}, SendOptions{MaxRetries: 3})
	if err != nil {
		return nil, err
	}
	if results[0].Error != "" {
		return nil, fmt.Errorf("test message refused: %s", results[0].Error)
	}
	return &m, nil
}
