
-- Platform Events a handler publishes (ctx.salesforce.publish) wait in the same outbox as its
-- updates and go out through sObject Collections create, 200 a call. Each event keeps its own row
-- (record_key is a fresh UUID), so events are never merged with each other.
ALTER TABLE forcehook.salesforce_writes DROP CONSTRAINT salesforce_writes_operation_check;
ALTER TABLE forcehook.salesforce_writes ADD CONSTRAINT salesforce_writes_operation_check
  CHECK (operation IN ('update', 'upsert', 'create'));
