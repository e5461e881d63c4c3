DROP TABLE IF EXISTS receipt_sequences;
--bun:split
DROP TABLE IF EXISTS receipt_donations;
--bun:split
DROP TABLE IF EXISTS receipts;
