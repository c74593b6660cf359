-- Backfill bookkeeping: the conversations each job has enumerated, so its total is exact even
-- when a resumed worker walks a Graph page again or a thread shows up on two pages.
CREATE TABLE IF NOT EXISTS job_enumerated (
    job_id               uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    platform             text NOT NULL CHECK (platform IN ('messenger', 'instagram')),
    contact_external_id  text NOT NULL,
    PRIMARY KEY (job_id, platform, contact_external_id)
);

-- The scheduler and the stale-job sweep look for active jobs by heartbeat.
CREATE INDEX IF NOT EXISTS jobs_active_heartbeat
    ON jobs (heartbeat_at) WHERE status IN ('PENDING', 'IN_PROGRESS');

-- Which worker runs an IN_PROGRESS job: a worker that lost its claim (stale heartbeat, another
-- worker resumed the job) notices at its next write and stops.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS claimed_by text;
