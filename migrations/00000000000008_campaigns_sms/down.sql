DROP INDEX IF EXISTS outbox_one_solicitation;
DROP INDEX IF EXISTS outbox_campaign;
ALTER TABLE outbox_messages
    DROP COLUMN IF EXISTS delivered_at,
    DROP COLUMN IF EXISTS delivery_status,
    DROP COLUMN IF EXISTS solicitation,
    DROP COLUMN IF EXISTS campaign_id;
DROP TABLE IF EXISTS campaigns;
