-- The association's name and postal address shown in a campaign's footer,
-- copied from the settings when its send starts, so that every retry of a
-- batch renders the same bytes even if the settings change meanwhile.
ALTER TABLE newsletter_campaigns ADD COLUMN association TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE newsletter_campaigns ADD COLUMN postal_address TEXT NOT NULL DEFAULT '';
