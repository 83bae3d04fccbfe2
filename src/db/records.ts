import { prepared, type Queryable } from './pool.js';

export interface MirrorWrite {
  orgId: string;
  sobjectType: string;
  recordId: string;
  fields: Record<string, unknown>;
  modstamp: string | null;
  deleted: boolean;
  deliveryId: string;
  /** The fields are a partial change (CDC sends only what changed): merge them into the stored ones. */
  merge: boolean;
}

/**
 * Upserts the newest state of each record in one statement and returns the delivery ids that were
 * applied. A write older than the stored modstamp changes nothing, so deliveries that arrive out of
 * order converge on the newest state. Callers pass at most one write per record. Meant for the
 * mirror handler inside a worker job (see the commit note in the statement).
 */
export async function upsertRecords(db: Queryable, writes: readonly MirrorWrite[]): Promise<Set<string>> {
  const applied = new Set<string>();
  for (const merge of [false, true]) {
    for (const id of await upsertStatement(db, writes.filter((w) => w.merge === merge), merge)) applied.add(id);
  }
  return applied;
}

async function upsertStatement(db: Queryable, writes: readonly MirrorWrite[], merge: boolean): Promise<string[]> {
  if (writes.length === 0) return [];
  const newer = 'r.modstamp IS NULL OR excluded.modstamp IS NULL OR excluded.modstamp >= r.modstamp';
  // Snapshots (Outbound Messages, Apex): the newest replaces, an older one changes nothing.
  // Partial changes (CDC): merged in field by field, an older one only filling fields not yet known,
  // so changes to one record converge whatever order they are handled in.
  const onConflict = merge
    ? `SET fields = CASE WHEN ${newer} THEN r.fields || excluded.fields ELSE excluded.fields || r.fields END,
           modstamp = GREATEST(r.modstamp, excluded.modstamp),
           deleted = CASE WHEN ${newer} THEN excluded.deleted ELSE r.deleted END,
           last_delivery_id = CASE WHEN ${newer} THEN excluded.last_delivery_id ELSE r.last_delivery_id END,
           updated_at = now()`
    : `SET fields = excluded.fields, modstamp = COALESCE(excluded.modstamp, r.modstamp), deleted = excluded.deleted,
           last_delivery_id = excluded.last_delivery_id, updated_at = now()
       WHERE ${newer}`;
  // Field maps as one JSON array, split by jsonb_array_elements (see db/inbox.ts), zipped by ROWS FROM.
  const { rows } = await db.query<{ last_delivery_id: string }>(
    prepared(
      `INSERT INTO forcehook.records AS r (org_id, sobject_type, record_id, fields, modstamp, deleted, last_delivery_id)
       SELECT w.org_id, w.sobject_type, w.record_id, w.fields, w.modstamp, w.deleted, w.delivery_id
       FROM ROWS FROM (unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb),
                       unnest($5::timestamptz[]), unnest($6::boolean[]), unnest($7::text[]))
            AS w(org_id, sobject_type, record_id, fields, modstamp, deleted, delivery_id),
            -- Committed without waiting for the WAL flush: the worker's job completion, committed
            -- synchronously right after, flushes it too, and a crash before that runs the job again.
            (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
       -- Every writer locks records in the same order, so two concurrent batches wait instead of deadlocking.
       ORDER BY w.org_id, w.sobject_type, w.record_id
       ON CONFLICT (org_id, sobject_type, record_id) DO UPDATE ${onConflict}
       RETURNING r.last_delivery_id`,
      [
        writes.map((w) => w.orgId),
        writes.map((w) => w.sobjectType),
        writes.map((w) => w.recordId),
        JSON.stringify(writes.map((w) => w.fields)),
        writes.map((w) => w.modstamp),
        writes.map((w) => w.deleted),
        writes.map((w) => w.deliveryId),
      ],
    ),
  );
  return rows.map((r) => r.last_delivery_id);
}
