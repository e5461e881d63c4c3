-- The consent history stays append-only, except that Forget may clear the
-- consent text of an erased person's events: a text can carry personal
-- data (a form could post anything, a note typed at an import names
-- people). Clearing the text of an erased supporter's event is the only
-- change allowed to it.
DROP TRIGGER IF EXISTS consent_events_no_update;
--bun:split
CREATE TRIGGER IF NOT EXISTS consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, created_at ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS consent_events_text_clear_only
BEFORE UPDATE OF consent_text ON consent_events
WHEN NEW.consent_text <> ''
  OR (SELECT erased_at FROM supporters WHERE id = OLD.supporter_id) IS NULL
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only (only an erased supporter''s consent text may be cleared)');
END;
--bun:split
-- People erased before this version keep no text either.
UPDATE consent_events SET consent_text = '', ip = '', user_agent = ''
WHERE consent_text <> '' AND supporter_id IN (SELECT id FROM supporters WHERE erased_at IS NOT NULL);
