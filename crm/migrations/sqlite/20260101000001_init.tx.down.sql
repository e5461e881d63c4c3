DROP TABLE IF EXISTS settings;
--bun:split
DROP TABLE IF EXISTS segments;
--bun:split
DROP TABLE IF EXISTS consent_events;
--bun:split
DROP TABLE IF EXISTS subscriptions;
--bun:split
DROP TABLE IF EXISTS lists;
--bun:split
DROP TABLE IF EXISTS donations;
--bun:split
DROP TABLE IF EXISTS supporter_interests;
--bun:split
DROP TABLE IF EXISTS interests;
--bun:split
DROP TABLE IF EXISTS supporter_attributes;
--bun:split
DROP TABLE IF EXISTS supporter_tags;
--bun:split
DROP TABLE IF EXISTS supporters;
