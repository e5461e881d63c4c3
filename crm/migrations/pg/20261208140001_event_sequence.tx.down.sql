ALTER TABLE events DROP COLUMN sequence;
