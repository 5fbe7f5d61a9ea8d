DROP FUNCTION IF EXISTS privacy_purge_audit_log(TIMESTAMPTZ, INTEGER);
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_revoked_reason_check;
UPDATE sessions SET revoked_reason = 'account_disabled' WHERE revoked_reason = 'erased';
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reuse', 'account_disabled', 'password_reset'));
ALTER TABLE user_accounts DROP COLUMN inactivity_warned_at, DROP COLUMN last_login_at;
ALTER TABLE organizations DROP COLUMN closure_archive, DROP COLUMN closure, DROP COLUMN purged_at, DROP COLUMN purge_after,
    DROP COLUMN closed_by, DROP COLUMN closed_at;
DROP TABLE privacy_sweeps;
DROP INDEX IF EXISTS exports_person_ids;
DROP INDEX IF EXISTS memberships_person;
DROP TABLE privacy_requests;
