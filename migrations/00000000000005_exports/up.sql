-- Files the platform builds in the background for an organizer (every participant's agenda
-- as one PDF today; spreadsheets later): requested, built by a job worker, downloaded, and
-- deleted when they expire. A file holds many persons' data: the row carries the privacy
-- columns, lists the persons it names (each download is audited with them), and lives a day.
CREATE TABLE exports (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('agendas_pdf')),
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    requested_by     BIGINT REFERENCES user_accounts(id) ON DELETE SET NULL,
    job_id           BIGINT,
    progress         JSONB NOT NULL DEFAULT '{}',
    error            TEXT,
    file_name        TEXT,
    content_type     TEXT,
    size_bytes       BIGINT,
    content          BYTEA,
    person_ids       BIGINT[] NOT NULL DEFAULT '{}',
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    CHECK ((status = 'done') = (content IS NOT NULL))
);
CREATE INDEX exports_event ON exports (event_id, id);
CREATE INDEX exports_retention ON exports (retention_until);
