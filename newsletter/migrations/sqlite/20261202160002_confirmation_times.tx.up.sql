-- When the last confirmation email went to each supporter, so that signing
-- up again and again (for any lists) mails an address at most once per
-- interval. Unix seconds; only an id and a time, nothing personal.
CREATE TABLE IF NOT EXISTS newsletter_confirmations (
    supporter_id  BIGINT PRIMARY KEY,
    sent_at       BIGINT NOT NULL
);
