DROP INDEX IF EXISTS supporters_erased_idx;
--bun:split
DROP INDEX IF EXISTS supporters_postcode_idx;
