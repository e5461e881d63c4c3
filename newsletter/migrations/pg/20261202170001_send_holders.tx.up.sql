-- Resuming at once after a crash, and erasing someone whose batch is not
-- sent yet (see Send and Forget in send.go and privacy.go).
--
-- lease_host, lease_pid and lease_pid_start name the process holding a
-- campaign's lease, so a sender on the same machine sees that it died
-- and takes over without waiting for the lease to expire.
ALTER TABLE newsletter_campaigns ADD COLUMN lease_host TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE newsletter_campaigns ADD COLUMN lease_pid BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE newsletter_campaigns ADD COLUMN lease_pid_start TEXT NOT NULL DEFAULT '';
--bun:split
-- owner_lock: the PostgreSQL advisory lock the claiming sender's session
-- holds (0 on SQLite); it dies with the session, and so does the claim.
ALTER TABLE newsletter_batches ADD COLUMN owner_lock BIGINT NOT NULL DEFAULT 0;
--bun:split
-- generation changes when an erasure takes someone out of a batch not
-- handed to the provider yet, so a sender that prepared it before
-- prepares it again.
ALTER TABLE newsletter_batches ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
--bun:split
-- holds_erased marks a batch that was in flight when someone in it was
-- erased: its payload must stay as it is until the batch is resolved.
ALTER TABLE newsletter_batches ADD COLUMN holds_erased INTEGER NOT NULL DEFAULT 0;
