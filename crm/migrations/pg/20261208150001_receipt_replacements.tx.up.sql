-- The cancelled receipts a receipt replaces (issue 18): stored when it
-- is issued, for the receipt and its email to say "Ce reçu annule et
-- remplace le reçu n° ...": those of the same donor that covered some
-- of its gifts.
CREATE TABLE IF NOT EXISTS receipt_replacements (
    receipt_id   BIGINT NOT NULL REFERENCES receipts (id),
    replaced_id  BIGINT NOT NULL REFERENCES receipts (id),
    PRIMARY KEY (receipt_id, replaced_id)
);
