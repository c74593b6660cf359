-- Assigner: a pipeline version that every change to its stages bumps, so the assigner's
-- cached copy of a pipeline notices edits without a restart; and an index for contact lists.

ALTER TABLE pipelines ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION bump_pipeline_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE pipelines SET version = version + 1 WHERE id = OLD.pipeline_id;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.pipeline_id IS DISTINCT FROM OLD.pipeline_id THEN
        UPDATE pipelines SET version = version + 1 WHERE id = NEW.pipeline_id;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS stages_bump_pipeline_version ON stages;
CREATE TRIGGER stages_bump_pipeline_version
    AFTER INSERT OR UPDATE OR DELETE ON stages
    FOR EACH ROW EXECUTE FUNCTION bump_pipeline_version();

-- GET /api/contacts?page_id= pages through a page's contacts by id (keyset).
CREATE INDEX IF NOT EXISTS contacts_page_id ON contacts (page_id, id);
