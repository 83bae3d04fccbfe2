import type { Queryable } from './pool.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';

export interface RoutedEvent {
  event: SalesforceEvent;
  /** Handler queues the event goes to. */
  queues: readonly string[];
  /** Read back from the org first (verify-by-fetch): the handlers' jobs are sent after that. */
  verify?: boolean;
}

export interface InsertedInboxRow {
  id: number;
  orgId: string;
  deliveryId: string;
}

/**
 * Inserts one inbox row per event in ONE statement; a delivery already in the inbox (a redelivery)
 * inserts nothing. Returns the rows that are new, which are the only ones to enqueue.
 */
export async function insertInboxRows(db: Queryable, routed: readonly RoutedEvent[]): Promise<InsertedInboxRow[]> {
  const rows = routed.map(({ event: e, queues, verify }) => ({
    org_id: e.orgId,
    delivery_id: e.deliveryId,
    source: e.source,
    flow: e.flow,
    sobject_type: e.sobjectType,
    record_id: e.recordId,
    operation: e.operation,
    fields: e.fields,
    previous: e.previous ?? null,
    modstamp: e.modstamp ?? null,
    received_at: e.receivedAt,
    handlers: queues,
    status: queues.length === 0 ? 'skipped' : verify ? 'verifying' : 'received',
  }));
  const result = await db.query<{ id: string; org_id: string; delivery_id: string }>(
    `INSERT INTO forcehook.inbox (org_id, delivery_id, source, flow, sobject_type, record_id, operation,
                                  fields, previous, modstamp, received_at, handlers, status)
     SELECT org_id, delivery_id, source, flow, sobject_type, record_id, operation,
            fields, previous, modstamp, received_at, handlers, status
     FROM json_to_recordset($1::json) AS r(org_id text, delivery_id text, source text, flow text, sobject_type text,
            record_id text, operation text, fields jsonb, previous jsonb, modstamp timestamptz,
            received_at timestamptz, handlers text[], status text)
     ON CONFLICT (org_id, delivery_id) DO NOTHING
     RETURNING id, org_id, delivery_id`,
    [JSON.stringify(rows)],
  );
  return result.rows.map((r) => ({ id: Number(r.id), orgId: r.org_id, deliveryId: r.delivery_id }));
}

interface InboxEventRow {
  id: string;
  org_id: string;
  delivery_id: string;
  source: SalesforceEvent['source'];
  flow: string;
  sobject_type: string;
  record_id: string;
  operation: SalesforceEvent['operation'];
  fields: SalesforceEvent['fields'];
  previous: Record<string, unknown> | null;
  modstamp: Date | null;
  received_at: Date;
}

/** Loads events by inbox id, oldest first (modstamp, then arrival). */
export async function loadInboxEvents(db: Queryable, ids: readonly number[]): Promise<Map<number, SalesforceEvent>> {
  const { rows } = await db.query<InboxEventRow>(
    `SELECT id, org_id, delivery_id, source, flow, sobject_type, record_id, operation, fields, previous, modstamp, received_at
     FROM forcehook.inbox WHERE id = ANY($1::bigint[])
     ORDER BY modstamp NULLS FIRST, id`,
    [ids],
  );
  const events = new Map<number, SalesforceEvent>();
  for (const r of rows) {
    const event: SalesforceEvent = {
      deliveryId: r.delivery_id,
      source: r.source,
      flow: r.flow,
      orgId: r.org_id,
      sobjectType: r.sobject_type,
      recordId: r.record_id,
      operation: r.operation,
      fields: r.fields,
      receivedAt: r.received_at.toISOString(),
    };
    if (r.previous) event.previous = r.previous;
    if (r.modstamp) event.modstamp = r.modstamp.toISOString();
    events.set(Number(r.id), event);
  }
  return events;
}
