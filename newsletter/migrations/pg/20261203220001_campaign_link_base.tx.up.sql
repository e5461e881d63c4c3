-- The public URL a campaign's links start with, copied when its send
-- starts: a retry of a batch after the setting or the flag changed
-- renders the same links, so the same bytes under the same key.
ALTER TABLE newsletter_campaigns ADD COLUMN public_url TEXT NOT NULL DEFAULT '';
