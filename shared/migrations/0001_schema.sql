-- The whole schema of DESIGN §6: tables, constraints, indexes and the job_progress view.

CREATE TABLE IF NOT EXISTS pipelines (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS stages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pipeline_id     uuid NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type            text NOT NULL CHECK (type IN ('LEAD', 'IN_PROGRESS', 'WON', 'LOST', 'ARCHIVED')),
    position        int  NOT NULL,
    lead_score_min  int  NOT NULL DEFAULT 0 CHECK (lead_score_min BETWEEN 0 AND 100),
    lead_score_max  int  NOT NULL DEFAULT 100 CHECK (lead_score_max BETWEEN 0 AND 100),
    CHECK (lead_score_min <= lead_score_max),
    UNIQUE (pipeline_id, position)
);

CREATE TABLE IF NOT EXISTS pages (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    access_token_enc     bytea,
    instagram_account_id text UNIQUE,
    auto_pipeline_id     uuid REFERENCES pipelines(id) ON DELETE SET NULL,
    auto_pipeline_mode   text NOT NULL DEFAULT 'SKIP_EXISTING'
                         CHECK (auto_pipeline_mode IN ('SKIP_EXISTING', 'UPDATE_EXISTING')),
    auto_sync            boolean NOT NULL DEFAULT true,
    sync_interval_s      int NOT NULL DEFAULT 3600 CHECK (sync_interval_s >= 60),
    last_synced_at       timestamptz,
    token_status         text NOT NULL DEFAULT 'ok' CHECK (token_status IN ('ok', 'expired')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS contacts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    page_id           text NOT NULL,
    platform          text NOT NULL CHECK (platform IN ('messenger', 'instagram')),
    external_id       text NOT NULL,
    name              text,
    pipeline_id       uuid REFERENCES pipelines(id) ON DELETE SET NULL,
    stage_id          uuid REFERENCES stages(id) ON DELETE SET NULL,
    lead_score        int CHECK (lead_score BETWEEN 1 AND 100),
    lead_status       text CHECK (lead_status IN ('NEW', 'CONTACTED', 'QUALIFIED', 'WON', 'LOST')),
    stage_entered_at  timestamptz,
    last_message_at   timestamptz,
    analyzed_through  timestamptz,
    ai_summary        text,
    ai_reasoning      text,
    ai_confidence     int CHECK (ai_confidence BETWEEN 0 AND 100),
    used_fallback     boolean,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (page_id, platform, external_id)
);
CREATE INDEX IF NOT EXISTS contacts_page_stage ON contacts (page_id, stage_id, id);
CREATE INDEX IF NOT EXISTS contacts_stage ON contacts (stage_id);

CREATE TABLE IF NOT EXISTS messages (
    mid                  text PRIMARY KEY,
    page_id              text NOT NULL,
    platform             text NOT NULL CHECK (platform IN ('messenger', 'instagram')),
    contact_external_id  text NOT NULL,
    from_page            boolean NOT NULL DEFAULT false,
    text                 text,
    attachments          jsonb NOT NULL DEFAULT '[]',
    sent_at              timestamptz NOT NULL,
    edit_count           int NOT NULL DEFAULT 0,
    deleted              boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS messages_conversation
    ON messages (page_id, platform, contact_external_id, sent_at DESC);

CREATE TABLE IF NOT EXISTS activities (
    id            bigserial PRIMARY KEY,
    contact_id    uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    type          text NOT NULL,
    from_stage_id uuid,
    to_stage_id   uuid,
    lead_score    int,
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS activities_contact ON activities (contact_id, id DESC);

CREATE TABLE IF NOT EXISTS jobs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    page_id           text NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('FULL', 'INCREMENTAL', 'RETRY')),
    status            text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')),
    total_contacts    int,
    synced_contacts   int NOT NULL DEFAULT 0,
    failed_contacts   int NOT NULL DEFAULT 0,
    token_expired     boolean NOT NULL DEFAULT false,
    errors            jsonb NOT NULL DEFAULT '[]',
    error             text,
    cursor            jsonb,
    enumeration_done  boolean NOT NULL DEFAULT false,
    retry_of          uuid REFERENCES jobs(id) ON DELETE SET NULL,
    heartbeat_at      timestamptz,
    started_at        timestamptz,
    completed_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_active_per_page
    ON jobs (page_id) WHERE status IN ('PENDING', 'IN_PROGRESS');
CREATE INDEX IF NOT EXISTS jobs_page_created ON jobs (page_id, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);

CREATE TABLE IF NOT EXISTS job_items (
    job_id               uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    platform             text NOT NULL CHECK (platform IN ('messenger', 'instagram')),
    contact_external_id  text NOT NULL,
    outcome              text NOT NULL CHECK (outcome IN ('SYNCED', 'FAILED')),
    error                text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, platform, contact_external_id)
);

-- What a Grafana panel selects: progress, rate and ETA of each job.
CREATE OR REPLACE VIEW job_progress AS
SELECT
    j.id,
    j.page_id,
    j.kind,
    j.status,
    CASE
        WHEN j.status = 'COMPLETED' THEN 100.0
        WHEN coalesce(j.total_contacts, 0) = 0 THEN 0.0
        ELSE round(100.0 * (j.synced_contacts + j.failed_contacts) / j.total_contacts, 1)
    END AS percent,
    CASE
        WHEN j.started_at IS NULL THEN NULL
        ELSE round(
            (j.synced_contacts + j.failed_contacts)
            / greatest(extract(epoch FROM coalesce(j.completed_at, now()) - j.started_at), 0.001),
            2)
    END AS items_per_s,
    CASE
        WHEN j.status <> 'IN_PROGRESS' OR j.total_contacts IS NULL
             OR j.started_at IS NULL OR j.synced_contacts + j.failed_contacts = 0 THEN NULL
        ELSE round(
            greatest(j.total_contacts - j.synced_contacts - j.failed_contacts, 0)
            * extract(epoch FROM now() - j.started_at)
            / (j.synced_contacts + j.failed_contacts), 1)
    END AS eta_s,
    round(extract(epoch FROM now() - j.created_at)::numeric, 1) AS age_s
FROM jobs j;
