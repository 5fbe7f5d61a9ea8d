-- The privacy engine: data subjects' rights requests and their answers, the retention sweeps
-- and their reports, the closing of an organization whose contract ends, and what the
-- inactivity rule needs to know about accounts.

-- A right exercised by a person (GDPR art. 15 to 21, 7(3)): made by the participant or
-- recorded by an organizer. The row is the proof that the request was answered in time; it
-- outlives an erasure under a legal hold, naming the person by id only.
CREATE TABLE privacy_requests (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    person_id        BIGINT NOT NULL REFERENCES persons(id),
    kind             TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'restriction', 'portability', 'opposition', 'consent_withdrawal')),
    -- Opposition: marketing_email, sms or phone_prospecting; consent withdrawal: the consent's purpose.
    purpose          TEXT CHECK (purpose ~ '^[a-z][a-z0-9_]{0,62}$'),
    channel          TEXT NOT NULL CHECK (channel IN ('self_service', 'post', 'email', 'phone', 'in_person')),
    -- What the person asked, in their words (a rectification says what is wrong).
    details          TEXT,
    state            TEXT NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'in_progress', 'done', 'rejected')),
    received_at      TIMESTAMPTZ NOT NULL,
    due_at           TIMESTAMPTZ NOT NULL,
    recorded_by      BIGINT REFERENCES user_accounts(id),
    handled_by       BIGINT REFERENCES user_accounts(id),
    handled_at       TIMESTAMPTZ,
    -- What was done: per table for an erasure, why for a rejection.
    outcome          JSONB NOT NULL DEFAULT '{}',
    note             TEXT,
    job_id           BIGINT,
    -- The access or portability archive, downloadable by whom the request names until it expires.
    archive          BYTEA,
    archive_expires_at TIMESTAMPTZ,
    -- For an erasure: salted digests of the erased name, email and numbers, so that the
    -- completeness check can look for them without the platform keeping them.
    scan_digest      JSONB,
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((purpose IS NOT NULL) = (kind ~ '^(opposition|consent_withdrawal)$')),
    CHECK ((state IN ('done', 'rejected')) = (handled_at IS NOT NULL))
);
CREATE INDEX privacy_requests_queue ON privacy_requests (organization_id, due_at) WHERE state IN ('received', 'in_progress');
CREATE INDEX privacy_requests_person ON privacy_requests (person_id);
-- One open request of a kind and purpose per person: asking twice is answered once.
CREATE UNIQUE INDEX privacy_requests_one_open ON privacy_requests (person_id, kind, coalesce(purpose, ''))
    WHERE state IN ('received', 'in_progress');

-- What an erasure looks people up by.
CREATE INDEX memberships_person ON memberships (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX exports_person_ids ON exports USING GIN (person_ids);

-- A retention sweep and what it did (or, for a dry run, would do), per table.
CREATE TABLE privacy_sweeps (
    id           BIGSERIAL PRIMARY KEY,
    dry_run      BOOLEAN NOT NULL,
    status       TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    started_by   BIGINT REFERENCES user_accounts(id),
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at  TIMESTAMPTZ,
    report       JSONB NOT NULL DEFAULT '{}',
    error        TEXT
);

-- The end of an organizer's contract: the organization is closed, its organizers get their
-- data back, and after a delay everything not under a legal hold is deleted.
ALTER TABLE organizations
    ADD COLUMN closed_at     TIMESTAMPTZ,
    ADD COLUMN closed_by     BIGINT REFERENCES user_accounts(id),
    ADD COLUMN purge_after   TIMESTAMPTZ,
    ADD COLUMN purged_at     TIMESTAMPTZ,
    ADD COLUMN closure       JSONB NOT NULL DEFAULT '{}',
    -- The complete export its organizers download before the deletion.
    ADD COLUMN closure_archive BYTEA,
    ADD CHECK ((closed_at IS NULL) = (purge_after IS NULL));

-- Inactive accounts are warned, then closed and erased. `last_login_at` is the last login or
-- session refresh.
ALTER TABLE user_accounts
    ADD COLUMN last_login_at        TIMESTAMPTZ,
    ADD COLUMN inactivity_warned_at TIMESTAMPTZ;
-- An account in use before this migration counts as used when its last session began.
UPDATE user_accounts u SET last_login_at = (SELECT max(s.created_at) FROM sessions s WHERE s.user_account_id = u.id);

ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reuse', 'account_disabled', 'password_reset', 'erased'));

-- The audit log is append-only for the application; rows past their retention leave only
-- through this function, which the owner runs on the sweep's behalf.
CREATE FUNCTION privacy_purge_audit_log(cutoff TIMESTAMPTZ, max_rows INTEGER) RETURNS BIGINT
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH gone AS (
        DELETE FROM audit_log WHERE id IN (
            SELECT id FROM audit_log
            WHERE retention_until < least(cutoff, now()) AND restricted_at IS NULL
            ORDER BY id LIMIT max_rows)
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
REVOKE ALL ON FUNCTION privacy_purge_audit_log(TIMESTAMPTZ, INTEGER) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdv_app') THEN
        GRANT EXECUTE ON FUNCTION privacy_purge_audit_log(TIMESTAMPTZ, INTEGER) TO rdv_app;
    END IF;
END $$;
