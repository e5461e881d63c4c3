-- When a scheduled campaign is due (UTC); NULL for a campaign sent by hand.
ALTER TABLE newsletter_campaigns ADD COLUMN scheduled_at TIMESTAMP;
