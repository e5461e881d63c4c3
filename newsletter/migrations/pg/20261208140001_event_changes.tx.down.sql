DROP TABLE IF EXISTS newsletter_event_changes;
