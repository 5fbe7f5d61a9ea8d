-- Campaigns: a message an organizer writes for a segment of an event, scheduled and
-- throttled. Its messages are outbox rows (one per recipient) that name it, so that
-- cancelling it cancels those not yet sent. A campaign holds no personal data: its audience
-- is a rule, not a list.
CREATE TABLE campaigns (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    -- {"fr": {"subject": ..., "body": ...}, "en": {...}}: at least one language.
    content          JSONB NOT NULL,
    -- {"participant_types": [...], "statuses": [...], "with_meetings": bool, "countries": [...], "languages": [...]}
    segment          JSONB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'scheduled', 'cancelled')),
    send_at          TIMESTAMPTZ,
    -- Throttling: messages per minute for the campaign, and per recipient mail domain.
    per_minute       INTEGER NOT NULL CHECK (per_minute BETWEEN 1 AND 100000),
    per_domain_per_minute INTEGER NOT NULL CHECK (per_domain_per_minute BETWEEN 1 AND 100000),
    queued           INTEGER NOT NULL DEFAULT 0,
    created_by       BIGINT REFERENCES user_accounts(id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_event ON campaigns (event_id, id);

ALTER TABLE outbox_messages
    ADD COLUMN campaign_id BIGINT REFERENCES campaigns(id) ON DELETE CASCADE,
    -- A solicitation asks a prospect for their consent: at most one per person, ever.
    ADD COLUMN solicitation BOOLEAN NOT NULL DEFAULT false,
    -- What the network reported after the gateway took an SMS (Kannel's delivery reports).
    ADD COLUMN delivery_status TEXT CHECK (delivery_status IN ('delivered', 'undelivered', 'queued_at_smsc', 'accepted_by_smsc', 'rejected_by_smsc')),
    ADD COLUMN delivered_at TIMESTAMPTZ;
CREATE INDEX outbox_campaign ON outbox_messages (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX outbox_one_solicitation ON outbox_messages (person_id) WHERE solicitation;
