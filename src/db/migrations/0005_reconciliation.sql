
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_source_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_source_check CHECK (source IN ('outbound', 'apex', 'reconcile'));

-- Where each scheduled reconciliation got to: the last record it stored, by SystemModstamp then Id.
CREATE TABLE forcehook.reconcile_cursors (
  sobject_type   text        PRIMARY KEY,
  last_modstamp  timestamptz NOT NULL,
  last_id        text        NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
