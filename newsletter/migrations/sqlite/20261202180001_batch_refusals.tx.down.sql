ALTER TABLE newsletter_batches DROP COLUMN refused;
