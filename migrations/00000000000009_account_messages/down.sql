DELETE FROM outbox_messages WHERE user_account_id IS NOT NULL;
DROP INDEX IF EXISTS outbox_account;
ALTER TABLE outbox_messages
    DROP CONSTRAINT IF EXISTS outbox_one_recipient,
    DROP COLUMN IF EXISTS user_account_id,
    ALTER COLUMN person_id SET NOT NULL,
    ALTER COLUMN organization_id SET NOT NULL;
UPDATE sessions SET revoked_reason = 'logout_all' WHERE revoked_reason = 'password_reset';
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reuse', 'account_disabled'));
