-- Foundation: tenants, accounts, events and their calendar, persons, registrations, consent,
-- audit. Every table that holds personal data carries the privacy columns (see privacy_columns
-- in the schema test): legal_basis, retention_until, restricted_at, erased_at, source,
-- last_verified_at.

CREATE TABLE organizations (
    id          BIGSERIAL PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE persons (
    id                  BIGSERIAL PRIMARY KEY,
    organization_id     BIGINT NOT NULL REFERENCES organizations(id),
    civility            TEXT CHECK (civility IN ('mr', 'mrs', 'mx')),
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    email               TEXT NOT NULL,
    mobile_phone        TEXT,
    landline_phone      TEXT,
    company             TEXT,
    job_title           TEXT,
    address_line1       TEXT,
    address_line2       TEXT,
    postal_code         TEXT,
    city                TEXT,
    country             TEXT CHECK (country ~ '^[A-Z]{2}$'),
    preferred_language  TEXT NOT NULL DEFAULT 'en' CHECK (preferred_language ~ '^[a-z]{2}$'),
    -- opt-outs per channel: when the person opposed it, NULL while they have not
    optout_marketing_email_at   TIMESTAMPTZ,
    optout_sms_at               TIMESTAMPTZ,
    optout_phone_prospecting_at TIMESTAMPTZ,
    legal_basis         TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until     TIMESTAMPTZ NOT NULL,
    restricted_at       TIMESTAMPTZ,
    erased_at           TIMESTAMPTZ,
    source              TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at    TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX persons_org_email ON persons (organization_id, lower(email)) WHERE erased_at IS NULL;
CREATE INDEX persons_org_name ON persons (organization_id, lower(last_name), lower(first_name));

CREATE TABLE user_accounts (
    id              BIGSERIAL PRIMARY KEY,
    email           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    disabled_at     TIMESTAMPTZ,
    legal_basis     TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until TIMESTAMPTZ NOT NULL,
    restricted_at   TIMESTAMPTZ,
    erased_at       TIMESTAMPTZ,
    source          TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_accounts_email ON user_accounts (lower(email));

-- A platform admin membership has no organization; a participant membership names the person
-- the account speaks for.
CREATE TABLE memberships (
    id              BIGSERIAL PRIMARY KEY,
    user_account_id BIGINT NOT NULL REFERENCES user_accounts(id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations(id),
    role            TEXT NOT NULL CHECK (role IN ('platform_admin', 'org_admin', 'org_staff', 'participant')),
    person_id       BIGINT REFERENCES persons(id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((role = 'platform_admin') = (organization_id IS NULL)),
    CHECK ((role = 'participant') = (person_id IS NOT NULL))
);
CREATE UNIQUE INDEX memberships_unique ON memberships (user_account_id, coalesce(organization_id, 0), role);

CREATE TABLE refresh_tokens (
    id              BIGSERIAL PRIMARY KEY,
    user_account_id BIGINT NOT NULL REFERENCES user_accounts(id) ON DELETE CASCADE,
    membership_id   BIGINT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    token_sha256    TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_account_id);

-- Failed logins, keyed by a hash of the account email or of the client address, so that
-- throttling works across any number of API nodes without keeping the address in clear.
CREATE TABLE login_failures (
    id           BIGSERIAL PRIMARY KEY,
    subject_key  TEXT NOT NULL,
    failed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_subject ON login_failures (subject_key, failed_at);

CREATE TABLE events (
    id              BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    slug            TEXT NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone       TEXT NOT NULL,
    venue           TEXT,
    starts_on       DATE NOT NULL,
    ends_on         DATE NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed', 'archived')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, slug),
    CHECK (ends_on >= starts_on)
);

CREATE TABLE event_days (
    id            BIGSERIAL PRIMARY KEY,
    event_id      BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    day           DATE NOT NULL,
    starts_at     TIME NOT NULL,
    ends_at       TIME NOT NULL,
    slot_minutes  INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    UNIQUE (event_id, day),
    CHECK (ends_at > starts_at)
);

CREATE TABLE meeting_slots (
    id            BIGSERIAL PRIMARY KEY,
    event_id      BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    event_day_id  BIGINT NOT NULL REFERENCES event_days(id) ON DELETE CASCADE,
    starts_at     TIMESTAMPTZ NOT NULL,
    ends_at       TIMESTAMPTZ NOT NULL,
    session_label TEXT NOT NULL,
    UNIQUE (event_id, starts_at),
    CHECK (ends_at > starts_at)
);
CREATE INDEX meeting_slots_day ON meeting_slots (event_day_id, starts_at);

CREATE TABLE meeting_tables (
    id        BIGSERIAL PRIMARY KEY,
    event_id  BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    number    INTEGER NOT NULL CHECK (number > 0),
    label     TEXT NOT NULL,
    UNIQUE (event_id, number)
);

CREATE TABLE registrations (
    id                  BIGSERIAL PRIMARY KEY,
    organization_id     BIGINT NOT NULL REFERENCES organizations(id),
    event_id            BIGINT NOT NULL REFERENCES events(id),
    person_id           BIGINT NOT NULL REFERENCES persons(id),
    participant_type    TEXT NOT NULL CHECK (participant_type IN ('buyer', 'supplier', 'visitor', 'exhibitor', 'speaker')),
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'validated', 'refused', 'cancelled')),
    status_reason       TEXT,
    company_description TEXT,
    offers              TEXT,
    needs               TEXT,
    sectors             TEXT[] NOT NULL DEFAULT '{}',
    languages           TEXT[] NOT NULL DEFAULT '{}',
    profile_visible     BOOLEAN NOT NULL DEFAULT true,
    meeting_quota       INTEGER CHECK (meeting_quota >= 0),
    stand               TEXT,
    legal_basis         TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until     TIMESTAMPTZ NOT NULL,
    restricted_at       TIMESTAMPTZ,
    erased_at           TIMESTAMPTZ,
    source              TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at    TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, person_id)
);
CREATE INDEX registrations_event_status ON registrations (event_id, status, participant_type);
CREATE INDEX registrations_person ON registrations (person_id);

CREATE TABLE consent_records (
    id              BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    person_id       BIGINT NOT NULL REFERENCES persons(id),
    purpose         TEXT NOT NULL,
    text_version    TEXT NOT NULL,
    granted         BOOLEAN NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('web_form', 'api', 'import', 'paper', 'email')),
    client_address  TEXT,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    legal_basis     TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until TIMESTAMPTZ NOT NULL,
    restricted_at   TIMESTAMPTZ,
    erased_at       TIMESTAMPTZ,
    source          TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ
);
CREATE INDEX consent_records_person ON consent_records (person_id, recorded_at);

-- Who read or changed whose personal data. Rows are only ever inserted.
CREATE TABLE audit_log (
    id              BIGSERIAL PRIMARY KEY,
    organization_id BIGINT REFERENCES organizations(id),
    actor_user_id   BIGINT REFERENCES user_accounts(id),
    action          TEXT NOT NULL,
    subject_type    TEXT NOT NULL,
    subject_ids     BIGINT[] NOT NULL DEFAULT '{}',
    person_ids      BIGINT[] NOT NULL DEFAULT '{}',
    field_names     TEXT[] NOT NULL DEFAULT '{}',
    client_address  TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    legal_basis     TEXT NOT NULL DEFAULT 'legal_obligation' CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until TIMESTAMPTZ NOT NULL DEFAULT now() + interval '5 years',
    restricted_at   TIMESTAMPTZ,
    erased_at       TIMESTAMPTZ,
    source          TEXT NOT NULL DEFAULT 'system' CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ
);
CREATE INDEX audit_log_org_time ON audit_log (organization_id, occurred_at DESC);
CREATE INDEX audit_log_person_ids ON audit_log USING GIN (person_ids);

-- Changes the search indexes must follow. Written by triggers, so every writer (API, import,
-- erasure job) feeds it inside its own transaction; each node's index reads it in id order.
CREATE TABLE search_outbox (
    id              BIGSERIAL PRIMARY KEY,
    registration_id BIGINT NOT NULL,
    event_id        BIGINT NOT NULL,
    enqueued_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION search_outbox_registration() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO search_outbox (registration_id, event_id) VALUES (OLD.id, OLD.event_id);
        RETURN OLD;
    END IF;
    INSERT INTO search_outbox (registration_id, event_id) VALUES (NEW.id, NEW.event_id);
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER registrations_search_outbox
    AFTER INSERT OR UPDATE OR DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION search_outbox_registration();

CREATE FUNCTION search_outbox_person() RETURNS trigger AS $$
BEGIN
    INSERT INTO search_outbox (registration_id, event_id)
        SELECT r.id, r.event_id FROM registrations r WHERE r.person_id = NEW.id;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER persons_search_outbox
    AFTER UPDATE ON persons
    FOR EACH ROW EXECUTE FUNCTION search_outbox_person();
