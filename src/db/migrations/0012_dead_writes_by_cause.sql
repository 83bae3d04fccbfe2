-- A write Salesforce refused for good fails the event that caused it. A handler's outcome that
-- commits later must not turn that event back to done: the status refresh looks for dead writes
-- of the event, through this index (dead writes are few, so it stays small).
CREATE INDEX salesforce_writes_dead_cause_idx ON forcehook.salesforce_writes (cause_org_id, cause_delivery_id) WHERE status = 'dead';
