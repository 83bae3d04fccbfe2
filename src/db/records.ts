import type { Queryable } from './pool.js';

export interface MirrorWrite {
  orgId: string;
  sobjectType: string;
  recordId: string;
  fields: Record<string, unknown>;
  modstamp: string | null;
  deleted: boolean;
  deliveryId: string;
}

/**
 * Upserts the newest state of each record in one statement and returns the delivery ids that were
 * applied. A write older than the stored modstamp changes nothing, so deliveries that arrive out of
 * order converge on the newest state. Callers pass at most one write per record.
 */
export async function upsertRecords(db: Queryable, writes: readonly MirrorWrite[]): Promise<Set<string>> {
  if (writes.length === 0) return new Set();
  const { rows } = await db.query<{ last_delivery_id: string }>(
    `INSERT INTO forcehook.records AS r (org_id, sobject_type, record_id, fields, modstamp, deleted, last_delivery_id)
     SELECT w.org_id, w.sobject_type, w.record_id, w.fields, w.modstamp, w.deleted, w.delivery_id
     FROM json_to_recordset($1::json) AS w(org_id text, sobject_type text, record_id text, fields jsonb,
                                           modstamp timestamptz, deleted boolean, delivery_id text)
     ON CONFLICT (org_id, sobject_type, record_id) DO UPDATE
       SET fields = excluded.fields, modstamp = COALESCE(excluded.modstamp, r.modstamp), deleted = excluded.deleted,
           last_delivery_id = excluded.last_delivery_id, updated_at = now()
       WHERE r.modstamp IS NULL OR excluded.modstamp IS NULL OR excluded.modstamp >= r.modstamp
     RETURNING r.last_delivery_id`,
    [
      JSON.stringify(
        writes.map((w) => ({
          org_id: w.orgId,
          sobject_type: w.sobjectType,
          record_id: w.recordId,
          fields: w.fields,
          modstamp: w.modstamp,
          deleted: w.deleted,
          delivery_id: w.deliveryId,
        })),
      ),
    ],
  );
  return new Set(rows.map((r) => r.last_delivery_id));
}
