-- Events, RSVPs and attendance (issue 17); see crm/event.go.
CREATE TABLE IF NOT EXISTS events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    title_en        TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    description_en  TEXT NOT NULL DEFAULT '',
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP,
    address         TEXT NOT NULL DEFAULT '',
    city            TEXT NOT NULL DEFAULT '',
    postcode        TEXT NOT NULL DEFAULT '',
    capacity        INTEGER NOT NULL DEFAULT 0,
    kind            TEXT NOT NULL,
    public          BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    cancelled_at    TIMESTAMP
);
--bun:split
-- One current answer per person and event. waiting: a "yes" beyond the
-- capacity, on the waiting list since waiting_since.
CREATE TABLE IF NOT EXISTS event_rsvps (
    event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    supporter_id   INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    answer         TEXT NOT NULL,
    guests         INTEGER NOT NULL DEFAULT 0,
    waiting        BOOLEAN NOT NULL DEFAULT FALSE,
    waiting_since  TIMESTAMP,
    source         TEXT NOT NULL,
    answered_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, supporter_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS event_rsvps_supporter_idx ON event_rsvps (supporter_id);
--bun:split
-- Every answer given, in order: the history behind event_rsvps.
CREATE TABLE IF NOT EXISTS event_rsvp_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    supporter_id   INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    answer         TEXT NOT NULL,
    guests         INTEGER NOT NULL DEFAULT 0,
    waiting        BOOLEAN NOT NULL DEFAULT FALSE,
    source         TEXT NOT NULL,
    at             TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS event_rsvp_history_idx ON event_rsvp_history (event_id, supporter_id);
--bun:split
CREATE INDEX IF NOT EXISTS event_rsvp_history_supporter_idx ON event_rsvp_history (supporter_id);
--bun:split
CREATE TABLE IF NOT EXISTS event_attendance (
    event_id       INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    supporter_id   INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    recorded_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, supporter_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS event_attendance_supporter_idx ON event_attendance (supporter_id, status);
