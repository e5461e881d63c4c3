-- Postcodes are compared upper-cased (postcode:sw1a* finds "SW1A 1AA"),
-- and postcode:62* is a range on this index.
UPDATE supporters SET postcode = upper(postcode) WHERE postcode <> upper(postcode);
--bun:split
CREATE INDEX IF NOT EXISTS supporters_postcode_idx ON supporters (postcode);
--bun:split
-- The few erased supporters, found without reading the table.
CREATE INDEX IF NOT EXISTS supporters_erased_idx ON supporters (id) WHERE erased_at IS NOT NULL;
