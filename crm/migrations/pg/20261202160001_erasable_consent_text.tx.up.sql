-- The consent history stays append-only, except that Forget may clear the
-- consent text of an erased person's events: a text can carry personal
-- data (a form could post anything, a note typed at an import names
-- people). Clearing the text of an erased supporter's event is the only
-- change allowed to it. (A trigger's WHEN cannot hold a subquery on
-- PostgreSQL, hence the function.)
CREATE OR REPLACE FUNCTION crm_consent_text_clear_only() RETURNS trigger AS $$
BEGIN
    IF NEW.consent_text <> '' OR NOT EXISTS (
        SELECT 1 FROM supporters WHERE id = OLD.supporter_id AND erased_at IS NOT NULL) THEN
        RAISE EXCEPTION 'consent_events is append-only (only an erased supporter''s consent text may be cleared)';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
--bun:split
CREATE OR REPLACE TRIGGER consent_events_no_update
BEFORE UPDATE OF supporter_id, list_id, action, source, created_at ON consent_events
FOR EACH ROW EXECUTE FUNCTION crm_append_only();
--bun:split
CREATE OR REPLACE TRIGGER consent_events_text_clear_only
BEFORE UPDATE OF consent_text ON consent_events
FOR EACH ROW EXECUTE FUNCTION crm_consent_text_clear_only();
--bun:split
-- People erased before this version keep no text either.
UPDATE consent_events SET consent_text = '', ip = '', user_agent = ''
WHERE consent_text <> '' AND supporter_id IN (SELECT id FROM supporters WHERE erased_at IS NOT NULL);
