-- The changes of an event's time or place that people were told of
-- (issue 17, see newsletter/event_notice.go): the time and place before
-- change N, N being the event's sequence after the edit. Its emails are
-- notices under the dedupe key "change-N", once per person; each says
-- what is true when it goes, and what it was before.
CREATE TABLE IF NOT EXISTS newsletter_event_changes (
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    sequence    INTEGER NOT NULL,
    starts_at   TIMESTAMP NOT NULL,
    ends_at     TIMESTAMP,
    address     TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL DEFAULT '',
    postcode    TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, sequence)
);
