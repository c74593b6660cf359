-- The score ledger (DESIGN §6 `scores`): every analysis appended, never updated; RESCORE jobs
-- with their parameters and outcome; each job item's stage move (what a rescore moved or would).

CREATE TABLE IF NOT EXISTS scores (
    id                 bigserial PRIMARY KEY,
    contact_id         uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    -- One analysis is one row however often its contact.scored is delivered or republished.
    analysis_id        text NOT NULL,
    analyzed_through   timestamptz,
    lead_score         int NOT NULL CHECK (lead_score BETWEEN 1 AND 100),
    lead_status        text NOT NULL
                       CHECK (lead_status IN ('NEW', 'CONTACTED', 'QUALIFIED', 'WON', 'LOST')),
    recommended_stage  text NOT NULL DEFAULT '',
    confidence         int CHECK (confidence BETWEEN 0 AND 100),
    summary            text NOT NULL DEFAULT '',
    reasoning          text NOT NULL DEFAULT '',
    signals            jsonb NOT NULL DEFAULT '[]',
    evidence           jsonb NOT NULL DEFAULT '[]',
    model              text NOT NULL DEFAULT '',
    prompt_version     text NOT NULL DEFAULT '',
    used_fallback      boolean NOT NULL DEFAULT false,
    shadow             boolean NOT NULL DEFAULT false,
    job_id             uuid REFERENCES jobs(id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contact_id, analysis_id)
);
CREATE INDEX IF NOT EXISTS scores_contact ON scores (contact_id, id DESC);
CREATE INDEX IF NOT EXISTS scores_job ON scores (job_id) WHERE job_id IS NOT NULL;

-- RESCORE jobs replay stored transcripts; `params` says how ({dry_run, prompt_version}),
-- `result` what moved or would move ({moves: {...}, examples: [...]}).
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('FULL', 'INCREMENTAL', 'RETRY', 'RESCORE'));
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS params jsonb;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS result jsonb;

-- A RESCORE item's placement: {contact_id, name, from, to, move, score_before, score_after, ...}.
ALTER TABLE job_items ADD COLUMN IF NOT EXISTS detail jsonb;
