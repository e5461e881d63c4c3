DROP TABLE IF EXISTS audit_log;
--bun:split
DROP TABLE IF EXISTS suppressions;
