-- Issue 10: jobs that can never settle are found and completed; scheduled syncs are told apart.

-- When the stale-job sweep first saw the job without progress (NULL while it moves). A job
-- still stalled a full period later has its missing items recorded FAILED and completes.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS stalled_at timestamptz;

-- Jobs the scheduler started (its incremental syncs): a customer message such a sync stores
-- first is one the webhook never delivered (leadsync_reconciled_messages_total).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS scheduled boolean NOT NULL DEFAULT false;

-- The sweep reads the newest settlement of a job.
CREATE INDEX IF NOT EXISTS job_items_job_created ON job_items (job_id, created_at);
