ALTER TABLE newsletter_campaigns DROP COLUMN scheduled_at;
