-- Messages to an account rather than to a person of an organization (a password reset goes
-- to whoever holds the login, organizer or platform admin included): the outbox names either
-- a person of an organization or an account.
ALTER TABLE outbox_messages
    ALTER COLUMN organization_id DROP NOT NULL,
    ALTER COLUMN person_id DROP NOT NULL,
    ADD COLUMN user_account_id BIGINT REFERENCES user_accounts(id) ON DELETE CASCADE,
    ADD CONSTRAINT outbox_one_recipient CHECK (
        (person_id IS NOT NULL AND organization_id IS NOT NULL AND user_account_id IS NULL)
        OR (person_id IS NULL AND user_account_id IS NOT NULL)
    );
CREATE INDEX outbox_account ON outbox_messages (user_account_id, created_at) WHERE user_account_id IS NOT NULL;

-- Setting a new password through a reset link ends every session of the account.
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reuse', 'account_disabled', 'password_reset'));
