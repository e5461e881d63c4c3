ALTER TABLE newsletter_campaigns DROP COLUMN public_url;
