-- An event's revision number for calendars (RFC 5545 SEQUENCE): each
-- edit and the cancellation add one (crm/event.go). Events made before
-- start from what calendars were given until now, the seconds from their
-- creation to their last change, so the number never goes down.
ALTER TABLE events ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
--bun:split
UPDATE events SET sequence = LEAST(CEIL(EXTRACT(EPOCH FROM (updated_at - created_at))), 2147483647)::INTEGER
WHERE updated_at > created_at;
