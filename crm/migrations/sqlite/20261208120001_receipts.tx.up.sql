-- Tax receipts (issue 18); see crm/receipt.go. A receipt is never
-- deleted and never changed but for its cancellation: the number of a
-- cancelled receipt is never reused. supporter_id keeps no cascade: a
-- donor with receipts is erased (after the retention period) by
-- anonymising the supporter row, which stays.
CREATE TABLE IF NOT EXISTS receipts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          TEXT NOT NULL UNIQUE,
    year            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    supporter_id    INTEGER NOT NULL REFERENCES supporters (id),
    country         TEXT NOT NULL,
    annual          BOOLEAN NOT NULL DEFAULT FALSE,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    donor_name      TEXT NOT NULL,
    donor_address   TEXT NOT NULL,
    donor_postcode  TEXT NOT NULL,
    donor_city      TEXT NOT NULL,
    donor_country   TEXT NOT NULL DEFAULT '',
    donor_email     TEXT NOT NULL DEFAULT '',
    issuer          TEXT NOT NULL,
    status          TEXT NOT NULL,
    issued_at       TIMESTAMP NOT NULL,
    cancelled_at    TIMESTAMP,
    cancel_reason   TEXT NOT NULL DEFAULT '',
    UNIQUE (year, seq)
);
--bun:split
CREATE INDEX IF NOT EXISTS receipts_supporter_idx ON receipts (supporter_id);
--bun:split
-- The gifts a receipt covers.
CREATE TABLE IF NOT EXISTS receipt_donations (
    receipt_id   INTEGER NOT NULL REFERENCES receipts (id),
    donation_id  INTEGER NOT NULL REFERENCES donations (id),
    PRIMARY KEY (receipt_id, donation_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS receipt_donations_donation_idx ON receipt_donations (donation_id);
--bun:split
-- The last number given each year: issuing takes the next one in the
-- transaction that stores the receipt (the row's lock serialises
-- issuers on PostgreSQL; SQLite's write lock does), so a failed issue
-- leaves no gap.
CREATE TABLE IF NOT EXISTS receipt_sequences (
    year  INTEGER PRIMARY KEY,
    last  INTEGER NOT NULL
);
