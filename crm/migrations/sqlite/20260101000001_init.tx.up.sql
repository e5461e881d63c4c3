-- The supporter database. Times are stored in UTC by bun as
-- 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00', which sorts as text in time order.

CREATE TABLE IF NOT EXISTS supporters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    organisation  TEXT    NOT NULL DEFAULT '',
    city          TEXT    NOT NULL DEFAULT '',
    city_key      TEXT    NOT NULL DEFAULT '', -- city folded (no case, no accents), for segments
    postcode      TEXT    NOT NULL DEFAULT '',
    country       TEXT    NOT NULL DEFAULT '',
    language      TEXT    NOT NULL DEFAULT 'fr',
    notes         TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    source_key    TEXT    NOT NULL DEFAULT '',
    email_status  TEXT    NOT NULL DEFAULT 'ok' CHECK (email_status IN ('ok', 'bounced', 'complained')),
    erased_at     TIMESTAMP, -- set by Forget: the row keeps only its id
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS supporters_email_key ON supporters (email);
--bun:split
CREATE INDEX IF NOT EXISTS supporters_created_at_idx ON supporters (created_at);
--bun:split
CREATE INDEX IF NOT EXISTS supporters_city_key_idx ON supporters (city_key);
--bun:split

CREATE TABLE IF NOT EXISTS supporter_tags (
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    tag           TEXT    NOT NULL,
    tag_key       TEXT    NOT NULL, -- tag folded, for segments
    PRIMARY KEY (supporter_id, tag)
) WITHOUT ROWID;
--bun:split
CREATE INDEX IF NOT EXISTS supporter_tags_tag_key_idx ON supporter_tags (tag_key, supporter_id);
--bun:split

CREATE TABLE IF NOT EXISTS supporter_attributes (
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    key_fold      TEXT    NOT NULL, -- key and value folded, for segments
    value_fold    TEXT    NOT NULL,
    PRIMARY KEY (supporter_id, key)
) WITHOUT ROWID;
--bun:split

CREATE TABLE IF NOT EXISTS interests (
    name        TEXT PRIMARY KEY,
    label_fr    TEXT NOT NULL,
    label_en    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
--bun:split
INSERT INTO interests (name, label_fr, label_en, created_at) VALUES
    ('terrain',     'Présence sur le terrain (expulsions, distributions)', 'On the ground (evictions, distributions)', '2026-01-01 00:00:00+00:00'),
    ('hebergement', 'Hébergement',                                          'Hosting',                                  '2026-01-01 00:00:00+00:00'),
    ('redaction',   'Rédaction et diffusion de communiqués',                'Writing and spreading press releases',     '2026-01-01 00:00:00+00:00'),
    ('reseaux',     'Réseaux sociaux',                                      'Social media',                             '2026-01-01 00:00:00+00:00'),
    ('traduction',  'Traduction',                                           'Translation',                              '2026-01-01 00:00:00+00:00'),
    ('juridique',   'Soutien juridique',                                    'Legal support',                            '2026-01-01 00:00:00+00:00'),
    ('transport',   'Transport',                                            'Transport',                                '2026-01-01 00:00:00+00:00'),
    ('collecte',    'Collecte de dons en nature',                           'Collecting donations in kind',             '2026-01-01 00:00:00+00:00')
ON CONFLICT (name) DO NOTHING;
--bun:split

CREATE TABLE IF NOT EXISTS supporter_interests (
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    interest      TEXT    NOT NULL REFERENCES interests (name),
    availability  TEXT    NOT NULL DEFAULT '',
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (supporter_id, interest)
) WITHOUT ROWID;
--bun:split
CREATE INDEX IF NOT EXISTS supporter_interests_interest_idx ON supporter_interests (interest, supporter_id);
--bun:split

CREATE TABLE IF NOT EXISTS donations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    supporter_id  INTEGER REFERENCES supporters (id) ON DELETE SET NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    currency      TEXT    NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    method        TEXT    NOT NULL CHECK (method IN ('cash', 'cheque', 'transfer', 'card', 'helloasso', 'other')),
    fund          TEXT    NOT NULL DEFAULT '',
    recurring     BOOLEAN NOT NULL DEFAULT FALSE,
    source        TEXT    NOT NULL DEFAULT '',
    external_ref  TEXT,
    note          TEXT    NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS donations_source_ref_key ON donations (source, external_ref);
--bun:split
CREATE INDEX IF NOT EXISTS donations_supporter_idx ON donations (supporter_id, received_at);
--bun:split
CREATE INDEX IF NOT EXISTS donations_received_at_idx ON donations (received_at);
--bun:split

CREATE TABLE IF NOT EXISTS lists (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    title          TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('newsletter', 'alerts', 'press')),
    double_opt_in  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP NOT NULL
);
--bun:split

CREATE TABLE IF NOT EXISTS subscriptions (
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    list_id       INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'subscribed', 'unsubscribed')),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (supporter_id, list_id)
) WITHOUT ROWID;
--bun:split
CREATE INDEX IF NOT EXISTS subscriptions_list_status_idx ON subscriptions (list_id, status, supporter_id);
--bun:split

-- Proof of consent: one row per change, never updated or deleted.
CREATE TABLE IF NOT EXISTS consent_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id),
    list_id       INTEGER REFERENCES lists (id),
    action        TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    consent_text  TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS consent_events_supporter_idx ON consent_events (supporter_id, id);
--bun:split
CREATE TRIGGER IF NOT EXISTS consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, consent_text, created_at ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS consent_events_no_delete
BEFORE DELETE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
--bun:split

-- Saved segments, usable as segment:NAME in other expressions.
CREATE TABLE IF NOT EXISTS segments (
    name        TEXT PRIMARY KEY,
    expression  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
--bun:split

-- Settings the library keeps for itself, such as the token signing secret.
CREATE TABLE IF NOT EXISTS settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
