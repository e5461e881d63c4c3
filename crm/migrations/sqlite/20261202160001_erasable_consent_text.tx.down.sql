DROP TRIGGER IF EXISTS consent_events_text_clear_only;
--bun:split
DROP TRIGGER IF EXISTS consent_events_no_update;
--bun:split
CREATE TRIGGER IF NOT EXISTS consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, consent_text, created_at ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
