-- Sessions, atomic login throttling, the job queue, and a search outbox that a follower can
-- read correctly whatever the order in which its writers commit.

-- A session is one login: its refresh tokens rotate within it, its access tokens name it, and
-- it ends at an absolute deadline, at logout, or when a replayed refresh token betrays a theft.
CREATE TABLE sessions (
    id              BIGSERIAL PRIMARY KEY,
    user_account_id BIGINT NOT NULL REFERENCES user_accounts(id) ON DELETE CASCADE,
    membership_id   BIGINT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ,
    revoked_reason  TEXT CHECK (revoked_reason IN ('logout', 'logout_all', 'refresh_token_reuse', 'account_disabled')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX sessions_user_live ON sessions (user_account_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Tokens issued before sessions existed cannot be tied to one: their holders log in again.
DELETE FROM refresh_tokens;
ALTER TABLE refresh_tokens ADD COLUMN session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Login attempts per key (an account and address pair, or an address), counted before the
-- password is checked, in one statement: parallel guesses cannot pass the limit together.
DROP TABLE login_failures;
CREATE TABLE login_throttle (
    subject_key       TEXT PRIMARY KEY,
    attempts          INTEGER NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    blocked_until     TIMESTAMPTZ
);
CREATE INDEX login_throttle_window ON login_throttle (window_started_at);

-- The job queue: enqueued in the caller's transaction, claimed with FOR UPDATE SKIP LOCKED
-- under a lease, retried with backoff, dead with the last error after max_attempts.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,62}$'),
    payload      JSONB NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    -- At most one queued or running job per key: periodic jobs and other singletons.
    unique_key   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at  TIMESTAMPTZ,
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
);
CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (kind, finished_at) WHERE state IN ('done', 'dead');
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE state IN ('queued', 'running');

-- Each outbox entry carries the id of the transaction that wrote it. Every transaction with an
-- id below a snapshot's xmin has ended, so a follower that reads entries in (xid, id) order up
-- to that horizon misses none, however late a writer commits.
ALTER TABLE search_outbox ADD COLUMN xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX search_outbox_xid ON search_outbox (xid, id);
CREATE INDEX search_outbox_enqueued ON search_outbox (enqueued_at);

-- Where pruning stopped: an index whose position is below it rebuilds instead of following.
CREATE TABLE search_outbox_horizon (
    singleton   BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_below_xid BIGINT NOT NULL
);
INSERT INTO search_outbox_horizon (pruned_below_xid) VALUES (0);
