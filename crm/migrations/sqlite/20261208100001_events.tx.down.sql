DROP TABLE IF EXISTS event_attendance;
--bun:split
DROP TABLE IF EXISTS event_rsvp_history;
--bun:split
DROP TABLE IF EXISTS event_rsvps;
--bun:split
DROP TABLE IF EXISTS events;
