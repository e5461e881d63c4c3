-- Campaigns and their deliveries. Owned by package newsletter; the crm
-- tables (supporters, lists, subscriptions) come from package crm.

CREATE TABLE IF NOT EXISTS newsletter_campaigns (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uid          TEXT    NOT NULL UNIQUE, -- random, makes idempotency keys unique across databases
    name         TEXT    NOT NULL UNIQUE,
    list_id      INTEGER NOT NULL REFERENCES lists (id),
    segment      TEXT    NOT NULL DEFAULT '',
    from_addr    TEXT    NOT NULL,
    reply_to     TEXT    NOT NULL DEFAULT '',
    subject      TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sending', 'sent')),
    recipients   INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  TIMESTAMP
);
--bun:split

CREATE TABLE IF NOT EXISTS newsletter_templates (
    campaign_id  INTEGER NOT NULL REFERENCES newsletter_campaigns (id) ON DELETE CASCADE,
    language     TEXT    NOT NULL,
    position     INTEGER NOT NULL, -- 0 is the default variant
    source       TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, language)
);
--bun:split

-- One row per recipient, frozen when the send starts.
CREATE TABLE IF NOT EXISTS newsletter_deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id   INTEGER NOT NULL REFERENCES newsletter_campaigns (id),
    supporter_id  INTEGER NOT NULL,
    email         TEXT    NOT NULL,
    language      TEXT    NOT NULL,
    batch         INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    provider_id   TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    event         TEXT    NOT NULL DEFAULT '', -- last provider event: delivered, bounced, complained
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (campaign_id, supporter_id)
);
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_batch_idx ON newsletter_deliveries (campaign_id, batch, status);
--bun:split
CREATE INDEX IF NOT EXISTS newsletter_deliveries_provider_idx ON newsletter_deliveries (provider_id);
--bun:split

-- A batch's exact payload and idempotency key, stored before the API is
-- called, so a retry after a crash sends the same bytes under the same key.
CREATE TABLE IF NOT EXISTS newsletter_batches (
    campaign_id      INTEGER NOT NULL REFERENCES newsletter_campaigns (id),
    batch            INTEGER NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    payload          TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'prepared', 'in_flight', 'done', 'uncertain')),
    attempted_at     TIMESTAMP,
    owner            TEXT    NOT NULL DEFAULT '', -- the sender working on it
    claimed_until    TIMESTAMP,
    PRIMARY KEY (campaign_id, batch)
);
--bun:split

-- Webhook deliveries already handled, so a replay changes nothing.
CREATE TABLE IF NOT EXISTS newsletter_webhook_events (
    svix_id      TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL
);
