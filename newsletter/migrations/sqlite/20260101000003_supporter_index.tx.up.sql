-- An index on provider_id took a random insert per message sent: about
-- a hundred scattered pages rewritten per batch, a third of a send's
-- time. Webhooks now find the delivery through the recipient's supporter
-- (the address in the event) and this index, written once, in order,
-- when the audience is frozen; it also serves a supporter's export and
-- erasure.
DROP INDEX IF EXISTS newsletter_deliveries_provider_idx;
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_supporter_idx ON newsletter_deliveries (supporter_id);
