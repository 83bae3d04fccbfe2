
-- A handler job names the inbox rows it carries ({"inboxIds": [...]}); jobs queued before this
-- version name one ({"inboxId": n}). Reads of pg-boss's jobs go through this function.
CREATE FUNCTION forcehook.job_inbox_ids(data jsonb) RETURNS SETOF bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT id::bigint FROM jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(data->'inboxIds') = 'array' THEN data->'inboxIds'
         WHEN data ? 'inboxId' THEN jsonb_build_array(data->'inboxId')
         ELSE '[]'::jsonb END) AS t(id)
$$;

-- The worker no longer rewrites the wide inbox row when an event simply succeeds: a row stays
-- 'received' and reads as 'done' once every handler it was routed to has a done or skipped outcome.
-- Failures (and clearing them) are still written to the row. Every read of a status goes through this.
-- Arguments: the inbox row's id, status and handlers.
CREATE FUNCTION forcehook.event_status(bigint, text, text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN $2 <> 'received' OR cardinality($3) = 0 THEN $2
    WHEN (SELECT count(*) FROM forcehook.outcomes o
          WHERE o.inbox_id = $1 AND o.handler = ANY($3) AND o.outcome IN ('done', 'skipped')) >= cardinality($3) THEN 'done'
    ELSE $2 END
$$;

-- The foreign key made every outcome insert lock its inbox row (FOR KEY SHARE writes the wide row's
-- header): a write to the inbox per event and handler. Retention deletes outcomes itself.
ALTER TABLE forcehook.outcomes DROP CONSTRAINT outcomes_inbox_id_fkey;

-- A burst of a hundred thousand events must not leave the planner with the statistics of an
-- empty table until autovacuum's default 10% threshold is crossed.
ALTER TABLE forcehook.outcomes SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE forcehook.inbox SET (autovacuum_analyze_scale_factor = 0.02);
