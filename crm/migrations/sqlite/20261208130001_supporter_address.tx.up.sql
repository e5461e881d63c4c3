-- A supporter's street address (issue 18): a tax receipt needs the
-- donor's postal address; postcode, city and country were already kept.
ALTER TABLE supporters ADD COLUMN address TEXT NOT NULL DEFAULT '';
