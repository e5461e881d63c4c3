package newsletter

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// BatchSize is how many messages go in one API call (Resend's maximum).
const BatchSize = 100

// idempotencyWindow is how long Resend keeps idempotency keys (24 h), less
// an hour of margin. A batch left in flight longer than that by a crash is
// not sent again, since it might then go out twice.
const idempotencyWindow = 23 * time.Hour

// Why deliveries end without being sent, as recorded in their error.
const (
	skippedReason   = "no longer subscribed, or mail to the address bounces"
	uncertainReason = "uncertain: in flight when a send stopped more than 23 hours ago; check the provider's logs"
	keyReusedReason = "uncertain: the provider already had this batch from an earlier try (the program changed " +
		"between the two); it most likely went out; check the provider's logs"
)

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

	// dueWithin, set by SendDue, makes a draft start only if it is still
	// scheduled, due, and at most this late, checked under the lock that
	// starts the send.
	dueWithin time.Duration
}

// errNotDue is what Send returns to SendDue for a draft that is no longer
// due when its send would start (unscheduled, moved, or too late since).
var errNotDue = errors.New("no longer due")

func (o SendOptions) withDefaults() SendOptions {
	if o.Owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		o.Owner = hex.EncodeToString(b)
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 8
	}
	return o
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
// resumed later. A sender that delivers real mail is refused with
// ErrNoPublicURL when no public URL was set (see CheckSender).
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
	if err := n.CheckSender(sender); err != nil {
		return nil, fmt.Errorf("campaign %s: %w", c.Name, err)
	}
	rep := &SendReport{Campaign: c.Name, Recipients: c.Recipients}
	if c.Status == StatusSent {
		rep.AlreadyDone = true
		return rep, n.scrubResolved(ctx, c.ID)
	}
	opts = opts.withDefaults()
	h, err := n.hold(ctx, c, opts.Owner)
	if err != nil {
		return nil, err
	}
	defer func() { h.end(ctx, recover()) }()
	frozen, err := n.freeze(ctx, c.Name, c.Event, opts.dueWithin)
	if err != nil {
		if errors.Is(err, crm.ErrEventClosed) && !c.ScheduledAt.IsZero() {
			// An invitation to an event cancelled or started: not
			// sent, and no longer due.
			n.setSchedule(context.WithoutCancel(ctx), c.Name, time.Time{})
		}
		return nil, err
	}
	c = frozen
	rep.Recipients = c.Recipients
	tpls, err := n.campaignTemplates(ctx, c)
	if err != nil {
		return nil, err
	}
	err = n.pipeline(ctx, c, tpls, sender, opts, h.lock, rep)
	err = n.finish(ctx, c, opts.Owner, rep, err)
	rep.Elapsed = time.Since(start)
	return rep, err
}

// finish ends this sender's part of a send, whose pipeline returned err.
// The batches it claimed but did not finish go back to the pool, for a
// later run or another sender (a crash leaves them claimed until the next
// sender sees that this one is dead: see acquire and releaseDeadClaims).
// Other senders may still be working on their batches: the one that
// finds none left marks the campaign sent.
func (n *Newsletter) finish(ctx context.Context, c *Campaign, owner string, rep *SendReport, err error) error {
	if ferr := n.store().freeClaimsOf(context.WithoutCancel(ctx), c.ID, owner); err == nil {
		err = ferr
	}
	if serr := n.scrubResolved(context.WithoutCancel(ctx), c.ID); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	left, err := n.store().unfinished(ctx, c.ID)
	if err != nil || left > 0 {
		rep.Unfinished = left
		return err
	}
	if err := n.store().markSent(ctx, c.ID, n.clock()); err != nil {
		return err
	}
	if n.logger != nil {
		n.logger.InfoContext(ctx, "newsletter: campaign sent", "campaign", c.Name, "sent", rep.Sent,
			"failed", rep.Failed, "skipped", rep.Skipped)
	}
	return nil
}

// freeze writes one delivery row per recipient, in batches of BatchSize,
// the first time a campaign is sent, and returns the campaign as it is
// now. event is the name of an invitation's event ("" for other
// campaigns).
func (n *Newsletter) freeze(ctx context.Context, name, event string, dueWithin time.Duration) (*Campaign, error) {
	var c *Campaign
	settings, err := n.db.Settings(ctx)
	if err != nil {
		return nil, err
	}
	err = n.db.RunInTx(ctx, func(crmTx *crm.Tx) error {
		tx := dbutil.Tx(crmTx)
		s := sendStore{tx}
		if event != "" {
			// The event before the campaign, in the order CancelEvent
			// takes them (on PostgreSQL, the other order could
			// deadlock with it).
			if _, err := crmTx.LockEvent(ctx, event); err != nil {
				return fmt.Errorf("campaign %s: %w", name, err)
			}
		}
		if err := s.lockCampaign(ctx, name); err != nil {
			return err
		}
		var err error
		if c, err = getCampaign(ctx, tx, name); err != nil || c.Status != StatusDraft {
			return err
		}
		if dueWithin > 0 && (c.ScheduledAt.IsZero() || c.ScheduledAt.After(n.clock()) || c.Late(n.clock(), dueWithin)) {
			return errNotDue
		}
		audience, err := n.audience(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := n.freezeEvent(ctx, crmTx, c, settings); err != nil {
			return err
		}
		langs := make([]string, len(c.Templates))
		for i, t := range c.Templates {
			langs[i] = t.Language
		}
		count, err := s.freezeAudience(ctx, c.ID, audience, langs, n.clock())
		if err != nil {
			return fmt.Errorf("campaign %s: freeze audience: %w", c.Name, err)
		}
		if err := s.insertBatches(ctx, c, count); err != nil {
			return fmt.Errorf("freeze batches: %w", err)
		}
		c.Status, c.Recipients, c.StartedAt = StatusSending, count, n.clock()
		c.Association, c.PostalAddress, c.PublicURL = settings.Name, settings.PostalAddress, n.publicURL.String()
		if err := s.startSending(ctx, c); err != nil {
			return err
		}
		return crmTx.Audit(ctx, "campaign send", fmt.Sprintf("campaign %s, %d recipients", c.Name, count))
	})
	return c, err
}

// draftFooter gives a draft the footer of the settings as they are now;
// a campaign whose send has started keeps the one it was frozen with.
func (n *Newsletter) draftFooter(ctx context.Context, c *Campaign) error {
	if c.Status != StatusDraft {
		return nil
	}
	s, err := n.db.Settings(ctx)
	if err != nil {
		return err
	}
	c.Association, c.PostalAddress = s.Name, s.PostalAddress
	return nil
}

func parseTemplates(c *Campaign) (map[string]*Template, error) {
	if c.PublicURL != "" && c.Status != StatusDraft {
		u, err := url.Parse(c.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("campaign %s: public URL %q: %w", c.Name, c.PublicURL, err)
		}
		c.linkBase = u
	}
	out := map[string]*Template{}
	for _, ts := range c.Templates {
		t, err := parseCampaignTemplate(ts.Language, ts.Source, c.EventID != 0)
		if err == nil && c.Subject != "" {
			err = t.setSubject(c.Subject) // the campaign's subject wins over the front matter's
		}
		if err != nil {
			return nil, fmt.Errorf("campaign %s: template %s: %w", c.Name, ts.Language, err)
		}
		out[ts.Language] = t
	}
	return out, nil
}

// claim takes the first batch no sender is working on (or whose sender's
// claim expired) and marks it as this owner's. On PostgreSQL, several
// senders claim batches of one campaign at once (see
// sendStore.claimNext); on SQLite the write transaction already lets one
// claimer in at a time.
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
	froms := []int{after + 1}
	if after >= 0 {
		froms = append(froms, 0)
	}
	err := n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
		now := n.clock()
		for _, from := range froms {
			var err error
			if batch, found, err = s.claimNext(ctx, c.ID, from, owner, lock, now, now.Add(n.lease)); err != nil || found {
				return err
			}
		}
		return nil
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
	// the provider definitely refused (see sendBatch).
	refused   bool
	key       string
	snap      []snapshot
	msgs      []Message
	skipped   int
	uncertain int
}

// sendRun is one Send's pipeline: it prepares the next batch while the
// current one is with the provider, so the database, the templates and
// the network work at the same time. Batches are handed over in order,
// one at a time.
//
// A batch whose marking in flight finds it changed since it was prepared
// (Forget took someone out of it, or another sender took it over) is
// prepared again instead of sent: only a batch marked in flight, in a
// committed transaction, is ever handed to the provider.
type sendRun struct {
	n       *Newsletter
	c       *Campaign
	tpls    map[string]*Template
	sender  Sender
	opts    SendOptions
	session *sessionLock // nil on SQLite
	rep     *SendReport
	// done counts the deliveries settled, for opts.Progress.
	done int
	// sent is the batch the provider accepted whose outcome is not
	// recorded yet: it is recorded in the transaction that marks the next
	// batch in flight, one commit for both, and always before returning.
	sent        *prepared
	sentResults []Result
}

// preparedBatch is what the preparing goroutine hands over.
type preparedBatch struct {
	p   *prepared
	err error
}

// pipeline sends c's batches through sender (see sendRun).
func (n *Newsletter) pipeline(ctx context.Context, c *Campaign, tpls map[string]*Template, sender Sender,
	opts SendOptions, session *sessionLock, rep *SendReport) error {
	r := &sendRun{n: n, c: c, tpls: tpls, sender: sender, opts: opts, session: session, rep: rep}
	if opts.Progress != nil {
		k, err := n.store().settled(ctx, c.ID)
		if err != nil {
			return err
		}
		r.done = k
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan preparedBatch, 1)
	go r.prepareAhead(pctx, ch)
	var err error
	for it := range ch {
		if err = it.err; err == nil {
			err = r.sendBatch(ctx, it.p)
		}
		if err != nil {
			break
		}
	}
	// Stop preparing, then record the batch sent last.
	cancel()
	for range ch {
	}
	if _, rerr := r.advance(ctx, nil); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// prepareAhead claims and prepares batches one after the other, until
// none is left, an error (handed over too) or ctx ends, and closes ch.
func (r *sendRun) prepareAhead(ctx context.Context, ch chan<- preparedBatch) {
	defer close(ch)
	last := -1
	for {
		batch, ok, err := r.claim(ctx, last)
		if err == nil && !ok {
			return
		}
		var p *prepared
		if err == nil {
			last = batch
			p, err = r.n.prepare(ctx, r.c, r.tpls, batch, r.opts.Owner)
		}
		select {
		case ch <- preparedBatch{p, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// claim claims the next batch after last. A claim is only as good as the
// session lock it names: the lock is checked first. With nothing left to
// claim on PostgreSQL, the batches claimed by senders whose session ended
// are freed, to be finished here.
func (r *sendRun) claim(ctx context.Context, last int) (int, bool, error) {
	for {
		if err := r.session.check(ctx); err != nil {
			return 0, false, fmt.Errorf("campaign %s: %w", r.c.Name, err)
		}
		batch, ok, err := r.n.claim(ctx, r.c, r.opts.Owner, r.session.key(), last)
		if err != nil || ok || r.session == nil {
			return batch, ok, err
		}
		freed, err := r.n.releaseDeadClaims(ctx, r.c, r.session.key())
		if err != nil || !freed {
			return 0, false, err
		}
	}
}

// sendBatch hands p to the provider once it is marked in flight, and
// keeps the provider's answer to be recorded with the next batch. A batch
// that changed since it was prepared is prepared again.
func (r *sendRun) sendBatch(ctx context.Context, p *prepared) error {
	for {
		r.rep.Skipped += p.skipped
		r.rep.Uncertain += p.uncertain
		if len(p.msgs) == 0 {
			r.progress(p.skipped + p.uncertain)
			return nil
		}
		marked, err := r.advance(ctx, p)
		if err != nil {
			return err
		}
		if !marked {
			r.progress(p.skipped + p.uncertain)
			if p, err = r.n.prepare(ctx, r.c, r.tpls, p.batch, r.opts.Owner); err != nil {
				return err
			}
			continue
		}
		results, refused, err := r.n.deliver(ctx, r.sender, p.key, p.msgs, r.opts)
		if refused && (!p.resumed || p.refused) {
			// Every request of this batch was refused for certain
			// (this run's, and any earlier run's): nothing went out.
			// Marked so, a resume after the idempotency window sends
			// it instead of marking its recipients failed. A batch
			// with one attempt of unknown fate is not marked.
			if merr := r.n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
				return s.markRefused(ctx, r.c.ID, p.batch, r.opts.Owner)
			}); merr != nil {
				err = errors.Join(err, merr)
			}
		}
		if errors.Is(err, ErrKeyReused) {
			// An earlier try reached the provider: never sent again.
			var k int
			err = r.n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
				var err error
				k, err = s.markUncertain(ctx, r.c.ID, p.batch, keyReusedReason, r.n.clock())
				return err
			})
			r.rep.Uncertain += k
			r.progress(k)
			return err
		}
		if err != nil {
			return err
		}
		r.sent, r.sentResults = p, results
		r.progress(p.skipped + p.uncertain)
		return nil
	}
}

// progress reports k more deliveries settled.
func (r *sendRun) progress(k int) {
	if r.opts.Progress != nil && k > 0 {
		r.done += k
		r.opts.Progress(r.done, r.c.Recipients)
	}
}

// advance records the batch sent before, if any, and marks next in
// flight, if any, in one transaction. marked is false when next changed
// since it was prepared: it must not be sent as it is.
func (r *sendRun) advance(ctx context.Context, next *prepared) (marked bool, err error) {
	if next != nil && next.resumed {
		next = nil // in flight already
	}
	if r.sent == nil && next == nil {
		return true, nil
	}
	failed := 0
	marked = true
	err = r.n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
		if r.sent != nil {
			var err error
			if failed, err = r.n.record(ctx, s, r.c, r.sent, r.sentResults); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		var err error
		marked, err = s.markInFlight(ctx, r.c.ID, next.batch, r.opts.Owner, next.generation, r.n.clock())
		return err
	})
	if err == nil && r.sent != nil {
		// Counted once committed.
		r.rep.Failed += failed
		r.rep.Sent += len(r.sent.msgs) - failed
		r.progress(len(r.sent.msgs))
		r.sent, r.sentResults = nil, nil
	}
	return marked, err
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
	row, err := n.store().batch(ctx, c.ID, batch)
	if err != nil {
		return nil, false, err
	}
	if row == nil {
		return nil, false, fmt.Errorf("campaign %s: batch %d: %w", c.Name, batch, crm.ErrNotFound)
	}
	switch {
	case row.Owner != owner || row.Status == batchDone || row.Status == batchUncertain:
		// Another sender took it over, or finished it: nothing to do here.
		return &prepared{batch: batch}, false, nil
	case row.Status == batchInFlight:
		return n.resumeInFlight(ctx, c, row, owner)
	}
	p := &prepared{batch: batch, generation: row.Generation, key: row.IdempotencyKey}
	snap, skipped, err := n.snapshotBatch(ctx, c, batch)
	if err != nil {
		return nil, false, err
	}
	p.snap, p.skipped = snap, len(skipped)
	if n.prepareHook != nil {
		n.prepareHook("snapshot", batch)
	}
	payload, err := json.Marshal(snap)
	if err != nil {
		return nil, false, err
	}
	status := batchPrepared
	if len(snap) == 0 {
		status, payload = batchDone, nil
	}
	err = n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
		if err := n.renew(ctx, s, c, owner); err != nil {
			return err
		}
		if err := s.skipDeliveries(ctx, skipped, skippedReason, n.clock()); err != nil {
			return err
		}
		// Unchanged since read: not erased from (generation), not taken
		// over (owner).
		stored, err := s.storeSnapshot(ctx, c.ID, batch, owner, p.generation, status, string(payload))
		if err == nil && !stored {
			return errChanged // undo the skips too: read the batch again
		}
		return err
	})
	if errors.Is(err, errChanged) {
		return p, true, nil
	}
	if err == nil && n.prepareHook != nil {
		n.prepareHook("stored", batch)
	}
	return p, false, err
}

// resumeInFlight readies a batch found in flight, handed to the provider
// by an earlier run: it goes again as stored, under its key, unless it
// was handed over longer ago than the provider keeps keys, when it is
// marked uncertain instead.
func (n *Newsletter) resumeInFlight(ctx context.Context, c *Campaign, row *batchRow, owner string) (*prepared, bool, error) {
	p := &prepared{batch: row.Batch}
	if row.Refused != 0 {
		// Never sent: it goes again as it was, however long ago it was
		// refused. Cleared, with a new attempt time, before it goes:
		// what happens to this attempt is not known yet.
		var cleared bool
		err := n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
			var err error
			cleared, err = s.retryRefused(ctx, c.ID, row.Batch, owner, n.clock())
			return err
		})
		if err != nil {
			return nil, false, err
		}
		if !cleared {
			return p, true, nil
		}
		row.AttemptedAt, p.refused = n.clock(), true
	}
	if n.clock().Sub(row.AttemptedAt) > idempotencyWindow {
		// It may or may not have gone out, and sending it again could
		// send it twice.
		err := n.writeTx(ctx, func(ctx context.Context, s sendStore) error {
			var err error
			p.uncertain, err = s.markUncertain(ctx, c.ID, row.Batch, uncertainReason, n.clock())
			return err
		})
		return p, false, err
	}
	if err := json.Unmarshal([]byte(row.Payload), &p.snap); err != nil {
		return nil, false, fmt.Errorf("campaign %s: batch %d: stored payload: %w", c.Name, row.Batch, err)
	}
	p.key, p.resumed = row.IdempotencyKey, true
	return p, false, nil
}

// errChanged rolls back the storing of a batch that changed since it was
// read.
var errChanged = errors.New("batch changed")

// record writes the outcome of each message of a batch the provider
// answered, marks the batch done, and returns how many failed.
func (n *Newsletter) record(ctx context.Context, s sendStore, c *Campaign, p *prepared, results []Result) (int, error) {
	now := n.clock()
	outcomes := make([]outcome, len(p.msgs))
	failed := 0
	for i, m := range p.msgs {
		d := outcome{ID: m.DeliveryID, Status: deliverySent, ProviderID: results[i].ID, UpdatedAt: now}
		if results[i].Error != "" || results[i].ID == "" {
			d.Status, d.ProviderID, d.Error = deliveryFailed, "", results[i].Error
			if d.Error == "" {
				d.Error = "no id in the provider's answer"
			}
			failed++
		}
		outcomes[i] = d
	}
	if err := s.recordOutcomes(ctx, c.ID, p.batch, outcomes); err != nil {
		return 0, fmt.Errorf("record batch %d: %w", p.batch, err)
	}
	return failed, nil
}

// writeTx runs fn in a transaction, after the engine's other writes in
// this process.
func (n *Newsletter) writeTx(ctx context.Context, fn func(context.Context, sendStore) error) error {
	n.writes.Lock()
	defer n.writes.Unlock()
	return n.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, sendStore{tx}) })
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
	ds, err := n.store().pendingDeliveries(ctx, c.ID, batch)
	if err != nil {
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
	base := n.publicURL
	if c.linkBase != nil {
		base = c.linkBase // frozen when the send started: a retry renders the same links
	}
	unsub := n.linkFrom(base, "/unsubscribe", Token{Purpose: PurposeUnsubscribe, SupporterID: s.ID, ListID: c.ListID,
		CampaignID: c.ID})
	prefs := n.linkFrom(base, "/preferences", Token{Purpose: PurposePreferences, SupporterID: s.ID})
	rc := Recipient{FirstName: s.FirstName, LastName: s.LastName, Email: s.Email, City: s.City,
		Language: s.Language, Attributes: s.Attributes, UnsubscribeURL: unsub, PreferencesURL: prefs,
		Association: c.Association, PostalAddress: c.PostalAddress}
	if ev := c.event; ev != nil {
		// An invitation: the event, and the person's own answer links,
		// carrying the campaign so the answers count in its report.
		n.setEvent(&rc, base, ev.event, ev.fieldsFor(tpl.Language), s.ID, c.ID)
		rc.CalendarURL = ev.calendarFor(tpl.Language)
	}
	out, err := tpl.Render(rc)
	if err != nil {
		return Message{}, err
	}
	m := Message{DeliveryID: deliveryID, From: c.From, To: s.Email, ReplyTo: c.ReplyTo, Subject: out.Subject,
		HTML: out.HTML, Text: out.Text, Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}}
	if deliveryID != 0 {
		m.Tags = map[string]string{"campaign": c.Name, "delivery": strconv.FormatInt(deliveryID, 10)}
	}
	return m, nil
}

// deliver hands a batch to the sender, waiting out rate limits and
// retrying temporary failures with backoff, always with the same key and
// messages. refused is true when it stops on a quota error and every
// attempt was definitely refused (a quota or a rate limit, never a
// temporary failure after which the batch may have gone out). A message
// with attachments goes alone through the sender's single-email mode
// (SingleSender), with the same key, retries and guarantees.
func (n *Newsletter) deliver(ctx context.Context, sender Sender, key string, msgs []Message, opts SendOptions) ([]Result, bool, error) {
	backoff := 500 * time.Millisecond
	definite := true
	send := sender.SendBatch
	if slices.ContainsFunc(msgs, func(m Message) bool { return len(m.Attachments) > 0 }) {
		// Attachments go through the single-email endpoint, one message
		// per request and key: the batch endpoint takes none.
		single, ok := sender.(SingleSender)
		if !ok || len(msgs) != 1 {
			return nil, false, &SendError{Kind: KindPermanent,
				Err: errors.New("a message with attachments needs a sender with a single-email mode (Resend, an outbox), alone")}
		}
		send = func(ctx context.Context, key string, msgs []Message) ([]Result, error) {
			r, err := single.Send(ctx, key, msgs[0])
			if err != nil {
				return nil, err
			}
			return []Result{r}, nil
		}
	}
	for attempt := 0; ; attempt++ {
		results, err := send(ctx, key, msgs)
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
			se = &SendError{Kind: KindTransient, Err: err}
		}
		switch se.Kind {
		case KindQuota:
			return nil, definite, fmt.Errorf("%w: %v (run the send again later to go on)", ErrQuota, se)
		case KindPermanent:
			return nil, false, se
		case KindRateLimited:
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
	// Sample holds the addresses of the first three recipients, masked
	// (a***@example.org).
	Sample []string `json:"sample"`
	// Empty counts, for a draft, the recipients for whom a field its
	// templates use is empty: "FirstName", "LastName", "City",
	// "Attr pointure". Fields nobody lacks are left out.
	Empty map[string]int `json:"empty,omitempty"`
}

// DryRun counts who the campaign would go to now (or, once the send has
// started, who is still pending), how many of them lack a field the
// templates use, and renders the first message. It sends and records
// nothing.
func (n *Newsletter) DryRun(ctx context.Context, name string) (*Preview, error) {
	st, err := n.CampaignStats(ctx, name)
	if err != nil {
		return nil, err
	}
	c := st.Campaign
	if err := n.draftFooter(ctx, c); err != nil {
		return nil, err
	}
	p := &Preview{Campaign: c, Recipients: st.Pending, ByLanguage: st.ByLanguage, Sample: []string{}}
	var first []recipientRow
	if c.Status == StatusDraft {
		q, err := n.audience(ctx, n.bun, c)
		if err != nil {
			return nil, err
		}
		if err := q.ColumnExpr("s.id, s.email, s.language").Order("s.id").Limit(3).Scan(ctx, &first); err != nil {
			return nil, err
		}
		if p.Empty, err = n.emptyFields(ctx, c); err != nil {
			return nil, err
		}
	} else {
		if first, err = n.store().firstPending(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	for _, r := range first {
		p.Sample = append(p.Sample, maskAddress(r.Email))
	}
	if len(first) == 0 {
		return p, nil
	}
	tpls, err := n.campaignTemplates(ctx, c)
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

// emptyFields counts, over a draft's audience, those for whom each field
// its templates use is empty.
func (n *Newsletter) emptyFields(ctx context.Context, c *Campaign) (map[string]int, error) {
	columns := map[string]string{"FirstName": "first_name", "LastName": "last_name", "City": "city"}
	var fields, attrs []string
	for _, t := range c.Templates {
		f, a := fieldsUsed(t.Source)
		fields, attrs = append(fields, f...), append(attrs, a...)
	}
	slices.Sort(fields)
	slices.Sort(attrs)
	fields, attrs = slices.Compact(fields), slices.Compact(attrs)
	q, err := n.audience(ctx, n.bun, c)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range fields {
		if col := columns[f]; col != "" {
			// The column names come from the table above, never from input.
			q.ColumnExpr("SUM(CASE WHEN s." + col + " = '' THEN 1 ELSE 0 END)")
			names = append(names, f)
		}
	}
	for _, a := range attrs {
		q.ColumnExpr("SUM(CASE WHEN EXISTS (SELECT 1 FROM supporter_attributes AS sa WHERE sa.supporter_id = s.id "+
			"AND sa.key = ? AND sa.value <> '') THEN 0 ELSE 1 END)", a)
		names = append(names, "Attr "+a)
	}
	if len(names) == 0 {
		return nil, nil
	}
	counts := make([]sql.NullInt64, len(names))
	dest := make([]any, len(names))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.Scan(ctx, dest...); err != nil {
		return nil, fmt.Errorf("campaign %s: empty fields: %w", c.Name, err)
	}
	out := map[string]int{}
	for i, name := range names {
		if counts[i].Int64 > 0 {
			out[name] = int(counts[i].Int64)
		}
	}
	return out, nil
}

// maskAddress keeps the first letter of an address and its domain.
func maskAddress(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	_, size := utf8.DecodeRuneInString(local)
	return local[:size] + "***@" + domain
}

// Messages renders, one after another, every message a Send of the
// campaign would send now, the same bytes but the transport: to its
// audience as it is now for a draft, to the recipients still pending once
// its send has started, to nobody once sent. It sends and records
// nothing, so a campaign can be looked at whole (the CLI's --outbox)
// before the real send. The messages have no DeliveryID.
func (n *Newsletter) Messages(ctx context.Context, name string) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		c, err := n.Campaign(ctx, name)
		if err == nil {
			err = n.draftFooter(ctx, c)
		}
		if err != nil {
			yield(Message{}, err)
			return
		}
		tpls, err := n.campaignTemplates(ctx, c)
		if err != nil {
			yield(Message{}, err)
			return
		}
		var after int64
		for c.Status != StatusSent {
			var page []recipientRow
			if c.Status == StatusDraft {
				q, err := n.audience(ctx, n.bun, c)
				if err == nil {
					err = q.ColumnExpr("s.id, s.email, s.language").Where("s.id > ?", after).Order("s.id").
						Limit(BatchSize).Scan(ctx, &page)
				}
				if err != nil {
					yield(Message{}, err)
					return
				}
			} else if page, err = n.store().pendingAfter(ctx, c.ID, after, BatchSize); err != nil {
				yield(Message{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			ids := make([]int64, len(page))
			for i, r := range page {
				ids[i] = r.ID
			}
			eligible, err := n.eligible(ctx, n.bun, c, ids)
			if err != nil {
				yield(Message{}, err)
				return
			}
			for _, r := range page {
				s := eligible[r.ID]
				if s == nil {
					continue // left the list or bounced since: a send skips them
				}
				lang := r.Language
				if c.Status == StatusDraft {
					lang = n.variantFor(c, s.Language)
				}
				m, err := n.render(c, tpls[lang], s, 0)
				if err != nil {
					err = fmt.Errorf("campaign %s: render for supporter %d: %w", c.Name, s.ID, err)
				}
				if !yield(m, err) || err != nil {
					return
				}
			}
			after = page[len(page)-1].ID
		}
	}
}

// RenderFor returns the message of the campaign as the supporter with
// this address would get it, in lang (their own language if "", and the
// first variant for a language the campaign lacks). For an address not in
// the database, or "", the message is rendered for a sample supporter
// (Camille Exemple of Calais) and sent to that address. It sends and
// records nothing.
func (n *Newsletter) RenderFor(ctx context.Context, name, email, lang string) (*Message, error) {
	c, err := n.Campaign(ctx, name)
	if err == nil {
		err = n.draftFooter(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	tpls, err := n.campaignTemplates(ctx, c)
	if err != nil {
		return nil, err
	}
	s := &crm.Supporter{Email: sampleRecipient.Email, FirstName: sampleRecipient.FirstName,
		LastName: sampleRecipient.LastName, City: sampleRecipient.City, Attributes: map[string]string{}}
	if email != "" {
		addr, err := crm.NormalizeEmail(email)
		if err != nil {
			return nil, err
		}
		found, err := n.db.GetSupporterByEmail(ctx, addr)
		switch {
		case errors.Is(err, crm.ErrNotFound):
			s.Email = addr
		case err != nil:
			return nil, err
		default:
			s = found
		}
	}
	if lang == "" {
		lang = s.Language
	} else if lang, err = crm.NormalizeLanguage(lang); err != nil {
		return nil, err
	}
	m, err := n.render(c, tpls[n.variantFor(c, lang)], s, 0)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// SendTest sends one copy of the campaign to the address to, with
// "[TEST] " before the subject, as RenderFor renders it for that address
// in lang. Nothing is recorded.
func (n *Newsletter) SendTest(ctx context.Context, name, to, lang string, sender Sender) (*Message, error) {
	if err := n.CheckSender(sender); err != nil {
		return nil, err
	}
	if _, err := crm.NormalizeEmail(to); err != nil {
		return nil, err
	}
	m, err := n.RenderFor(ctx, name, to, lang)
	if err != nil {
		return nil, err
	}
	m.Subject = "[TEST] " + m.Subject
	results, _, err := n.deliver(ctx, sender, "", []Message{*m}, SendOptions{MaxRetries: 3})
	if err != nil {
		return nil, err
	}
	if results[0].Error != "" {
		return nil, fmt.Errorf("test message refused: %s", results[0].Error)
	}
	return m, nil
}
