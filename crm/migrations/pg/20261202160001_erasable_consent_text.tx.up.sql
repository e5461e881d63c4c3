-- The consent history stays append-only, except that Forget may clear the
-- consent text of an erased person's events: a text can carry personal
-- data (a form could post anything, a note typed at an import names
-- people). Clearing is the only change allowed to it.
DROP TRIGGER IF EXISTS consent_events_no_update ON consent_events;
--bun:split
CREATE OR REPLACE TRIGGER consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, created_at ON consent_events
FOR EACH ROW EXECUTE FUNCTION crm_append_only();
--bun:split
CREATE OR REPLACE TRIGGER consent_events_text_clear_only
BEFORE UPDATE OF consent_text ON consent_events
FOR EACH ROW WHEN (NEW.consent_text <> '') EXECUTE FUNCTION crm_append_only();
