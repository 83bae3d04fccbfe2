
-- What each handler made of each event. Rewriting the wide inbox row (fields jsonb) once per handler
-- and attempt left most of the inbox as dead rows and made handlers deadlock on it; a narrow row per
-- (event, handler) is cheap to rewrite, and the inbox status changes only when it actually changes.
CREATE TABLE forcehook.outcomes (
  inbox_id    bigint      NOT NULL REFERENCES forcehook.inbox (id) ON DELETE CASCADE,
  handler     text        NOT NULL,
  outcome     text        NOT NULL CHECK (outcome IN ('done', 'skipped', 'retrying', 'failed')),
  attempts    integer     NOT NULL DEFAULT 0,
  last_error  text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (inbox_id, handler)
);

INSERT INTO forcehook.outcomes (inbox_id, handler, outcome, attempts, last_error, updated_at)
SELECT i.id, o.handler, o.outcome, GREATEST(i.attempts, 1),
       CASE WHEN o.outcome IN ('retrying', 'failed') THEN i.last_error END, i.updated_at
FROM forcehook.inbox i, jsonb_each_text(i.outcomes) AS o(handler, outcome)
WHERE i.outcomes <> '{}' AND o.outcome IN ('done', 'skipped', 'retrying', 'failed');

ALTER TABLE forcehook.inbox DROP COLUMN outcomes;
