ALTER TABLE lists DROP COLUMN consent_text_en;
--bun:split
ALTER TABLE lists DROP COLUMN consent_text;
--bun:split
ALTER TABLE lists DROP COLUMN public;
--bun:split
ALTER TABLE lists DROP COLUMN description_en;
--bun:split
ALTER TABLE lists DROP COLUMN description;
--bun:split
ALTER TABLE lists DROP COLUMN title_en;
