
-- Outbound Messages carry no SessionId since February 2026: nothing acts as their sender any more.
DROP TABLE forcehook.sessions;

-- verifying: waiting for its record to be read back from the org; dropped: the org has no such record.
ALTER TABLE forcehook.inbox DROP CONSTRAINT inbox_status_check;
ALTER TABLE forcehook.inbox ADD CONSTRAINT inbox_status_check
  CHECK (status IN ('received', 'verifying', 'retrying', 'done', 'failed', 'skipped', 'dropped'));
