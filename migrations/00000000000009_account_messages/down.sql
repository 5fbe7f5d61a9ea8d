DELETE FROM outbox_messages WHERE user_account_id IS NOT NULL;
DROP INDEX IF EXISTS outbox_account;
ALTER TABLE outbox_messages
    DROP CONSTRAINT IF EXISTS outbox_one_recipient,
    DROP COLUMN IF EXISTS user_account_id,
    ALTER COLUMN person_id SET NOT NULL,
    ALTER COLUMN organization_id SET NOT NULL;
