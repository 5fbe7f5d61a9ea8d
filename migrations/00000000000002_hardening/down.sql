DROP TABLE IF EXISTS search_outbox_horizon;
DROP INDEX IF EXISTS search_outbox_enqueued;
DROP INDEX IF EXISTS search_outbox_xid;
ALTER TABLE search_outbox DROP COLUMN IF EXISTS xid;
DROP TABLE IF EXISTS jobs;
DROP TABLE IF EXISTS login_throttle;
CREATE TABLE login_failures (
    id           BIGSERIAL PRIMARY KEY,
    subject_key  TEXT NOT NULL,
    failed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_subject ON login_failures (subject_key, failed_at);
DELETE FROM refresh_tokens;
ALTER TABLE refresh_tokens DROP COLUMN IF EXISTS session_id;
DROP TABLE IF EXISTS sessions;
