DROP INDEX IF EXISTS newsletter_deliveries_provider_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_provider_idx ON newsletter_deliveries (provider_id);
--bun:split
DROP INDEX IF EXISTS newsletter_deliveries_batch_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_batch_idx ON newsletter_deliveries (campaign_id, batch, status);
