-- Meetings: who may meet whom, meeting requests and their history, availability, planning
-- runs and the plans they draft, the published meetings with their agenda versions, and the
-- secret agenda feeds.

-- When the event's slots or tables last changed: a plan drafted before then is stale.
ALTER TABLE events ADD COLUMN calendar_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- Per event: which participant types may meet (unordered pairs `a:b`, a <= b), the request
-- window, how a request becomes a meeting, the allowance per sender and the default quotas.
CREATE TABLE meeting_settings (
    event_id          BIGINT PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    organization_id   BIGINT NOT NULL REFERENCES organizations(id),
    allowed_pairs     TEXT[] NOT NULL DEFAULT '{buyer:supplier}',
    acceptance        TEXT NOT NULL DEFAULT 'mutual' CHECK (acceptance IN ('mutual', 'organizer', 'direct')),
    requests_open_at  TIMESTAMPTZ,
    requests_close_at TIMESTAMPTZ,
    max_requests_per_participant INTEGER NOT NULL DEFAULT 30 CHECK (max_requests_per_participant BETWEEN 1 AND 1000),
    default_quotas    JSONB NOT NULL DEFAULT '{}',
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (requests_open_at IS NULL OR requests_close_at IS NULL OR requests_close_at > requests_open_at)
);

CREATE TABLE meeting_requests (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id),
    requester_id     BIGINT NOT NULL REFERENCES registrations(id),
    recipient_id     BIGINT NOT NULL REFERENCES registrations(id),
    message          TEXT,
    priority         TEXT NOT NULL CHECK (priority IN ('must', 'should', 'could')),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    status_reason    TEXT,
    created_by       BIGINT REFERENCES user_accounts(id),
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (requester_id <> recipient_id)
);
-- One live request per pair of participants, whoever asked.
CREATE UNIQUE INDEX meeting_requests_live_pair ON meeting_requests
    (event_id, LEAST(requester_id, recipient_id), GREATEST(requester_id, recipient_id))
    WHERE status IN ('pending', 'accepted');
CREATE INDEX meeting_requests_requester ON meeting_requests (requester_id, status);
CREATE INDEX meeting_requests_recipient ON meeting_requests (recipient_id, status);
CREATE INDEX meeting_requests_event ON meeting_requests (event_id, status);

-- Every change of a request's status: who, when, from, to, why.
CREATE TABLE meeting_request_history (
    id            BIGSERIAL PRIMARY KEY,
    request_id    BIGINT NOT NULL REFERENCES meeting_requests(id) ON DELETE CASCADE,
    actor_user_id BIGINT REFERENCES user_accounts(id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    reason        TEXT,
    changed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX meeting_request_history_request ON meeting_request_history (request_id, id);

-- Slots a participant cannot meet in.
CREATE TABLE unavailabilities (
    registration_id BIGINT NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    slot_id         BIGINT NOT NULL REFERENCES meeting_slots(id) ON DELETE CASCADE,
    PRIMARY KEY (registration_id, slot_id)
);

-- A planning run: queued, then claimed by a worker through its job, then done (with a draft
-- plan), failed or cancelled.
CREATE TABLE plan_runs (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id),
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    options          JSONB NOT NULL,
    progress         JSONB NOT NULL DEFAULT '{}',
    job_id           BIGINT,
    requested_by     BIGINT REFERENCES user_accounts(id),
    -- The event's calendar_changed_at when the run read the calendar.
    calendar_as_of   TIMESTAMPTZ,
    requests_total   INTEGER,
    scheduled        INTEGER,
    weight           BIGINT,
    bound            DOUBLE PRECISION,
    gap              DOUBLE PRECISION,
    breaks           INTEGER,
    error            TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ
);
-- Two runs of one event never run at once.
CREATE UNIQUE INDEX plan_runs_one_live ON plan_runs (event_id) WHERE status IN ('queued', 'running');
CREATE INDEX plan_runs_event ON plan_runs (event_id, id);

-- The meetings a run drafted, and the requests it left out with the planner's reason.
CREATE TABLE plan_meetings (
    run_id     BIGINT NOT NULL REFERENCES plan_runs(id) ON DELETE CASCADE,
    request_id BIGINT NOT NULL REFERENCES meeting_requests(id),
    slot_id    BIGINT NOT NULL REFERENCES meeting_slots(id),
    -- A draft made before its tables changed cannot be published anyway.
    table_id   BIGINT REFERENCES meeting_tables(id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, request_id)
);
CREATE INDEX plan_meetings_slot ON plan_meetings (run_id, slot_id);

CREATE TABLE plan_unscheduled (
    run_id     BIGINT NOT NULL REFERENCES plan_runs(id) ON DELETE CASCADE,
    request_id BIGINT NOT NULL REFERENCES meeting_requests(id),
    reason     TEXT NOT NULL,
    PRIMARY KEY (run_id, request_id)
);

-- Each publication of a plan: the agenda version participants see.
CREATE TABLE agenda_versions (
    id           BIGSERIAL PRIMARY KEY,
    event_id     BIGINT NOT NULL REFERENCES events(id),
    version      INTEGER NOT NULL,
    run_id       BIGINT NOT NULL REFERENCES plan_runs(id),
    published_by BIGINT REFERENCES user_accounts(id),
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, version)
);

-- The published meetings. A meeting keeps its id (the calendar UID) when it moves; its
-- sequence rises at each change, and a meeting dropped by a later version is cancelled.
CREATE TABLE meetings (
    id          BIGSERIAL PRIMARY KEY,
    event_id    BIGINT NOT NULL REFERENCES events(id),
    request_id  BIGINT NOT NULL REFERENCES meeting_requests(id),
    slot_id     BIGINT NOT NULL REFERENCES meeting_slots(id),
    -- A table holding scheduled meetings cannot be removed (the use case checks); one that
    -- only cancelled meetings held can, and they lose it.
    table_id    BIGINT REFERENCES meeting_tables(id) ON DELETE SET NULL,
    status      TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    sequence    INTEGER NOT NULL DEFAULT 0,
    created_in  INTEGER NOT NULL,
    updated_in  INTEGER NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (request_id)
);
CREATE INDEX meetings_event_slot ON meetings (event_id, slot_id);

-- What each version changed for each participant: the diff their messages will tell.
CREATE TABLE agenda_changes (
    id              BIGSERIAL PRIMARY KEY,
    version_id      BIGINT NOT NULL REFERENCES agenda_versions(id) ON DELETE CASCADE,
    registration_id BIGINT NOT NULL REFERENCES registrations(id),
    meeting_id      BIGINT NOT NULL REFERENCES meetings(id),
    change          TEXT NOT NULL CHECK (change IN ('added', 'moved', 'cancelled')),
    old_slot_id     BIGINT REFERENCES meeting_slots(id),
    new_slot_id     BIGINT REFERENCES meeting_slots(id),
    old_table_id    BIGINT REFERENCES meeting_tables(id) ON DELETE SET NULL,
    new_table_id    BIGINT REFERENCES meeting_tables(id) ON DELETE SET NULL
);
CREATE INDEX agenda_changes_version ON agenda_changes (version_id, registration_id);

-- A participant's calendar feed, read without a login at a secret URL: only the token's
-- hash is kept; a new token revokes the old one.
CREATE TABLE agenda_feeds (
    registration_id BIGINT PRIMARY KEY REFERENCES registrations(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
