package newsletter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
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
// finds for the cutoff, and returns how many it erased.
func (n *Newsletter) Prune(ctx context.Context, since time.Time) (int, error) {
	ss, err := n.db.InactiveSupporters(ctx, since)
	if err != nil {
		return 0, err
	}
	for i, s := range ss {
		if err := n.Forget(ctx, s.Email); err != nil {
			return i, fmt.Errorf("prune: supporter %d: %w", s.ID, err)
		}
	}
	return len(ss), nil
}

// Forget erases a supporter as crm.Forget does, and also the address
// in their deliveries, in any stored batch snapshot and in the campaigns'
// segments (see crm.RedactSegment).
func (n *Newsletter) Forget(ctx context.Context, email string) error {
	return n.db.Forget(ctx, email, func(ctx context.Context, tx bun.IDB, id int64, addr string) error {
		if _, err := tx.NewUpdate().Table("newsletter_deliveries").Set("email = ''").
			Where("supporter_id = ?", id).Exec(ctx); err != nil {
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
		// A snapshot still in a batch row (a send stopped midway) holds the
		// address JSON-encoded; it goes too.
		quoted := strings.Trim(strings.ReplaceAll(addr, `"`, `\\"`), " ")
		_, err := tx.NewUpdate().Table("newsletter_batches").Set("payload = replace(payload, ?, '')", quoted).
			Where("payload LIKE ?", "%"+quoted+"%").Exec(ctx)
		return err
	})
}
