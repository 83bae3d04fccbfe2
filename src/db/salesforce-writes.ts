import type pg from 'pg';
import { withTransaction, type Queryable } from './pool.js';

/** `create` is used only for Platform Events (`*__e`), one row per event. */
export type WriteOperation = 'update' | 'upsert' | 'create';

export interface NewWrite {
  sobjectType: string;
  operation: WriteOperation;
  /** '' for updates. */
  externalIdField: string;
  recordKey: string;
  fields: Record<string, unknown>;
  orderKey: string | null;
  handler: string;
  causeOrgId: string | null;
  causeDeliveryId: string | null;
}

export interface ClaimedWrite extends NewWrite {
  id: number;
  attempts: number;
}

/** Adds writes to the outbox in one statement. */
export async function insertWrites(db: Queryable, writes: readonly NewWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await db.query(
    `INSERT INTO forcehook.salesforce_writes (sobject_type, operation, external_id_field, record_key, fields, order_key, handler, cause_org_id, cause_delivery_id)
     SELECT sobject_type, operation, external_id_field, record_key, fields, order_key, handler, cause_org_id, cause_delivery_id
     FROM json_to_recordset($1::json) AS w(sobject_type text, operation text, external_id_field text, record_key text, fields jsonb,
                                           order_key timestamptz, handler text, cause_org_id text, cause_delivery_id text)`,
    [
      JSON.stringify(
        writes.map((w) => ({
          sobject_type: w.sobjectType,
          operation: w.operation,
          external_id_field: w.externalIdField,
          record_key: w.recordKey,
          fields: w.fields,
          order_key: w.orderKey,
          handler: w.handler,
          cause_org_id: w.causeOrgId,
          cause_delivery_id: w.causeDeliveryId,
        })),
      ),
    ],
  );
}

/**
 * Claims due writes for sending. A record whose earlier write is still waiting out a backoff or
 * being sent is left alone, so writes to one record never overtake each other. Claims that a
 * crashed process left in `sending` for five minutes are taken back first.
 */
export async function claimDueWrites(db: Queryable, limit: number): Promise<ClaimedWrite[]> {
  await db.query(
    `UPDATE forcehook.salesforce_writes SET status = 'pending', claimed_at = NULL, updated_at = now()
     WHERE status = 'sending' AND claimed_at < now() - interval '5 minutes'`,
  );
  const { rows } = await db.query<{
    id: string;
    sobject_type: string;
    operation: WriteOperation;
    external_id_field: string;
    record_key: string;
    fields: Record<string, unknown>;
    order_key: Date | null;
    handler: string;
    cause_org_id: string | null;
    cause_delivery_id: string | null;
    attempts: number;
  }>(
    `UPDATE forcehook.salesforce_writes AS w
     SET status = 'sending', claimed_at = now(), attempts = w.attempts + 1, updated_at = now()
     WHERE w.id IN (
       SELECT c.id FROM forcehook.salesforce_writes c
       WHERE c.status = 'pending' AND c.next_attempt_at <= now()
         AND NOT EXISTS (
           SELECT 1 FROM forcehook.salesforce_writes b
           WHERE b.sobject_type = c.sobject_type AND b.record_key = c.record_key AND b.id < c.id
             AND (b.status = 'sending' OR (b.status = 'pending' AND b.next_attempt_at > now())))
       ORDER BY c.id
       LIMIT $1
       FOR UPDATE SKIP LOCKED)
     RETURNING w.id, w.sobject_type, w.operation, w.external_id_field, w.record_key, w.fields, w.order_key, w.handler,
               w.cause_org_id, w.cause_delivery_id, w.attempts`,
    [limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    sobjectType: r.sobject_type,
    operation: r.operation,
    externalIdField: r.external_id_field,
    recordKey: r.record_key,
    fields: r.fields,
    orderKey: r.order_key ? r.order_key.toISOString() : null,
    handler: r.handler,
    causeOrgId: r.cause_org_id,
    causeDeliveryId: r.cause_delivery_id,
    attempts: r.attempts,
  }));
}

export type WriteOutcome =
  | { id: number; status: 'done'; salesforceId: string | null }
  | { id: number; status: 'pending'; error: string; retryInSeconds: number }
  | { id: number; status: 'dead'; error: string };

/**
 * Settles claimed writes. A write that can never succeed also fails the event that caused it, so
 * `forcehook events` shows why, in the same transaction: neither is seen without the other. Those
 * events' inbox rows are locked first, in id order, as the worker locks them (no deadlock, which
 * would also throw away the settled writes and send them again).
 */
export async function settleWrites(pool: pg.Pool, outcomes: readonly WriteOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const dead = outcomes.filter((o) => o.status === 'dead').map((o) => o.id);
  if (dead.length === 0) return settleStatement(pool, outcomes);
  await withTransaction(pool, async (client) => {
    await client.query(
      `SELECT i.id FROM forcehook.inbox i JOIN forcehook.salesforce_writes w ON i.org_id = w.cause_org_id AND i.delivery_id = w.cause_delivery_id
       WHERE w.id = ANY($1::bigint[]) ORDER BY i.id FOR NO KEY UPDATE OF i`,
      [dead],
    );
    await settleStatement(client, outcomes);
  });
}

async function settleStatement(db: Queryable, outcomes: readonly WriteOutcome[]): Promise<void> {
  await db.query(
    `WITH settled AS (
       UPDATE forcehook.salesforce_writes AS w
       SET status = o.status, salesforce_id = COALESCE(o.salesforce_id, w.salesforce_id), last_error = o.error,
           next_attempt_at = now() + make_interval(secs => o.retry_in), claimed_at = NULL, updated_at = now()
       FROM json_to_recordset($1::json) AS o(id bigint, status text, salesforce_id text, error text, retry_in double precision)
       WHERE w.id = o.id
       RETURNING w.status, w.last_error, w.cause_org_id, w.cause_delivery_id
     )
     UPDATE forcehook.inbox AS i SET status = 'failed', last_error = s.last_error, updated_at = now()
     FROM settled s
     WHERE s.status = 'dead' AND i.org_id = s.cause_org_id AND i.delivery_id = s.cause_delivery_id`,
    [
      JSON.stringify(
        outcomes.map((o) => ({
          id: o.id,
          status: o.status,
          salesforce_id: o.status === 'done' ? o.salesforceId : null,
          error: o.status === 'done' ? null : o.error,
          retry_in: o.status === 'pending' ? o.retryInSeconds : 0,
        })),
      ),
    ],
  );
}
