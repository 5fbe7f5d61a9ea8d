-- Imports and spreadsheet exports.
--
-- An import is a file an organizer uploads (persons with their registrations, prospects,
-- meeting requests or tables), checked by a dry run and then written by a job, batch by
-- batch. The file is personal data: the row carries the privacy columns and lives a week,
-- then the sweep of expired imports deletes it with its problems. Its problems name lines,
-- columns and reasons, never the values, so the error report is rebuilt from the file.
CREATE TABLE imports (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT REFERENCES events(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('persons', 'prospects', 'meeting_requests', 'tables')),
    status           TEXT NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'checking', 'checked', 'running', 'done', 'failed')),
    requested_by     BIGINT REFERENCES user_accounts(id) ON DELETE SET NULL,
    job_id           BIGINT,
    file_name        TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    content          BYTEA NOT NULL,
    detected         JSONB NOT NULL,
    headers          TEXT[] NOT NULL,
    -- The field each header fills (null: ignored), in header order; `answer:KEY` keeps the
    -- column as the answer to the registration form's field KEY.
    mapping          JSONB NOT NULL,
    -- default_country, on_existing (update or skip), all_or_nothing, notify.
    options          JSONB NOT NULL DEFAULT '{}',
    -- Whether the last pass (or the one running) writes.
    writes           BOOLEAN NOT NULL DEFAULT false,
    -- rows, read, created, updated, skipped, rejected, and for a real run the rows committed
    -- (`position`, where a retried job resumes) and the batches written.
    progress         JSONB NOT NULL DEFAULT '{}',
    -- One letter per data row of the last pass: c(reate), u(pdate), s(kip), r(eject).
    decisions        TEXT,
    error            TEXT,
    -- The persons the import created or changed.
    person_ids       BIGINT[] NOT NULL DEFAULT '{}',
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ
);
CREATE INDEX imports_org ON imports (organization_id, id);
CREATE INDEX imports_retention ON imports (retention_until);

-- Why a row of the last pass is skipped or rejected: its index among the data rows, its line
-- in the file, the column at fault (the header as written) and the reason.
CREATE TABLE import_problems (
    import_id   BIGINT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    row_index   INTEGER NOT NULL,
    line        BIGINT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('skip', 'reject')),
    column_name TEXT,
    reason      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (import_id, row_index, seq)
);

-- Spreadsheet exports join the agenda PDFs; an export of the audit log belongs to the
-- organization, not to an event.
ALTER TABLE exports ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE exports DROP CONSTRAINT exports_kind_check;
ALTER TABLE exports ADD CONSTRAINT exports_kind_check CHECK (kind IN ('agendas_pdf', 'participants', 'meeting_requests', 'meetings', 'tables', 'orders', 'invoices', 'audit'));
-- format (csv or xlsx), separator, columns, filters.
ALTER TABLE exports ADD COLUMN options JSONB NOT NULL DEFAULT '{}';
