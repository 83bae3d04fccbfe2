import type { FieldValue } from '../events/salesforce-event.js';
import type { Queryable } from './pool.js';

/** An inbox row waiting to be read back from the org before its handlers run. */
export interface VerifyingRow {
  id: number;
  orgId: string;
  sobjectType: string;
  recordId: string;
  fields: Record<string, FieldValue>;
  handlers: string[];
}

/** The rows of these ids still waiting for verification (a re-run job finds its row already done). */
export async function loadVerifying(db: Queryable, ids: readonly number[]): Promise<VerifyingRow[]> {
  const { rows } = await db.query<{ id: string; org_id: string; sobject_type: string; record_id: string; fields: Record<string, FieldValue>; handlers: string[] }>(
    `SELECT id, org_id, sobject_type, record_id, fields, handlers FROM forcehook.inbox
     WHERE id = ANY($1::bigint[]) AND status = 'verifying' ORDER BY id`,
    [ids],
  );
  return rows.map((r) => ({ id: Number(r.id), orgId: r.org_id, sobjectType: r.sobject_type, recordId: r.record_id, fields: r.fields, handlers: r.handlers }));
}

/** The org's own field values replace what the message claimed; the row is ready for its handlers. */
export async function markVerified(db: Queryable, rows: readonly { id: number; fields: Record<string, FieldValue>; modstamp: string | undefined }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE forcehook.inbox AS i SET fields = r.fields, modstamp = COALESCE(r.modstamp, i.modstamp), status = 'received', updated_at = now()
     FROM json_to_recordset($1::json) AS r(id bigint, fields jsonb, modstamp timestamptz)
     WHERE i.id = r.id AND i.status = 'verifying'`,
    [JSON.stringify(rows.map((r) => ({ id: r.id, fields: r.fields, modstamp: r.modstamp ?? null })))],
  );
}

/** Not handled at all: `dropped` when the org has no such record, `failed` when it could not be asked. */
export async function markUnverified(db: Queryable, ids: readonly number[], status: 'dropped' | 'failed', reason: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE forcehook.inbox SET status = $2, last_error = $3, attempts = attempts + 1, updated_at = now()
     WHERE id = ANY($1::bigint[]) AND status = 'verifying'`,
    [ids, status, reason],
  );
}
