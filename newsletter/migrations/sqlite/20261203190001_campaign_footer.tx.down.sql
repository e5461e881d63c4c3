ALTER TABLE newsletter_campaigns DROP COLUMN postal_address;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN association;
