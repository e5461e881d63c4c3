DROP TABLE IF EXISTS newsletter_event_reminders;
--bun:split
DROP TABLE IF EXISTS newsletter_event_templates;
--bun:split
DROP INDEX IF EXISTS newsletter_campaigns_event_idx;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN event_snapshot;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN event_id;
