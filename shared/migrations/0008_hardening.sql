-- Issue 11. jobs.errors keeps only the first 100 item errors; errors_count counts them all
-- (every error stays in job_items). Existing jobs get their count from what they hold.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS errors_count int NOT NULL DEFAULT 0;
UPDATE jobs SET errors_count = jsonb_array_length(errors) WHERE errors_count = 0 AND errors <> '[]';

-- Console sessions live on the server: the cookie holds a random id, this table its SHA-256,
-- so logout (a DELETE) ends it for good, and a stolen table holds no usable cookie.
-- admin_fp ties a session to the ADMIN_TOKEN it was opened with (a slow hash of it): a new
-- token ends every older session.
CREATE TABLE IF NOT EXISTS console_sessions (
    id_hash      bytea PRIMARY KEY,
    csrf         text NOT NULL,
    admin_fp     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_expires ON console_sessions (expires_at);
