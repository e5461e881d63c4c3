DROP TABLE IF EXISTS newsletter_webhook_events;
--bun:split
DROP TABLE IF EXISTS newsletter_batches;
--bun:split
DROP TABLE IF EXISTS newsletter_deliveries;
--bun:split
DROP TABLE IF EXISTS newsletter_templates;
--bun:split
DROP TABLE IF EXISTS newsletter_campaigns;
