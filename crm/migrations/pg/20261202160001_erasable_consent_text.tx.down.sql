DROP TRIGGER IF EXISTS consent_events_text_clear_only ON consent_events;
--bun:split
DROP TRIGGER IF EXISTS consent_events_no_update ON consent_events;
--bun:split
CREATE OR REPLACE TRIGGER consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, consent_text, created_at ON consent_events
FOR EACH ROW EXECUTE FUNCTION crm_append_only();
--bun:split
DROP FUNCTION IF EXISTS crm_consent_text_clear_only();
