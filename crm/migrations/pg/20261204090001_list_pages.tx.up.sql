-- What public pages show of a list (issue 15): an English title, a
-- description per language, whether it is public (offered on the signup
-- form and everyone's preferences page) and the consent text its checkbox
-- shows, which is also what a signup records as proof. Lists of press
-- contacts are private from the start; the others stay offered as before.
ALTER TABLE lists ADD COLUMN title_en TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE lists ADD COLUMN description TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE lists ADD COLUMN description_en TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE lists ADD COLUMN public BOOLEAN NOT NULL DEFAULT TRUE;
--bun:split
ALTER TABLE lists ADD COLUMN consent_text TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE lists ADD COLUMN consent_text_en TEXT NOT NULL DEFAULT '';
--bun:split
UPDATE lists SET public = FALSE WHERE kind = 'press';
