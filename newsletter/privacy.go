package newsletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// DeliveryRecord is one campaign a supporter was sent, for exports.
type DeliveryRecord struct {
	Campaign   string `bun:"campaign" json:"campaign"`
	Status     string `bun:"status" json:"status"`
	ProviderID string `bun:"provider_id" json:"provider_id,omitempty"`
	Event      string `bun:"event" json:"event,omitempty"`
	UpdatedAt  string `bun:"updated_at" json:"updated_at"`
}

// Export returns everything held about the supporter with the given
// address: crm's export plus the deliveries of every campaign.
func (n *Newsletter) Export(ctx context.Context, email string) (*crm.Export, error) {
	x, err := n.db.ExportSupporter(ctx, email)
	if err != nil {
		return nil, err
	}
	var ds []DeliveryRecord
	if err := n.bun.NewSelect().Table("newsletter_deliveries").TableExpr("newsletter_campaigns AS c").
		ColumnExpr("c.name AS campaign, newsletter_deliveries.status, newsletter_deliveries.provider_id").
		ColumnExpr("newsletter_deliveries.event, newsletter_deliveries.updated_at").
		Where("c.id = newsletter_deliveries.campaign_id").
		Where("newsletter_deliveries.supporter_id = ?", x.Supporter.ID).
		Order("newsletter_deliveries.id").Scan(ctx, &ds); err != nil {
		return nil, err
	}
	x.Extra = map[string]any{"deliveries": ds}
	return x, nil
}

// Prune erases, as Forget does, every supporter crm.InactiveSupporters
// finds for the cutoff, and returns the report of each one erased (also
// with an error, for those erased before it). Each supporter is erased in
// a transaction of their own, as Forget does (an erasure commits alone,
// then the log is truncated), so an error leaves the ones before it
// erased. A log that could not be
// truncated (crm.ErrLogBusy) does not stop it: it is tried again at the
// end, and the error returned wraps crm.ErrLogBusy if it is still busy.
func (n *Newsletter) Prune(ctx context.Context, since time.Time) ([]*ForgetReport, error) {
	ss, err := n.db.InactiveSupporters(ctx, since)
	if err != nil {
		return nil, err
	}
	var reps []*ForgetReport
	busy := false
	for _, s := range ss {
		rep, err := n.Forget(ctx, s.Email)
		if rep != nil {
			reps = append(reps, rep)
		}
		if errors.Is(err, crm.ErrLogBusy) {
			busy = true
		} else if err != nil {
			return reps, fmt.Errorf("prune: supporter %d: %w", s.ID, err)
		}
	}
	if busy {
		if err := n.db.TruncateLog(ctx); err != nil {
			return reps, fmt.Errorf("prune: erased, but %w", err)
		}
	}
	return reps, nil
}

// ForgetReport says what erasing a supporter could not undo.
type ForgetReport struct {
	SupporterID int64 `json:"supporter_id"`
	// MayHaveBeenMailed names the campaigns that had this person in a
	// batch handed to the provider, with no answer recorded yet, when
	// they were erased (a send stopped or still running): that batch may
	// already have gone out, so it is sent again as it was, under its
	// idempotency key, when the send goes on, and the provider either
	// answers as it did or sends it then. The address stays in that
	// batch's stored payload until then.
	MayHaveBeenMailed []string `json:"may_have_been_mailed,omitempty"`
	// NoticesMayHaveGone counts the person's confirmation or welcome
	// emails that were being handed to the provider when they were
	// erased: they may have gone out, and are never sent again.
	NoticesMayHaveGone int `json:"notices_may_have_gone,omitempty"`
}

// Forget erases a supporter as crm.Forget does, and also the address in
// their deliveries and in the campaigns' segments (see
// crm.RedactSegment), and takes them out of every send not finished, all
// in crm.Forget's one transaction.
// When the erasure was committed but SQLite's log could not be
// truncated, it returns its report with an error wrapping
// crm.ErrLogBusy: the erasure holds, and the report must be shown.
//
// A send stopped midway (a crash, a quota, Ctrl-C) or still running holds
// the person's data in two places: their delivery, and perhaps the
// stored payload of their batch. What erasure does depends on whether
// the provider may have seen that batch, which the engine knows exactly:
// a batch is marked in flight, in a committed transaction, before it is
// handed to the provider, and never otherwise.
//
//   - Not in flight (pending, or prepared with its payload stored): the
//     provider never saw its idempotency key. The delivery is marked
//     skipped, and the batch goes back to pending with its payload
//     emptied and its generation bumped; the sender that prepared it (if
//     one is running) finds it changed when it marks it in flight, and
//     prepares it again from the database, where the erased person is
//     no longer a recipient. The others get the same message under the
//     same key (the provider never saw the old payload, so no 409), and
//     the erased address is never mailed. No text is cut out of a JSON
//     payload: it is dropped whole and rebuilt.
//   - In flight: the request may have reached the provider. Changing its
//     payload would make every resume fail with 409 (same key, other
//     payload) and re-keying it could mail the others twice, so the
//     batch keeps its payload and key until it is resolved: the resume
//     sends it again as it was and the provider either replays its
//     answer or sends it. The batch is marked holds_erased; when it is
//     done its payload is emptied, as every finished batch's is, and the
//     SQLite log is truncated (scrubResolved), so on SQLite no byte of
//     the address is left in the database's files. The report names the
//     campaign (MayHaveBeenMailed).
//
// On PostgreSQL the erased values are gone from every row as seen by
// queries, but the server's files keep old row versions until VACUUM
// reclaims them (autovacuum does it in time; VACUUM cannot run inside
// the erasure's transaction), and its WAL and base backups are the
// server's: "no byte left" is a promise about SQLite's files only.
//
// Files outside the database (an Outbox folder, backups) are the user's:
// Forget cannot reach them.
func (n *Newsletter) Forget(ctx context.Context, email string) (*ForgetReport, error) {
	return n.ForgetWith(ctx, email, crm.ForgetOptions{})
}

// ForgetWith is Forget with crm's options: with opts.Force, a donor with
// a tax receipt of the last six years is erased too (see
// crm.DB.ForgetWith), which is otherwise refused with an error wrapping
// crm.ErrRetention. opts.Erasers run after newsletter's own.
func (n *Newsletter) ForgetWith(ctx context.Context, email string, opts crm.ForgetOptions) (*ForgetReport, error) {
	rep := &ForgetReport{}
	opts.Erasers = append([]crm.Eraser{func(ctx context.Context, crmTx *crm.Tx, id int64, addr string) error {
		tx := dbutil.Tx(crmTx) // the deliveries and campaigns are newsletter's tables
		rep.SupporterID = id
		if tx.Dialect().Name() == dialect.PG {
			// A first Send freezing a campaign's audience (freeze) holds
			// its campaign row locked, and its INSERT ... SELECT reads
			// the supporters as they were when it began: a delivery it
			// writes may still hold the address erased here. Waiting
			// for every freeze under way, before the deliveries are
			// read below, lets this transaction see those rows and
			// clear them. freeze locks no supporter row, so waiting
			// here, with the supporter locked by crm.Forget, cannot
			// deadlock. (On SQLite the write lock serialises the two.)
			if _, err := tx.NewRaw("SELECT id FROM newsletter_campaigns WHERE status = ? ORDER BY id FOR UPDATE",
				StatusDraft).Exec(ctx); err != nil {
				return err
			}
		}
		// Deliveries first, then batches: the order the engine's own
		// transactions lock them in (record), so PostgreSQL finds no
		// deadlock between an erasure and a running send.
		var pending []struct {
			ID         int64 `bun:"id"`
			CampaignID int64 `bun:"campaign_id"`
			Batch      int   `bun:"batch"`
		}
		if err := tx.NewSelect().Table("newsletter_deliveries").Column("id", "campaign_id", "batch").
			Where("supporter_id = ? AND status = ?", id, deliveryPending).Order("id").Scan(ctx, &pending); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Table("newsletter_deliveries").Set("email = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		s := sendStore{tx}
		for _, d := range pending {
			requeued, err := s.requeueErased(ctx, d.CampaignID, d.Batch)
			if err != nil {
				return err
			}
			if requeued {
				if err := s.skipDeliveries(ctx, []int64{d.ID}, "erased", n.clock()); err != nil {
					return err
				}
				continue
			}
			marked, err := s.markHoldsErased(ctx, d.CampaignID, d.Batch)
			if err != nil {
				return err
			}
			if marked {
				var name string
				if err := tx.NewSelect().Table("newsletter_campaigns").Column("name").
					Where("id = ?", d.CampaignID).Scan(ctx, &name); err != nil {
					return err
				}
				rep.MayHaveBeenMailed = append(rep.MayHaveBeenMailed, name)
			}
			// Otherwise the batch was resolved meanwhile: its payload is
			// empty already.
		}
		// Their queued emails (confirmations, welcomes) are dropped: one
		// whose message was stored may have been handed to the provider,
		// so it is never sent again (uncertain) and counted in the report.
		inFlight, err := tx.NewSelect().Table("newsletter_notices").
			Where("supporter_id = ? AND status = ? AND payload <> ''", id, noticeInFlight).Count(ctx)
		if err != nil {
			return err
		}
		rep.NoticesMayHaveGone = int(inFlight)
		if _, err := tx.NewUpdate().Table("newsletter_notices").
			Set("status = CASE WHEN payload <> '' THEN ? ELSE ? END", noticeUncertain, noticeSkipped).
			Set("error = 'erased'").Set("payload = ''").Set("owner = ''").Set("claimed_until = NULL").
			Set("finished_at = ?", n.clock()).
			Where("supporter_id = ? AND status IN (?, ?)", id, noticePending, noticeInFlight).Exec(ctx); err != nil {
			return err
		}
		var cs []struct {
			ID      int64  `bun:"id"`
			Segment string `bun:"segment"`
		}
		if err := tx.NewSelect().Table("newsletter_campaigns").Column("id", "segment").
			Where("segment <> ''").Scan(ctx, &cs); err != nil {
			return err
		}
		for _, c := range cs {
			if expr, ok := crm.RedactSegment(c.Segment, addr, crm.ErasedAddress(id)); ok {
				if _, err := tx.NewUpdate().Table("newsletter_campaigns").Set("segment = ?", expr).
					Where("id = ?", c.ID).Exec(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	}}, opts.Erasers...)
	err := n.db.ForgetWith(ctx, email, opts)
	if err != nil && !errors.Is(err, crm.ErrLogBusy) {
		return nil, err
	}
	// Erased: the report goes back even when the log stayed (ErrLogBusy),
	// as it says what the caller must know about the erasure.
	return rep, err
}

// scrubResolved finishes the erasures that had to wait for a batch in
// flight (see Forget): once such a batch of the campaign is resolved and
// its payload emptied, on SQLite the write-ahead log, whose older frames
// may still hold the old payload, is checkpointed and truncated, and the
// mark goes. If a reader keeps the log from being truncated, the mark
// stays and the next send of the campaign (even one with nothing left to
// send) tries again.
func (n *Newsletter) scrubResolved(ctx context.Context, campaignID int64) error {
	k, err := n.store().resolvedErased(ctx, campaignID)
	if err != nil || k == 0 {
		return err
	}
	if err := n.db.TruncateLog(ctx); errors.Is(err, crm.ErrLogBusy) {
		return nil // the mark stays: the next send tries again
	} else if err != nil {
		return fmt.Errorf("after an erasure: %w", err)
	}
	return n.store().clearResolvedErased(ctx, campaignID)
}
