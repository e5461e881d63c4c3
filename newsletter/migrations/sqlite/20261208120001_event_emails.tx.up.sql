-- Emails about events (issue 17, see newsletter/event_email.go).
--
-- An invitation is a campaign linked to its event (event_id). When its
-- send starts, the event as it then is (title, time, place) is copied
-- into event_snapshot, so every batch, and every retry of one, renders
-- the same bytes, as the footer and the link base are copied.
ALTER TABLE newsletter_campaigns ADD COLUMN event_id INTEGER;
--bun:split
ALTER TABLE newsletter_campaigns ADD COLUMN event_snapshot TEXT NOT NULL DEFAULT '';
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_campaigns_event_idx ON newsletter_campaigns (event_id) WHERE event_id IS NOT NULL;
--bun:split

-- The organiser's own templates of an event's emails, per occasion (the
-- dedupe key of the notices: "cancel", "reminder-2") and language
-- (position 0 is the variant for other languages). Without one, the
-- package's default is sent.
CREATE TABLE IF NOT EXISTS newsletter_event_templates (
    event_id  INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    occasion  TEXT NOT NULL,
    language  TEXT NOT NULL,
    position  INTEGER NOT NULL,
    source    TEXT NOT NULL,
    PRIMARY KEY (event_id, occasion, language)
);
--bun:split

-- The reminders of an event, numbered from 1: reminder k queues its
-- notices under the dedupe key "reminder-k", once per person.
CREATE TABLE IF NOT EXISTS newsletter_event_reminders (
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, number)
);
