package newsletter

import (
	"context"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// sendStore is what the send engine keeps in the database: a campaign's
// lease, its frozen deliveries and their batches. It holds every SQL
// statement of the engine; the engine (send.go, lease.go) decides, the
// store reads and writes. It runs on the database or inside one of the
// engine's transactions (see Newsletter.writeTx).
type sendStore struct{ db bun.IDB }

// store returns the engine's store outside any transaction.
func (n *Newsletter) store() sendStore { return sendStore{n.bun} }

// batchStatus is where a batch of a campaign stands. A batch goes
// pending -> prepared -> in flight -> done; Forget sends a pending or
// prepared batch back to pending; a batch in flight longer than the
// provider keeps keys becomes uncertain.
type batchStatus string

const (
	// batchPending: its recipients are frozen, nothing else is stored.
	batchPending batchStatus = "pending"
	// batchPrepared: its snapshot and key are stored; not handed over.
	batchPrepared batchStatus = "prepared"
	// batchInFlight: handed to the provider, no answer recorded. A
	// retry sends the stored snapshot under the same key.
	batchInFlight batchStatus = "in_flight"
	// batchDone: the provider's answer is recorded (final).
	batchDone batchStatus = "done"
	// batchUncertain: in flight longer than the provider keeps keys; its
	// recipients are marked failed (final).
	batchUncertain batchStatus = "uncertain"
)

// unfinishedBatches are the statuses of a batch still to be sent: not yet
// handed over, or handed over with no answer recorded.
var unfinishedBatches = bun.List([]batchStatus{batchPending, batchPrepared, batchInFlight})

// resolvedBatches are the final statuses.
var resolvedBatches = bun.List([]batchStatus{batchDone, batchUncertain})

// storableBatches are the statuses in which a batch's snapshot may be
// (re)written: nothing of it has been handed over.
var storableBatches = bun.List([]batchStatus{batchPending, batchPrepared})

// deliveryStatus is where one recipient's delivery stands.
type deliveryStatus string

const (
	deliveryPending deliveryStatus = "pending"
	deliverySent    deliveryStatus = "sent"
	deliveryFailed  deliveryStatus = "failed"
	// deliverySkipped: unsubscribed, bounced or erased after the audience
	// was frozen.
	deliverySkipped deliveryStatus = "skipped"
)

// batchKey is the idempotency key of a campaign's batch: the same for
// every attempt, in every process, so the provider sends it once. It is
// made when the batch is frozen and read back from then on.
func batchKey(c *Campaign, batch int) string {
	return "crm-" + c.UID + "-" + strconv.Itoa(batch)
}

// batchRow is a batch as stored.
type batchRow struct {
	bun.BaseModel `bun:"table:newsletter_batches"`

	CampaignID     int64       `bun:"campaign_id,pk"`
	Batch          int         `bun:"batch,pk"`
	IdempotencyKey string      `bun:"idempotency_key"`
	Payload        string      `bun:"payload"`
	Status         batchStatus `bun:"status"`
	AttemptedAt    time.Time   `bun:"attempted_at,nullzero"`
	Owner          string      `bun:"owner"`
	ClaimedUntil   time.Time   `bun:"claimed_until,nullzero"`
	OwnerLock      int64       `bun:"owner_lock"`
	Generation     int         `bun:"generation"`
	HoldsErased    int         `bun:"holds_erased"`
	Refused        int         `bun:"refused"`
}

// outcome is what recording a batch's result writes to a delivery: a
// model of those columns only, because bun's bulk UPDATE puts every
// column of its model in the statement.
type outcome struct {
	bun.BaseModel `bun:"table:newsletter_deliveries,alias:d"`

	ID         int64          `bun:"id,pk"`
	Status     deliveryStatus `bun:"status"`
	ProviderID string         `bun:"provider_id"`
	Error      string         `bun:"error"`
	UpdatedAt  time.Time      `bun:"updated_at"`
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

// affected reports whether a statement changed exactly one row.
func affected(res interface{ RowsAffected() (int64, error) }) bool {
	k, _ := res.RowsAffected()
	return k == 1
}

// The lease (SQLite).

func (s sendStore) lease(ctx context.Context, campaignID int64) (*leaseRow, error) {
	var l leaseRow
	if err := s.db.NewSelect().Model(&l).Where("id = ?", campaignID).Scan(ctx); err != nil {
		return nil, err
	}
	return &l, nil
}

func (s sendStore) takeLease(ctx context.Context, campaignID int64, owner string, until time.Time, h holder) error {
	_, err := s.db.NewUpdate().Table("newsletter_campaigns").
		Set("lease_owner = ?", owner).Set("lease_until = ?", until).
		Set("lease_host = ?", h.Host).Set("lease_pid = ?", h.PID).Set("lease_pid_start = ?", h.Start).
		Where("id = ?", campaignID).Exec(ctx)
	return err
}

// renewLease extends the lease while owner holds it, and reports whether
// it still did.
func (s sendStore) renewLease(ctx context.Context, campaignID int64, owner string, until time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_campaigns").Set("lease_until = ?", until).
		Where("id = ? AND lease_owner = ?", campaignID, owner).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

func (s sendStore) releaseLease(ctx context.Context, campaignID int64, owner string) error {
	_, err := s.db.NewUpdate().Table("newsletter_campaigns").Set("lease_owner = ''").Set("lease_until = NULL").
		Set("lease_host = ''").Set("lease_pid = 0").Set("lease_pid_start = ''").
		Where("id = ? AND lease_owner = ?", campaignID, owner).Exec(ctx)
	return err
}

// The campaign's state.

// lockCampaign makes senders starting together on PostgreSQL wait for
// each other here: one freezes, the others then find the campaign
// sending. (On SQLite the write transaction already does.)
func (s sendStore) lockCampaign(ctx context.Context, name string) error {
	if s.db.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := s.db.NewRaw("SELECT id FROM newsletter_campaigns WHERE name = ? FOR UPDATE", name).Exec(ctx)
	return err
}

func (s sendStore) startSending(ctx context.Context, c *Campaign) error {
	_, err := s.db.NewUpdate().Model(c).Column("status", "recipients", "started_at", "association", "postal_address",
		"public_url", "event_snapshot").
		WherePK().Exec(ctx)
	return err
}

func (s sendStore) markSent(ctx context.Context, campaignID int64, at time.Time) error {
	_, err := s.db.NewUpdate().Table("newsletter_campaigns").Set("status = ?", StatusSent).
		Set("finished_at = ?", at).Where("id = ?", campaignID).Exec(ctx)
	return err
}

// Freezing.

// freezeAudience writes a pending delivery for each member of audience
// (the supporters "s" of Newsletter.audience), numbered into batches of
// BatchSize in supporter order, each with the language variant it gets:
// its own if langs has it, else the first of langs. It returns how many.
// One INSERT ... SELECT: the audience never travels through Go.
func (s sendStore) freezeAudience(ctx context.Context, campaignID int64, audience *bun.SelectQuery, langs []string, now time.Time) (int, error) {
	audience = audience.ColumnExpr("s.id, s.email, s.language")
	first := ""
	if len(langs) > 0 {
		first = langs[0]
	}
	res, err := s.db.NewRaw(`INSERT INTO newsletter_deliveries (campaign_id, supporter_id, email, language, batch, status, updated_at)
		SELECT ?, a.id, a.email, CASE WHEN a.language IN (?) OR ? = '' THEN a.language ELSE ? END,
			(ROW_NUMBER() OVER (ORDER BY a.id) - 1) / ?, ?, ?
		FROM (?) AS a ORDER BY a.id`, campaignID, bun.List(langs), first, first, BatchSize, deliveryPending, now, audience).Exec(ctx)
	if err != nil {
		return 0, err
	}
	k, err := res.RowsAffected()
	return int(k), err
}

// insertBatches writes the pending batches of a campaign of count
// recipients, each with its idempotency key.
func (s sendStore) insertBatches(ctx context.Context, c *Campaign, count int) error {
	var batches []batchRow
	for b := 0; b*BatchSize < count; b++ {
		batches = append(batches, batchRow{CampaignID: c.ID, Batch: b, IdempotencyKey: batchKey(c, b), Status: batchPending})
		if len(batches) == 500 || (b+1)*BatchSize >= count {
			if _, err := s.db.NewInsert().Model(&batches).Exec(ctx); err != nil {
				return err
			}
			batches = batches[:0]
		}
	}
	return nil
}

// Claims.

// unfinished counts the campaign's batches still to be sent.
func (s sendStore) unfinished(ctx context.Context, campaignID int64) (int, error) {
	return count(s.db.NewSelect().Table("newsletter_batches").Where("status IN (?)", unfinishedBatches).
		Where("campaign_id = ?", campaignID).Count(ctx))
}

// claimNext takes the first unfinished batch from batch from on that
// nobody claims (or whose claim expired), for owner until until, under
// the session lock key lock, and reports whether there was one. On
// PostgreSQL, SKIP LOCKED lets several senders claim at once, each
// passing over the rows the others are claiming.
func (s sendStore) claimNext(ctx context.Context, campaignID int64, from int, owner string, lock int64, now, until time.Time) (int, bool, error) {
	var bs []int
	q := s.db.NewSelect().Table("newsletter_batches").Column("batch").
		Where("status IN (?)", unfinishedBatches).Where("campaign_id = ? AND batch >= ?", campaignID, from).
		Where("(owner = '' OR claimed_until IS NULL OR claimed_until < ?)", now).
		Order("batch").Limit(1)
	if s.db.Dialect().Name() == dialect.PG {
		q = q.For("UPDATE SKIP LOCKED")
	}
	if err := q.Scan(ctx, &bs); err != nil || len(bs) == 0 {
		return 0, false, err
	}
	_, err := s.db.NewUpdate().Table("newsletter_batches").Set("owner = ?", owner).
		Set("claimed_until = ?", until).Set("owner_lock = ?", lock).
		Where("campaign_id = ? AND batch = ?", campaignID, bs[0]).Exec(ctx)
	return bs[0], err == nil, err
}

// freeClaims gives the campaign's unfinished batches that where (with its
// bound args) selects back to the pool, and returns how many it freed.
func (s sendStore) freeClaims(ctx context.Context, campaignID int64, where string, args ...any) (int64, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("owner = ''").Set("claimed_until = NULL").
		Set("owner_lock = 0").Where("status IN (?)", unfinishedBatches).Where("campaign_id = ?", campaignID).
		Where(where, args...).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// freeClaimsOf frees the batches owner claimed and did not finish.
func (s sendStore) freeClaimsOf(ctx context.Context, campaignID int64, owner string) error {
	_, err := s.freeClaims(ctx, campaignID, "owner = ?", owner)
	return err
}

// freeEveryClaim frees every claim of the campaign.
func (s sendStore) freeEveryClaim(ctx context.Context, campaignID int64) error {
	_, err := s.freeClaims(ctx, campaignID, "owner <> ''")
	return err
}

// freeClaimsUnder frees the claims made under the session lock key, and
// returns how many.
func (s sendStore) freeClaimsUnder(ctx context.Context, campaignID, lock int64) (int64, error) {
	return s.freeClaims(ctx, campaignID, "owner_lock = ?", lock)
}

// otherSessions returns the session lock keys, other than own, under
// which the campaign's unfinished batches are claimed.
func (s sendStore) otherSessions(ctx context.Context, campaignID, own int64) ([]int64, error) {
	var keys []int64
	err := s.db.NewSelect().Table("newsletter_batches").ColumnExpr("DISTINCT owner_lock").
		Where("status IN (?)", unfinishedBatches).Where("campaign_id = ?", campaignID).
		Where("owner <> '' AND owner_lock <> 0 AND owner_lock <> ?", own).Scan(ctx, &keys)
	return keys, err
}

// One batch.

// batch returns a batch as stored, or nil if there is none.
func (s sendStore) batch(ctx context.Context, campaignID int64, batch int) (*batchRow, error) {
	var rows []batchRow
	if err := s.db.NewSelect().Model(&rows).Where("campaign_id = ? AND batch = ?", campaignID, batch).Scan(ctx); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// pendingDeliveries are the ids, supporters and languages of a batch's
// pending deliveries.
type pendingDelivery struct {
	ID          int64  `bun:"id"`
	SupporterID int64  `bun:"supporter_id"`
	Language    string `bun:"language"`
}

func (s sendStore) pendingDeliveries(ctx context.Context, campaignID int64, batch int) ([]pendingDelivery, error) {
	var ds []pendingDelivery
	err := s.db.NewSelect().Table("newsletter_deliveries").Column("id", "supporter_id", "language").
		Where("campaign_id = ? AND batch = ? AND status = ?", campaignID, batch, deliveryPending).
		Order("id").Scan(ctx, &ds)
	return ds, err
}

// skipDeliveries marks those of ids still pending skipped, for why.
func (s sendStore) skipDeliveries(ctx context.Context, ids []int64, why string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.NewUpdate().Table("newsletter_deliveries").Set("status = ?", deliverySkipped).
		Set("error = ?", why).Set("updated_at = ?", now).
		Where("id IN (?) AND status = ?", bun.List(ids), deliveryPending).Exec(ctx)
	return err
}

// storeSnapshot writes a batch's payload and its new status (prepared,
// or done when nobody is left in it), unless the batch changed since it
// was read: handed over, erased from (generation) or taken over (owner).
// It reports whether it wrote.
func (s sendStore) storeSnapshot(ctx context.Context, campaignID int64, batch int, owner string, generation int,
	status batchStatus, payload string) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("payload = ?", payload).Set("status = ?", status).
		Where("campaign_id = ? AND batch = ? AND status IN (?)", campaignID, batch, storableBatches).
		Where("generation = ? AND owner = ?", generation, owner).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// markInFlight marks a prepared batch handed over at now, unless it
// changed since it was prepared, and reports whether it did.
func (s sendStore) markInFlight(ctx context.Context, campaignID int64, batch int, owner string, generation int, now time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("status = ?", batchInFlight).
		Set("attempted_at = ?", now).
		Where("campaign_id = ? AND batch = ? AND status = ?", campaignID, batch, batchPrepared).
		Where("owner = ? AND generation = ?", owner, generation).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// markRefused records that every request of a batch in flight was
// refused for certain (see Newsletter.deliver).
func (s sendStore) markRefused(ctx context.Context, campaignID int64, batch int, owner string) error {
	_, err := s.db.NewUpdate().Table("newsletter_batches").Set("refused = 1").
		Where("campaign_id = ? AND batch = ? AND status = ? AND owner = ?", campaignID, batch, batchInFlight, owner).
		Exec(ctx)
	return err
}

// retryRefused clears the refused mark of a batch in flight, with a new
// attempt time, before it goes again, and reports whether it did.
func (s sendStore) retryRefused(ctx context.Context, campaignID int64, batch int, owner string, now time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("refused = 0").Set("attempted_at = ?", now).
		Where("campaign_id = ? AND batch = ? AND status = ? AND refused <> 0 AND owner = ?",
			campaignID, batch, batchInFlight, owner).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// recordOutcomes writes the outcome of each message of a batch the
// provider answered, and marks the batch done, its payload dropped.
// Deliveries before their batch, in every transaction of the engine and
// in Forget, so PostgreSQL never finds two of them waiting on each other.
func (s sendStore) recordOutcomes(ctx context.Context, campaignID int64, batch int, outcomes []outcome) error {
	if _, err := s.db.NewUpdate().Model(&outcomes).Column("status", "provider_id", "error", "updated_at").
		Bulk().Exec(ctx); err != nil {
		return err
	}
	_, err := s.db.NewUpdate().Table("newsletter_batches").Set("status = ?", batchDone).Set("payload = ''").
		Where("campaign_id = ? AND batch = ?", campaignID, batch).Exec(ctx)
	return err
}

// markUncertain marks a batch uncertain and its pending deliveries
// failed for why, and returns how many deliveries.
func (s sendStore) markUncertain(ctx context.Context, campaignID int64, batch int, why string, now time.Time) (int, error) {
	res, err := s.db.NewUpdate().Table("newsletter_deliveries").Set("status = ?", deliveryFailed).
		Set("error = ?", why).Set("updated_at = ?", now).
		Where("campaign_id = ? AND batch = ? AND status = ?", campaignID, batch, deliveryPending).Exec(ctx)
	if err != nil {
		return 0, err
	}
	k, _ := res.RowsAffected()
	_, err = s.db.NewUpdate().Table("newsletter_batches").Set("status = ?", batchUncertain).Set("payload = ''").
		Where("campaign_id = ? AND batch = ?", campaignID, batch).Exec(ctx)
	return int(k), err
}

// settled counts the campaign's deliveries no longer pending.
func (s sendStore) settled(ctx context.Context, campaignID int64) (int, error) {
	return count(s.db.NewSelect().Table("newsletter_deliveries").
		Where("campaign_id = ? AND status <> ?", campaignID, deliveryPending).Count(ctx))
}

// firstPending returns the campaign's first pending delivery, if any.
func (s sendStore) firstPending(ctx context.Context, campaignID int64) ([]recipientRow, error) {
	var first []recipientRow
	err := s.db.NewSelect().Table("newsletter_deliveries").ColumnExpr("supporter_id AS id, email, language").
		Where("campaign_id = ? AND status = ?", campaignID, deliveryPending).Order("id").Limit(1).Scan(ctx, &first)
	return first, err
}

// pendingAfter returns up to limit pending deliveries of a campaign with
// supporter ids above after, in supporter order.
func (s sendStore) pendingAfter(ctx context.Context, campaignID, after int64, limit int) ([]recipientRow, error) {
	var rows []recipientRow
	err := s.db.NewSelect().Table("newsletter_deliveries").ColumnExpr("supporter_id AS id, email, language").
		Where("campaign_id = ? AND status = ? AND supporter_id > ?", campaignID, deliveryPending, after).
		Order("supporter_id").Limit(int64(limit)).Scan(ctx, &rows)
	return rows, err
}

// Erasure (Forget) during a send.

// requeueErased sends a batch not yet handed over back to pending, its
// payload dropped and its generation bumped so that a sender preparing
// it stores nothing, and reports whether it did.
func (s sendStore) requeueErased(ctx context.Context, campaignID int64, batch int) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("status = ?", batchPending).Set("payload = ''").
		Set("generation = generation + 1").
		Where("campaign_id = ? AND batch = ? AND status IN (?)", campaignID, batch, storableBatches).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// markHoldsErased marks a batch in flight as holding an erased address
// in its payload, and reports whether it did.
func (s sendStore) markHoldsErased(ctx context.Context, campaignID int64, batch int) (bool, error) {
	res, err := s.db.NewUpdate().Table("newsletter_batches").Set("holds_erased = 1").
		Where("campaign_id = ? AND batch = ? AND status = ?", campaignID, batch, batchInFlight).Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// resolvedErased counts the campaign's resolved batches marked as having
// held an erased address.
func (s sendStore) resolvedErased(ctx context.Context, campaignID int64) (int, error) {
	return count(s.db.NewSelect().Table("newsletter_batches").
		Where("campaign_id = ? AND holds_erased <> 0 AND status IN (?)", campaignID, resolvedBatches).Count(ctx))
}

func (s sendStore) clearResolvedErased(ctx context.Context, campaignID int64) error {
	_, err := s.db.NewUpdate().Table("newsletter_batches").Set("holds_erased = 0").
		Where("campaign_id = ? AND holds_erased <> 0 AND status IN (?)", campaignID, resolvedBatches).Exec(ctx)
	return err
}

// count is a COUNT query's result as an int.
func count(k int64, err error) (int, error) { return int(k), err }
