DROP TABLE IF EXISTS newsletter_confirmations;
