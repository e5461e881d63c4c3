-- The journal of imports. An import writes in short transactions, so that
-- a web signup or a one-click unsubscribe never waits for it; what it
-- keeps here lets a failed or interrupted import be undone, and lets the
-- audit log find the people an import changed. See crm/import_journal.go.
CREATE TABLE IF NOT EXISTS imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    file          TEXT    NOT NULL DEFAULT '',
    channel       TEXT    NOT NULL,
    list_id       INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'committed', 'done', 'undone')),
    holder        TEXT    NOT NULL DEFAULT '', -- host, process id and nonce of the writer
    consent_mark  INTEGER NOT NULL DEFAULT 0,  -- consent_events.id and audit_log.id when it began
    audit_mark    INTEGER NOT NULL DEFAULT 0,
    audit_id      INTEGER,                     -- its summary line in audit_log
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP
);
--bun:split
-- Runs of supporter ids an import created (created) or changed. No
-- personal data: kept after the import, for the audit log.
CREATE TABLE IF NOT EXISTS import_supporters (
    import_id  INTEGER NOT NULL REFERENCES imports (id),
    first_id   INTEGER NOT NULL,
    last_id    INTEGER NOT NULL,
    created    BOOLEAN NOT NULL,
    PRIMARY KEY (import_id, first_id, created)
) WITHOUT ROWID;
--bun:split
CREATE INDEX IF NOT EXISTS import_supporters_last_idx ON import_supporters (last_id, first_id);
--bun:split
-- What a running import overwrote, to put it back; removed when the
-- import is committed or undone.
CREATE TABLE IF NOT EXISTS import_undo (
    import_id     INTEGER NOT NULL REFERENCES imports (id),
    supporter_id  INTEGER NOT NULL,
    before        TEXT    NOT NULL,
    PRIMARY KEY (import_id, supporter_id)
) WITHOUT ROWID;
--bun:split
-- Consent events of a running import: consent_events is append-only, so
-- they wait here until the import is committed.
CREATE TABLE IF NOT EXISTS import_consent_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id     INTEGER NOT NULL REFERENCES imports (id),
    supporter_id  INTEGER NOT NULL,
    list_id       INTEGER,
    action        TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    consent_text  TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS import_consent_events_import_idx ON import_consent_events (import_id, supporter_id);
