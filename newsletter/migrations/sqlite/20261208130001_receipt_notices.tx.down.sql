DROP INDEX IF EXISTS newsletter_notices_receipt_idx;
--bun:split
ALTER TABLE newsletter_notices DROP COLUMN receipt_id;
