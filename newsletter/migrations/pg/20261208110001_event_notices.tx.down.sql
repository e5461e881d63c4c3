DROP INDEX IF EXISTS newsletter_notices_dedupe_idx;
--bun:split
ALTER TABLE newsletter_notices DROP COLUMN dedupe;
--bun:split
ALTER TABLE newsletter_notices DROP COLUMN event_id;
