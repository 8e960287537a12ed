-- Sessions end a fixed time after login whatever their use (SESSION_MAX_AGE_DAYS), counted from
-- this column. Sessions that exist already count from their last save (7 days before expiry).
ALTER TABLE sessions ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
-- When a session was last used: its inactivity expiry moves on from there.
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET created_at = expires_at - 604800000, last_used_at = expires_at - 604800000;
-- When the admin's rights on Pages were last read from Facebook (`/me/accounts`); older than
-- RIGHTS_RECHECK_SECONDS, the next request reads them again.
ALTER TABLE admins ADD COLUMN rights_checked_at BIGINT NOT NULL DEFAULT 0;
