DROP TABLE IF EXISTS newsletter_list_templates;
--bun:split
DROP TABLE IF EXISTS newsletter_notices;
