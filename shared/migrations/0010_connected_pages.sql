-- Connected pages (DESIGN §3, §6): a page's health as the last check saw it, who connected it,
-- the single-use OAuth states of the console's connect flow, and Meta's data-deletion requests.

ALTER TABLE pages ADD COLUMN IF NOT EXISTS health_status text NOT NULL DEFAULT 'ok';
ALTER TABLE pages ADD COLUMN IF NOT EXISTS health_checked_at timestamptz;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS health_detail jsonb NOT NULL DEFAULT '{}';
ALTER TABLE pages ADD COLUMN IF NOT EXISTS connected_by jsonb;
DO $$ BEGIN
    ALTER TABLE pages ADD CONSTRAINT pages_health_status CHECK (health_status IN
        ('ok', 'token_expired', 'token_invalid', 'missing_permissions', 'unsubscribed',
         'disconnected'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- Deauthorize and data-deletion callbacks find a person's pages by their app-scoped user id.
CREATE INDEX IF NOT EXISTS pages_connected_by ON pages ((connected_by ->> 'id'));

-- One row per "Connect pages" click: bound to the console session, used once, 10 minutes.
CREATE TABLE IF NOT EXISTS oauth_states (
    state        text PRIMARY KEY,
    session_key  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    used_at      timestamptz
);

-- Meta's data-deletion requests, whose status page a person can read with the code.
CREATE TABLE IF NOT EXISTS data_deletions (
    code          text PRIMARY KEY,
    user_id       text NOT NULL,
    page_ids      jsonb NOT NULL DEFAULT '[]',
    status        text NOT NULL DEFAULT 'completed' CHECK (status IN ('pending', 'completed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
