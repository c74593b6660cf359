-- The analyzer's bookkeeping per conversation: a revision bumped whenever stored messages change,
-- and the revision, time and result of the last published analysis (to skip covered events).
CREATE TABLE IF NOT EXISTS analyzer_conversations (
    page_id              text NOT NULL,
    platform             text NOT NULL CHECK (platform IN ('messenger', 'instagram')),
    contact_external_id  text NOT NULL,
    revision             bigint NOT NULL DEFAULT 0,
    analyzed_revision    bigint NOT NULL DEFAULT 0,
    analyzed_through     timestamptz,
    message_count        int,
    analysis             jsonb,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (page_id, platform, contact_external_id)
);
