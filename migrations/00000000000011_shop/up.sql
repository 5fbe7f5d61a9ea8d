-- The shop: registration forms and their answers, the catalogue (packages and options with
-- sale windows, capacities and vouchers), orders, payments with their provider events,
-- refunds, and invoices and credit notes numbered without gaps.

-- The seller's mentions on invoices.
ALTER TABLE organizations
    ADD COLUMN legal_name      TEXT CHECK (length(legal_name) BETWEEN 1 AND 200),
    ADD COLUMN address_line1   TEXT,
    ADD COLUMN address_line2   TEXT,
    ADD COLUMN postal_code     TEXT,
    ADD COLUMN city            TEXT,
    ADD COLUMN country         TEXT CHECK (country ~ '^[A-Z]{2}$'),
    ADD COLUMN siren           TEXT CHECK (siren ~ '^[0-9]{9}$'),
    ADD COLUMN siret           TEXT CHECK (siret ~ '^[0-9]{14}$'),
    ADD COLUMN vat_number      TEXT,
    ADD COLUMN legal_mentions  TEXT,
    ADD COLUMN payment_days    INTEGER NOT NULL DEFAULT 30 CHECK (payment_days BETWEEN 0 AND 60),
    ADD COLUMN late_penalty    TEXT NOT NULL DEFAULT 'trois fois le taux d''intérêt légal';

-- The texts consented to, by purpose and version: a consent record names its version, and
-- what it consented to is read here. Versions never change once written.
CREATE TABLE consent_texts (
    id              BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    purpose         TEXT NOT NULL,
    version         TEXT NOT NULL,
    text_fr         TEXT NOT NULL,
    text_en         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, purpose, version)
);

-- A registration form per event and participant type, one row per version: a change writes a
-- new version, and answers keep the version they were given under.
CREATE TABLE registration_forms (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id),
    participant_type TEXT NOT NULL CHECK (participant_type IN ('buyer', 'supplier', 'visitor', 'exhibitor', 'speaker')),
    version          INTEGER NOT NULL CHECK (version >= 1),
    definition       JSONB NOT NULL,
    created_by       BIGINT REFERENCES user_accounts(id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, participant_type, version)
);

-- What a participant answered, under the form version they saw.
CREATE TABLE registration_answers (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id),
    registration_id  BIGINT NOT NULL UNIQUE REFERENCES registrations(id),
    person_id        BIGINT NOT NULL REFERENCES persons(id),
    form_id          BIGINT NOT NULL REFERENCES registration_forms(id),
    answers          JSONB NOT NULL,
    submitted_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    legal_basis      TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until  TIMESTAMPTZ NOT NULL,
    restricted_at    TIMESTAMPTZ,
    erased_at        TIMESTAMPTZ,
    source           TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at TIMESTAMPTZ
);
CREATE INDEX registration_answers_person ON registration_answers (person_id);
CREATE INDEX registration_answers_event ON registration_answers (event_id, id);

-- Packages (one per participant type at most on sale at a time is the organizer's choice)
-- and options. `held` counts units in orders awaiting payment, `sold` units paid: together
-- they never exceed the capacity, which one conditional UPDATE enforces under any
-- concurrency.
CREATE TABLE products (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id),
    event_id         BIGINT NOT NULL REFERENCES events(id),
    kind             TEXT NOT NULL CHECK (kind IN ('package', 'option')),
    participant_type TEXT CHECK (participant_type IN ('buyer', 'supplier', 'visitor', 'exhibitor', 'speaker')),
    code             TEXT NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      TEXT,
    vat_rate_bp      INTEGER NOT NULL CHECK (vat_rate_bp IN (2000, 1000, 550, 210, 0)),
    vat_exemption    TEXT,
    capacity         INTEGER CHECK (capacity >= 0),
    held             INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold             INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
    meeting_quota    INTEGER CHECK (meeting_quota >= 0),
    max_per_order    INTEGER NOT NULL DEFAULT 1 CHECK (max_per_order BETWEEN 1 AND 1000),
    active           BOOLEAN NOT NULL DEFAULT true,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, code),
    CHECK (capacity IS NULL OR held + sold <= capacity),
    CHECK (CASE kind WHEN 'package' THEN participant_type IS NOT NULL ELSE participant_type IS NULL END),
    CHECK (vat_rate_bp <> 0 OR vat_exemption IS NOT NULL)
);

-- A product's prices over time: the early-bird window, then the normal one. A product is on
-- sale while a window covers the moment; windows of one product never overlap (checked by
-- the application under the product's lock).
CREATE TABLE product_prices (
    id          BIGSERIAL PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    price_cents BIGINT NOT NULL CHECK (price_cents BETWEEN 0 AND 1000000000),
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX product_prices_product ON product_prices (product_id, starts_at);

CREATE TABLE vouchers (
    id              BIGSERIAL PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    event_id        BIGINT NOT NULL REFERENCES events(id),
    code            TEXT NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{2,39}$'),
    percent_bp      INTEGER CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_cents    BIGINT CHECK (amount_cents BETWEEN 1 AND 1000000000),
    product_id      BIGINT REFERENCES products(id),
    max_uses        INTEGER CHECK (max_uses >= 1),
    used            INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    valid_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (event_id, code),
    CHECK ((percent_bp IS NULL) <> (amount_cents IS NULL)),
    CHECK (max_uses IS NULL OR used <= max_uses)
);

-- An order: the buyer as they were when they ordered, the priced lines, and its state.
CREATE TABLE orders (
    id                BIGSERIAL PRIMARY KEY,
    organization_id   BIGINT NOT NULL REFERENCES organizations(id),
    event_id          BIGINT NOT NULL REFERENCES events(id),
    person_id         BIGINT NOT NULL REFERENCES persons(id),
    registration_id   BIGINT REFERENCES registrations(id),
    reference         TEXT NOT NULL UNIQUE,
    idempotency_key   TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 100),
    request_digest    TEXT NOT NULL,
    created_by        BIGINT REFERENCES user_accounts(id),
    status            TEXT NOT NULL DEFAULT 'pending_payment' CHECK (status IN ('pending_payment', 'paid', 'cancelled', 'refunded', 'partially_refunded')),
    hold_until        TIMESTAMPTZ NOT NULL,
    voucher_id        BIGINT REFERENCES vouchers(id),
    buyer             JSONB NOT NULL,
    vat_treatment     TEXT NOT NULL CHECK (vat_treatment IN ('standard', 'reverse_charge')),
    pricing           JSONB NOT NULL,
    total_excl_cents  BIGINT NOT NULL CHECK (total_excl_cents >= 0),
    total_vat_cents   BIGINT NOT NULL CHECK (total_vat_cents >= 0),
    total_incl_cents  BIGINT NOT NULL CHECK (total_incl_cents >= 0),
    paid_cents        BIGINT NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    refunded_cents    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= paid_cents),
    payment_method    TEXT CHECK (payment_method IN ('card', 'bank_transfer', 'on_site')),
    cancel_reason     TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at           TIMESTAMPTZ,
    cancelled_at      TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    legal_basis       TEXT NOT NULL CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until   TIMESTAMPTZ NOT NULL,
    restricted_at     TIMESTAMPTZ,
    erased_at         TIMESTAMPTZ,
    source            TEXT NOT NULL CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at  TIMESTAMPTZ,
    UNIQUE (person_id, idempotency_key)
);
CREATE INDEX orders_event ON orders (event_id, id);
CREATE INDEX orders_pending ON orders (hold_until) WHERE status = 'pending_payment';
CREATE INDEX orders_person ON orders (person_id);

CREATE TABLE order_lines (
    id                BIGSERIAL PRIMARY KEY,
    order_id          BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id        BIGINT NOT NULL REFERENCES products(id),
    label             TEXT NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents  BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    discount_cents    BIGINT NOT NULL CHECK (discount_cents >= 0),
    net_cents         BIGINT NOT NULL CHECK (net_cents >= 0),
    vat_rate_bp       INTEGER NOT NULL CHECK (vat_rate_bp IN (2000, 1000, 550, 210, 0))
);
CREATE INDEX order_lines_order ON order_lines (order_id);

-- Payments of an order, by any method; a card payment is one checkout session.
CREATE TABLE payments (
    id                  BIGSERIAL PRIMARY KEY,
    organization_id     BIGINT NOT NULL REFERENCES organizations(id),
    order_id            BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    method              TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'on_site')),
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    amount_cents        BIGINT NOT NULL CHECK (amount_cents > 0),
    provider_session_id TEXT UNIQUE,
    provider_payment_id TEXT UNIQUE,
    checkout_url        TEXT,
    bank_reference      TEXT,
    recorded_by         BIGINT REFERENCES user_accounts(id),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at        TIMESTAMPTZ
);
CREATE INDEX payments_order ON payments (order_id);
-- At most one card session in progress per order.
CREATE UNIQUE INDEX payments_one_open_card ON payments (order_id) WHERE method = 'card' AND status = 'pending';

-- Every provider event received, by its id: a replayed webhook finds its id here and changes
-- nothing.
CREATE TABLE payment_events (
    provider     TEXT NOT NULL,
    -- The provider's id of the event (not one of the platform's events).
    provider_event_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    order_id     BIGINT REFERENCES orders(id) ON DELETE SET NULL,
    outcome      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, provider_event_id)
);

CREATE TABLE refunds (
    id                 BIGSERIAL PRIMARY KEY,
    organization_id    BIGINT NOT NULL REFERENCES organizations(id),
    order_id           BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    payment_id         BIGINT REFERENCES payments(id) ON DELETE CASCADE,
    amount_cents       BIGINT NOT NULL CHECK (amount_cents > 0),
    reason             TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_refund_id TEXT UNIQUE,
    requested_by       BIGINT REFERENCES user_accounts(id),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at       TIMESTAMPTZ
);
CREATE INDEX refunds_order ON refunds (order_id);

-- The last number given per organization and year. Taking a number updates this row, which
-- stays locked until the invoice's transaction ends: a rollback gives the number back, and
-- two invoices never share one.
CREATE TABLE invoice_sequences (
    organization_id BIGINT NOT NULL REFERENCES organizations(id),
    year            INTEGER NOT NULL,
    last_number     INTEGER NOT NULL CHECK (last_number >= 0),
    PRIMARY KEY (organization_id, year)
);

-- Invoices and credit notes: immutable once issued, kept ten years (accounting), and
-- self-contained (the document as issued, its PDF and XML), so that they outlive the order,
-- the event and the buyer's other data. No foreign key to what they describe for that reason.
CREATE TABLE invoices (
    id                BIGSERIAL PRIMARY KEY,
    organization_id   BIGINT NOT NULL REFERENCES organizations(id),
    event_id          BIGINT NOT NULL,
    order_id          BIGINT NOT NULL,
    person_id         BIGINT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    year              INTEGER NOT NULL,
    seq               INTEGER NOT NULL CHECK (seq >= 1),
    number            TEXT NOT NULL,
    issued_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    corrects_id       BIGINT REFERENCES invoices(id),
    refund_id         BIGINT,
    document          JSONB NOT NULL,
    total_excl_cents  BIGINT NOT NULL,
    total_vat_cents   BIGINT NOT NULL,
    total_incl_cents  BIGINT NOT NULL,
    pdf               BYTEA NOT NULL,
    xml               TEXT NOT NULL,
    legal_basis       TEXT NOT NULL DEFAULT 'legal_obligation' CHECK (legal_basis IN ('consent', 'contract', 'legal_obligation', 'legitimate_interest')),
    retention_until   TIMESTAMPTZ NOT NULL,
    restricted_at     TIMESTAMPTZ,
    erased_at         TIMESTAMPTZ,
    source            TEXT NOT NULL DEFAULT 'system' CHECK (source IN ('registration', 'import', 'prospect', 'admin', 'system')),
    last_verified_at  TIMESTAMPTZ,
    UNIQUE (organization_id, year, seq),
    UNIQUE (organization_id, number),
    CHECK (CASE kind WHEN 'credit_note' THEN corrects_id IS NOT NULL ELSE corrects_id IS NULL END)
);
CREATE INDEX invoices_order ON invoices (order_id);
CREATE INDEX invoices_person ON invoices (person_id);
CREATE INDEX invoices_org_issued ON invoices (organization_id, issued_at);
CREATE UNIQUE INDEX invoices_one_per_order ON invoices (order_id) WHERE kind = 'invoice';

-- An issued document never changes: only the restriction of processing may be set or lifted.
CREATE FUNCTION invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'restricted_at') IS DISTINCT FROM (to_jsonb(OLD) - 'restricted_at') THEN
        RAISE EXCEPTION 'an issued invoice cannot change; issue a credit note'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_immutable();

-- Invoices past their ten years leave only through this function, with the owner's rights.
CREATE FUNCTION privacy_purge_invoices(cutoff TIMESTAMPTZ, max_rows INTEGER) RETURNS BIGINT
    LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    WITH gone AS (
        DELETE FROM invoices WHERE id IN (
            SELECT i.id FROM invoices i
            WHERE i.retention_until < least(cutoff, now()) AND i.restricted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM invoices c WHERE c.corrects_id = i.id
                              AND (c.retention_until >= least(cutoff, now()) OR c.restricted_at IS NOT NULL))
            ORDER BY i.kind, i.id LIMIT max_rows)
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
REVOKE ALL ON FUNCTION privacy_purge_invoices(TIMESTAMPTZ, INTEGER) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdv_app') THEN
        REVOKE DELETE, TRUNCATE ON invoices FROM rdv_app;
        REVOKE DELETE, TRUNCATE ON invoice_sequences FROM rdv_app;
        GRANT EXECUTE ON FUNCTION privacy_purge_invoices(TIMESTAMPTZ, INTEGER) TO rdv_app;
    END IF;
END $$;
