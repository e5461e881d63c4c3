-- Tax receipts sent by email (issue 18): receipt_id names the receipt
-- (crm's receipts table) a notice carries as a PDF; a receipt is queued
-- once, whatever the number of runs of crm receipts send. See
-- newsletter/receipt_notice.go.
ALTER TABLE newsletter_notices ADD COLUMN receipt_id BIGINT;
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS newsletter_notices_receipt_idx ON newsletter_notices (receipt_id) WHERE receipt_id IS NOT NULL;
