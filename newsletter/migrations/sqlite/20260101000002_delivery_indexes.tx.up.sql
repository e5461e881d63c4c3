-- Recording a batch's outcome rewrites status and provider_id of 100
-- deliveries: keep status out of the batch index and leave pending
-- deliveries (no provider id yet) out of the provider index.
DROP INDEX IF EXISTS newsletter_deliveries_batch_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_batch_idx ON newsletter_deliveries (campaign_id, batch);
--bun:split
DROP INDEX IF EXISTS newsletter_deliveries_provider_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_provider_idx ON newsletter_deliveries (provider_id) WHERE provider_id <> '';
