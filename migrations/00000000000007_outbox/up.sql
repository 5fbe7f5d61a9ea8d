-- The notification outbox: a message is written in the same transaction as the change that
-- causes it, and notification workers send it (claimed with FOR UPDATE SKIP LOCKED under a
-- lease, so any number of workers may run and a dead worker's messages are sent again).
-- The person's state is checked again when the message goes, not when it is queued.
CREATE TABLE outbox_messages (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT REFERENCES events(id) ON DELETE CASCADE,
    person_id        BIGINT NOT NULL REFERENCES persons(id),
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    template         TEXT NOT NULL,
    data             JSONB NOT NULL DEFAULT '{}',
    -- One message per business fact: a repeated enqueue of the same key is a no-op.
    idempotency_key  TEXT NOT NULL UNIQUE,
    not_before       TIMESTAMPTZ NOT NULL DEFAULT now(),
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    locked_by        TEXT,
    locked_until     TIMESTAMPTZ,
    -- The address or number used when it was sent, and what the server answered.
    recipient        TEXT,
    message_id       TEXT,
    provider_reply   TEXT,
    last_error       TEXT,
    sent_at          TIMESTAMPTZ,
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox_messages (not_before, id) WHERE status = 'queued';
CREATE INDEX outbox_event ON outbox_messages (event_id, id);
CREATE INDEX outbox_person ON outbox_messages (person_id);
