-- Erased addresses, as a keyed hash: a later import or signup of the same
-- address is recognised without the address being kept.
CREATE TABLE IF NOT EXISTS suppressions (
    hash        TEXT PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL
);
--bun:split

-- Who changed what, and how. No personal data: a supporter is named by id.
CREATE TABLE IF NOT EXISTS audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TIMESTAMP NOT NULL,
    channel       TEXT    NOT NULL, -- "cli:supporters add", "import:file.csv", "web:/subscribe", "webhook", "api"
    action        TEXT    NOT NULL,
    supporter_id  INTEGER,
    details       TEXT    NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX IF NOT EXISTS audit_log_supporter_idx ON audit_log (supporter_id, id);
--bun:split
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);
--bun:split
CREATE TRIGGER IF NOT EXISTS audit_log_no_update
BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete
BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
