DROP INDEX IF EXISTS newsletter_deliveries_supporter_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_provider_idx ON newsletter_deliveries (provider_id) WHERE provider_id <> '';
