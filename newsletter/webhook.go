package newsletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// WebhookEvent is the part of a Resend webhook event the package uses.
type WebhookEvent struct {
	Type string `json:"type"`
	Data struct {
		EmailID string   `json:"email_id"`
		To      []string `json:"to"`
		Bounce  struct {
			Type string `json:"type"` // Permanent, Transient, Undetermined
		} `json:"bounce"`
		// Tags are those of the message (Message.Tags). Resend sends
		// them as an object; older payloads as a list of name and value.
		Tags webhookTags `json:"tags"`
	} `json:"data"`
}

// webhookTags reads the tags of an event in either form Resend uses.
type webhookTags map[string]string

// UnmarshalJSON takes {"campaign": "x"} or [{"name": "campaign", "value": "x"}].
func (t *webhookTags) UnmarshalJSON(b []byte) error {
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err == nil {
		*t = m
		return nil
	}
	var list []struct{ Name, Value string }
	if err := json.Unmarshal(b, &list); err != nil {
		return nil // tags are a help, never a reason to refuse an event
	}
	for _, kv := range list {
		m[kv.Name] = kv.Value
	}
	*t = m
	return nil
}

// WebhookResult says what an event did.
type WebhookResult int

// Webhook results.
const (
	WebhookApplied  WebhookResult = iota // the event changed something, or was recorded
	WebhookReplayed                      // this svix-id was handled before: nothing done
	WebhookIgnored                       // an event type or recipient the package does not act on
)

// ApplyWebhook applies a verified webhook event once per svix id: a
// permanent bounce marks the address bounced; a complaint marks it
// complained and unsubscribes it from every list; a delivery is noted on
// the delivery record. Every change is recorded in the consent history
// with source "webhook". The changes and the record of the svix id are
// one transaction: an event is applied whole, or not at all and not
// recorded, so a retry of the provider applies it.
func (n *Newsletter) ApplyWebhook(ctx context.Context, svixID string, payload []byte) (WebhookResult, error) {
	seen, err := n.bun.NewSelect().Table("newsletter_webhook_events").Where("svix_id = ?", svixID).Exists(ctx)
	if err != nil {
		return 0, err
	}
	if seen {
		return WebhookReplayed, nil
	}
	var ev WebhookEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return 0, &crm.ValidationError{Field: "payload", Reason: "not a JSON event: " + err.Error()}
	}
	var res WebhookResult
	err = n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		// The event is recorded first: of two deliveries of one event at
		// once, the one that records it applies it, and the other finds
		// it recorded (counters such as opens must not count it twice).
		r, err := dbutil.Tx(tx).NewInsert().Model(&webhookEvent{SvixID: svixID, Type: ev.Type, ReceivedAt: n.clock()}).
			On("CONFLICT (svix_id) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if !affected(r) {
			res = WebhookReplayed
			return nil
		}
		res, err = n.applyEvent(ctx, tx, ev)
		return err
	})
	if err != nil {
		return 0, err
	}
	return res, nil
}

type webhookEvent struct {
	bun.BaseModel `bun:"table:newsletter_webhook_events"`
	SvixID        string    `bun:"svix_id,pk"`
	Type          string    `bun:"type"`
	ReceivedAt    time.Time `bun:"received_at"`
}

func (n *Newsletter) applyEvent(ctx context.Context, tx *crm.Tx, ev WebhookEvent) (WebhookResult, error) {
	var event string
	switch ev.Type {
	case "email.delivered":
		event = "delivered"
	case "email.delivery_delayed":
		event = "delayed"
	case "email.bounced":
		event = "bounced"
	case "email.complained":
		event = "complained"
	case "email.opened", "email.clicked":
		// Counted for the campaign only: never who opened or clicked.
		campaign := ev.Data.Tags["campaign"]
		if campaign == "" {
			return WebhookIgnored, nil
		}
		column := "opened"
		if ev.Type == "email.clicked" {
			column = "clicked"
		}
		// column is one of two constants, never from the event.
		res, err := dbutil.Tx(tx).NewUpdate().Table("newsletter_campaigns").Set(column+" = "+column+" + 1").
			Where("name = ?", campaign).Exec(ctx)
		if err != nil || !affected(res) {
			return WebhookIgnored, err
		}
		return WebhookApplied, nil
	default:
		return WebhookIgnored, nil
	}
	noted, err := n.noteDeliveryEvent(ctx, tx, ev, event)
	if err != nil {
		return 0, err
	}
	if event == "delayed" || event == "bounced" && ev.Data.Bounce.Type != "Permanent" {
		// The address may still work: only the campaign's report counts it.
		if !noted {
			return WebhookIgnored, nil
		}
		return WebhookApplied, nil
	}
	supporterID, err := webhookSupporter(ctx, tx, ev)
	if err != nil || supporterID == 0 {
		return WebhookIgnored, err
	}
	consent := crm.Consent{Source: crm.SourceWebhook, Text: ev.Type}
	switch event {
	case "bounced":
		_, err = tx.SetEmailStatus(ctx, supporterID, crm.EmailBounced, consent)
	case "complained":
		if _, err = tx.SetEmailStatus(ctx, supporterID, crm.EmailComplained, consent); err == nil {
			_, err = tx.Unsubscribe(ctx, supporterID, "", consent)
		}
	}
	return WebhookApplied, err
}

// noteDeliveryEvent records the event on the delivery of the message it
// is about, found by the message's tags (its delivery id, checked against
// the provider's id), else through the supporter who has the recipient
// address now. A delay never hides a later or earlier outcome.
func (n *Newsletter) noteDeliveryEvent(ctx context.Context, tx *crm.Tx, ev WebhookEvent, event string) (bool, error) {
	if ev.Data.EmailID == "" {
		return false, nil
	}
	q := dbutil.Tx(tx).NewUpdate().Table("newsletter_deliveries").Set("event = ?", event).Set("updated_at = ?", n.clock()).
		Where("provider_id = ? AND provider_id <> ''", ev.Data.EmailID)
	if event == "delayed" {
		q.Where("event = ''")
	}
	if id, err := strconv.ParseInt(ev.Data.Tags["delivery"], 10, 64); err == nil && id > 0 {
		q.Where("id = ?", id)
	} else {
		// Through the supporter's index: provider ids are not indexed
		// (see migration 3).
		supporterID, err := webhookSupporter(ctx, tx, ev)
		if err != nil || supporterID == 0 {
			return false, err
		}
		q.Where("supporter_id = ?", supporterID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, err
	}
	return affected(res), nil
}

// webhookSupporter finds who an event is about: the supporter who has
// the event's recipient address now. It returns 0 for an address nobody
// has (never known, erased, or changed since the message was sent: a
// bounce of an old address says nothing of the new one).
func webhookSupporter(ctx context.Context, tx *crm.Tx, ev WebhookEvent) (int64, error) {
	for _, to := range ev.Data.To {
		if a, err := mail.ParseAddress(to); err == nil {
			to = a.Address // "Name <address>" as well as a bare address
		}
		id, err := tx.SupporterID(ctx, to)
		if errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrInvalid) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("webhook: %w", err)
		}
		return id, nil
	}
	return 0, nil
}
