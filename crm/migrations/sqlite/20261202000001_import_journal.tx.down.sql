DROP TABLE IF EXISTS import_consent_events;
--bun:split
DROP TABLE IF EXISTS import_undo;
--bun:split
DROP TABLE IF EXISTS import_supporters;
--bun:split
DROP TABLE IF EXISTS imports;
