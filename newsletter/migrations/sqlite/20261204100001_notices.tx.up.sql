-- Notices: the emails one person's own action calls for (a confirmation,
-- a welcome), queued in the transaction of that action and sent once
-- through the delivery engine (see notice.go). payload is the message,
-- stored before the provider is called so that a retry sends the same
-- bytes under the same key; it is cleared once the notice is resolved.
CREATE TABLE IF NOT EXISTS newsletter_notices (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    supporter_id     INTEGER  NOT NULL,
    list_ids         TEXT    NOT NULL DEFAULT '', -- the lists it is about, comma-separated ids
    idempotency_key  TEXT    NOT NULL UNIQUE,     -- random: unique across databases
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'skipped', 'uncertain')),
    payload          TEXT    NOT NULL DEFAULT '',
    owner            TEXT    NOT NULL DEFAULT '',
    claimed_until    TIMESTAMP,
    provider_id      TEXT    NOT NULL DEFAULT '',
    error            TEXT    NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    attempted_at     TIMESTAMP,
    finished_at      TIMESTAMP
);
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_notices_open_idx ON newsletter_notices (id) WHERE status IN ('pending', 'in_flight');
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_notices_supporter_idx ON newsletter_notices (supporter_id);
--bun:split

-- A list's own confirmation and welcome emails, one source per language
-- (position 0 is the variant for other languages).
CREATE TABLE IF NOT EXISTS newsletter_list_templates (
    list_id   INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('confirm', 'welcome')),
    language  TEXT NOT NULL,
    position  INTEGER NOT NULL,
    source    TEXT NOT NULL,
    PRIMARY KEY (list_id, kind, language)
);
