ALTER TABLE newsletter_campaigns DROP COLUMN clicked;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN opened;
--bun:split
ALTER TABLE newsletter_deliveries DROP COLUMN unsubscribed_at;
