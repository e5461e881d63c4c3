-- The person's own choices (issue 16). An interest or tag the person
-- removed themselves (preferences page, a one-click answer) is remembered
-- here with where and when, so that a later import of the team's
-- spreadsheet never puts it back. The person adding it back removes the
-- row. Erasure deletes the rows with the supporter's other relations. See
-- crm/choice.go.
CREATE TABLE IF NOT EXISTS supporter_choices (
    supporter_id  INTEGER NOT NULL REFERENCES supporters (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    source        TEXT NOT NULL,
    at            TIMESTAMP NOT NULL,
    PRIMARY KEY (supporter_id, kind, name)
);
--bun:split
-- Interests an import created (crm import --create-interests): undoing
-- that import deletes those nobody uses.
ALTER TABLE interests ADD COLUMN import_id INTEGER;
