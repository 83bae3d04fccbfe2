
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

-- forcehook.app_users, the table of the contact-match example, was created here until the example
-- moved out of forcehook: it now comes with the example (examples/contact-match/migrations), and a
-- database that ran this version keeps the table and its rows.
