-- Notices about an event (issue 17): a place freed from the waiting list,
-- a reminder, a cancellation. event_id names the event; dedupe, when set,
-- makes a notice once per person and occasion ("cancel", "reminder-2"):
-- queueing it again is a no-op. See newsletter/event_notice.go.
ALTER TABLE newsletter_notices ADD COLUMN event_id BIGINT;
--bun:split
ALTER TABLE newsletter_notices ADD COLUMN dedupe TEXT;
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS newsletter_notices_dedupe_idx ON newsletter_notices (event_id, supporter_id, dedupe) WHERE dedupe IS NOT NULL;
