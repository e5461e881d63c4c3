-- When a recipient left the list through this campaign's unsubscribe
-- link (the link names the campaign).
ALTER TABLE newsletter_deliveries ADD COLUMN unsubscribed_at TIMESTAMPTZ;
--bun:split
-- Opens and clicks, when an association turns Resend's tracking on, are
-- counted per campaign only: never who opened or clicked.
ALTER TABLE newsletter_campaigns ADD COLUMN opened INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE newsletter_campaigns ADD COLUMN clicked INTEGER NOT NULL DEFAULT 0;
