ALTER TABLE interests DROP COLUMN import_id;
--bun:split
DROP TABLE IF EXISTS supporter_choices;
