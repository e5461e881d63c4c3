DROP TABLE IF EXISTS receipt_replacements;
