ALTER TABLE newsletter_batches DROP COLUMN holds_erased;
--bun:split
ALTER TABLE newsletter_batches DROP COLUMN generation;
--bun:split
ALTER TABLE newsletter_batches DROP COLUMN owner_lock;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN lease_pid_start;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN lease_pid;
--bun:split
ALTER TABLE newsletter_campaigns DROP COLUMN lease_host;
