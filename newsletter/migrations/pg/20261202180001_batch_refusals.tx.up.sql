-- refused marks a batch in flight whose every request the provider
-- definitely refused (a quota): it was not sent, so a resume sends it
-- again as it was even after the idempotency window, instead of marking
-- its recipients failed as uncertain (see pipeline in send.go).
ALTER TABLE newsletter_batches ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
