import type { Queryable } from './pool.js';

export interface SyncEntry {
  localId: string;
  salesforceId: string;
  fieldsHash: string;
  syncedAt: Date;
}

export async function loadSyncEntries(db: Queryable, mapping: string, localIds: readonly string[]): Promise<Map<string, SyncEntry>> {
  const { rows } = await db.query<{ local_id: string; salesforce_id: string; fields_hash: string; synced_at: Date }>(
    'SELECT local_id, salesforce_id, fields_hash, synced_at FROM forcehook.sync_map WHERE mapping = $1 AND local_id = ANY($2)',
    [mapping, localIds],
  );
  return new Map(rows.map((r) => [r.local_id, { localId: r.local_id, salesforceId: r.salesforce_id, fieldsHash: r.fields_hash, syncedAt: r.synced_at }]));
}

export async function saveSyncEntries(db: Queryable, mapping: string, entries: readonly { localId: string; salesforceId: string; fieldsHash: string }[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `INSERT INTO forcehook.sync_map (mapping, local_id, salesforce_id, fields_hash)
     SELECT $1, e.local_id, e.salesforce_id, e.fields_hash FROM json_to_recordset($2::json) AS e(local_id text, salesforce_id text, fields_hash text)
     ON CONFLICT (mapping, local_id) DO UPDATE SET salesforce_id = excluded.salesforce_id, fields_hash = excluded.fields_hash, synced_at = now()`,
    [mapping, JSON.stringify(entries.map((e) => ({ local_id: e.localId, salesforce_id: e.salesforceId, fields_hash: e.fieldsHash })))],
  );
}
