
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_source_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_source_check CHECK (source IN ('outbound', 'apex', 'reconcile', 'streaming'));

-- The replay id of the last event of each streaming channel whose batch was committed.
CREATE TABLE forcehook.replay_ids (
  channel     text        PRIMARY KEY,
  replay_id   bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
