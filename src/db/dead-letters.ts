import type { Queryable } from './pool.js';

/** SQL behind dead letters and replays (src/ops/dead-letters.ts keeps the pg-boss side). */

export interface DeadEventRow {
  id: string;
  delivery_id: string;
  record_id: string;
  last_error: string | null;
}

/** The inbox rows dead-lettered jobs name (rows purged by retention are simply absent). */
export async function inboxRowsByIds(db: Queryable, ids: readonly number[]): Promise<DeadEventRow[]> {
  const { rows } = await db.query<DeadEventRow>('SELECT id, delivery_id, record_id, last_error FROM forcehook.inbox WHERE id = ANY($1::bigint[])', [ids]);
  return rows;
}

/** A dead write back to pending, with its attempts reset. True when there was such a dead write. */
export async function reviveDeadWrite(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE forcehook.salesforce_writes SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
     WHERE id = $1 AND status = 'dead'`,
    [id],
  );
  return (rowCount ?? 0) > 0;
}

/** Deletes every dead write. Returns how many. */
export async function deleteDeadWrites(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM forcehook.salesforce_writes WHERE status = 'dead'`);
  return rowCount ?? 0;
}

/**
 * Marks the events with this delivery id as just received, and drops the dead writes they caused:
 * a replay starts the event over, its handlers stage again what they still need (a dead write left
 * behind would keep the replayed event failed). Returns their ids and handler queues.
 */
export async function resetForReplay(db: Queryable, deliveryId: string): Promise<{ id: number; handlers: string[] }[]> {
  const { rows } = await db.query<{ id: string; handlers: string[] }>(
    `WITH reset AS (
       UPDATE forcehook.inbox SET status = 'received', last_error = NULL, updated_at = now()
       WHERE delivery_id = $1 RETURNING id, handlers, org_id, delivery_id
     ), dropped AS (
       DELETE FROM forcehook.salesforce_writes w USING reset r
       WHERE w.status = 'dead' AND w.cause_org_id = r.org_id AND w.cause_delivery_id = r.delivery_id
     )
     SELECT id, handlers FROM reset`,
    [deliveryId],
  );
  return rows.map((r) => ({ id: Number(r.id), handlers: r.handlers }));
}
