-- Deleted lists keep their NAME~ID names: they never collide.
ALTER TABLE lists DROP COLUMN deleted_at;
