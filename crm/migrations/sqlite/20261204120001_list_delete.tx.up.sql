-- Deleted lists (issue 15). A list is never removed: consent_events, the
-- append-only proof of consent, references it, and so do the campaigns
-- sent to it. DeleteList sets deleted_at and frees the name for a new
-- list by renaming the row NAME~ID ('~' is never in a list's name); the
-- export, the consent history and the campaigns still show NAME. See
-- crm/list.go.
ALTER TABLE lists ADD COLUMN deleted_at TIMESTAMP;
