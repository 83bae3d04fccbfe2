/**
 * Versioned migrations of forcehook's own schema, applied in order by `forcehook migrate` (Heroku's
 * release phase) and at start-up. Never edit a migration that has shipped: add the next one.
 * pg-boss owns and migrates its own schema.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'inbox and records',
    sql: `
CREATE SCHEMA IF NOT EXISTS forcehook;

-- One row per accepted event: the dedupe key and the audit trail ("did record X reach us?").
CREATE TABLE forcehook.inbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id        text        NOT NULL,
  delivery_id   text        NOT NULL,
  source        text        NOT NULL CHECK (source IN ('outbound', 'apex')),
  flow          text        NOT NULL,
  sobject_type  text        NOT NULL,
  record_id     text        NOT NULL,
  operation     text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'undelete', 'upsert')),
  fields        jsonb       NOT NULL,
  previous      jsonb,
  modstamp      timestamptz,
  received_at   timestamptz NOT NULL,
  -- The handler queues the event was routed to, and what each made of it.
  handlers      text[]      NOT NULL DEFAULT '{}',
  outcomes      jsonb       NOT NULL DEFAULT '{}',
  status        text        NOT NULL DEFAULT 'received'
                CHECK (status IN ('received', 'retrying', 'done', 'failed', 'skipped')),
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, delivery_id)
);
CREATE INDEX inbox_record_idx ON forcehook.inbox (record_id, received_at DESC);
CREATE INDEX inbox_flow_idx ON forcehook.inbox (flow, received_at DESC);
CREATE INDEX inbox_unfinished_idx ON forcehook.inbox (status, received_at) WHERE status IN ('retrying', 'failed');

-- The local mirror: the newest state of every record forcehook has heard of.
CREATE TABLE forcehook.records (
  org_id            text        NOT NULL,
  sobject_type      text        NOT NULL,
  record_id         text        NOT NULL,
  fields            jsonb       NOT NULL,
  modstamp          timestamptz,
  deleted           boolean     NOT NULL DEFAULT false,
  last_delivery_id  text        NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, sobject_type, record_id)
);
`,
  },
  {
    version: 2,
    name: 'salesforce writes, api calls, sessions, example app users',
    sql: `
-- Every REST call forcehook makes, per UTC day (the org's daily API limit is shared).
CREATE TABLE forcehook.api_calls (
  day    date   PRIMARY KEY,
  calls  bigint NOT NULL DEFAULT 0
);

-- The outbox of writes to Salesforce: handlers add rows, the flusher merges the rows of each record
-- that arrive within a window and sends them through sObject Collections, 200 records a call.
CREATE TABLE forcehook.salesforce_writes (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sobject_type       text        NOT NULL,
  operation          text        NOT NULL CHECK (operation IN ('update', 'upsert')),
  external_id_field  text        NOT NULL DEFAULT '',
  -- The record id (update) or the external id value (upsert).
  record_key         text        NOT NULL,
  fields             jsonb       NOT NULL,
  -- The modstamp of the change that caused the write: merged rows apply in this order.
  order_key          timestamptz,
  handler            text        NOT NULL,
  cause_org_id       text,
  cause_delivery_id  text,
  status             text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'done', 'dead')),
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  claimed_at         timestamptz,
  salesforce_id      text,
  last_error         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX salesforce_writes_open_idx ON forcehook.salesforce_writes (sobject_type, record_key, id)
  WHERE status IN ('pending', 'sending');
CREATE INDEX salesforce_writes_dead_idx ON forcehook.salesforce_writes (updated_at) WHERE status = 'dead';

-- The SessionId of an Outbound Message, kept only for handlers that act as its sender, and only
-- until their job ends.
CREATE TABLE forcehook.sessions (
  inbox_id     bigint      PRIMARY KEY REFERENCES forcehook.inbox (id) ON DELETE CASCADE,
  session_id   text        NOT NULL,
  partner_url  text        NOT NULL,
  handlers     text[]      NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Owned by the example contact-match handler: the users of "your app" that Contacts are matched to.
CREATE TABLE forcehook.app_users (
  id                     text        PRIMARY KEY DEFAULT gen_random_uuid()::text,
  email                  text        NOT NULL,
  name                   text,
  salesforce_contact_id  text,
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX app_users_email_idx ON forcehook.app_users (lower(email));
`,
  },
  {
    version: 3,
    name: 'inbox by arrival time',
    sql: `
-- The last hour's throughput (admin page, metrics) and the retention sweep read the inbox by time.
CREATE INDEX inbox_received_idx ON forcehook.inbox (received_at);
`,
  },
  {
    version: 4,
    name: 'one index fewer on the ingest path',
    sql: `
-- Every index on the inbox is paid on every event stored. Listing by flow reads the arrival-time
-- index (migration 3) and filters; the (flow, received_at) index did not earn its cost.
DROP INDEX forcehook.inbox_flow_idx;
`,
  },
  {
    version: 5,
    name: 'reconciliation',
    sql: `
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_source_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_source_check CHECK (source IN ('outbound', 'apex', 'reconcile'));

-- Where each scheduled reconciliation got to: the last record it stored, by SystemModstamp then Id.
CREATE TABLE forcehook.reconcile_cursors (
  sobject_type   text        PRIMARY KEY,
  last_modstamp  timestamptz NOT NULL,
  last_id        text        NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 6,
    name: 'push mappings',
    sql: `
-- Which local row is which Salesforce record, per push mapping, and what was last sent.
CREATE TABLE forcehook.sync_map (
  mapping        text        NOT NULL,
  local_id       text        NOT NULL,
  salesforce_id  text        NOT NULL,
  fields_hash    text        NOT NULL,
  synced_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (mapping, local_id)
);
CREATE INDEX sync_map_salesforce_idx ON forcehook.sync_map (salesforce_id);
`,
  },
  {
    version: 7,
    name: 'streaming',
    sql: `
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_source_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_source_check CHECK (source IN ('outbound', 'apex', 'reconcile', 'streaming'));

-- The replay id of the last event of each streaming channel whose batch was committed.
CREATE TABLE forcehook.replay_ids (
  channel     text        PRIMARY KEY,
  replay_id   bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 8,
    name: 'no outbound sessions; verify-by-fetch statuses',
    sql: `
-- Outbound Messages carry no SessionId since February 2026: nothing acts as their sender any more.
DROP TABLE forcehook.sessions;

-- verifying: waiting for its record to be read back from the org; dropped: the org has no such record.
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_status_check
  CHECK (status IN ('received', 'verifying', 'retrying', 'done', 'failed', 'skipped', 'dropped'));
`,
  },
  {
    version: 9,
    name: 'outcomes in a narrow table',
    sql: `
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
`,
  },
  {
    version: 10,
    name: 'batch jobs; status derived from outcomes',
    sql: `
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
`,
  },
  {
    version: 11,
    name: 'platform event publishes in the salesforce writes outbox',
    sql: `
-- Platform Events a handler publishes (ctx.salesforce.publish) wait in the same outbox as its
-- updates and go out through sObject Collections create, 200 a call. Each event keeps its own row
-- (record_key is a fresh UUID), so events are never merged with each other.
ALTER TABLE forcehook.salesforce_writes DROP CONSTRAINT salesforce_writes_operation_check;
ALTER TABLE forcehook.salesforce_writes ADD CONSTRAINT salesforce_writes_operation_check
  CHECK (operation IN ('update', 'upsert', 'create'));
`,
  },
];
