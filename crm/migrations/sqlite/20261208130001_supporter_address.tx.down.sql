ALTER TABLE supporters DROP COLUMN address;
