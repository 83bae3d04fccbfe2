
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
