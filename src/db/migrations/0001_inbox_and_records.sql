
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
