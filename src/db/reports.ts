import type { Queryable } from './pool.js';

/** Read-only queries behind `forcehook status`, `forcehook events` and the admin page. */

export interface FlowSummary {
  flow: string;
  events: number;
  failed: number;
  lastEventAt: Date | null;
}

export async function flowSummaries(db: Queryable): Promise<FlowSummary[]> {
  const { rows } = await db.query<{ flow: string; events: string; failed: string; last: Date | null }>(
    `SELECT flow, count(*) AS events, count(*) FILTER (WHERE status = 'failed') AS failed, max(received_at) AS last
     FROM forcehook.inbox GROUP BY flow ORDER BY flow`,
  );
  return rows.map((r) => ({ flow: r.flow, events: Number(r.events), failed: Number(r.failed), lastEventAt: r.last }));
}

export async function apiCallsToday(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ calls: string }>(`SELECT calls FROM forcehook.api_calls WHERE day = (now() AT TIME ZONE 'utc')::date`);
  return Number(rows[0]?.calls ?? 0);
}

export interface WriteSummary {
  pending: number;
  dead: number;
}

export async function writeSummary(db: Queryable): Promise<WriteSummary> {
  const { rows } = await db.query<{ pending: string; dead: string }>(
    `SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')) AS pending, count(*) FILTER (WHERE status = 'dead') AS dead
     FROM forcehook.salesforce_writes WHERE status <> 'done'`,
  );
  return { pending: Number(rows[0]?.pending ?? 0), dead: Number(rows[0]?.dead ?? 0) };
}

export interface EventRow {
  id: number;
  orgId: string;
  deliveryId: string;
  source: string;
  flow: string;
  sobjectType: string;
  recordId: string;
  operation: string;
  status: string;
  attempts: number;
  outcomes: Record<string, string>;
  lastError: string | null;
  modstamp: Date | null;
  receivedAt: Date;
}

export interface EventFilter {
  /** 15- or 18-character record id. */
  recordId?: string;
  flow?: string;
  status?: string;
  since?: Date;
  limit?: number;
}

/** What reached us and what became of it, newest first. */
export async function findEvents(db: Queryable, filter: EventFilter): Promise<EventRow[]> {
  const { rows } = await db.query<{
    id: string;
    org_id: string;
    delivery_id: string;
    source: string;
    flow: string;
    sobject_type: string;
    record_id: string;
    operation: string;
    status: string;
    attempts: number;
    outcomes: Record<string, string>;
    last_error: string | null;
    modstamp: Date | null;
    received_at: Date;
  }>(
    `SELECT i.id, org_id, delivery_id, source, flow, sobject_type, record_id, operation, forcehook.event_status(i.id, i.status, i.handlers) AS status,
            last_error, modstamp, received_at,
            COALESCE(o.outcomes, '{}') AS outcomes, COALESCE(o.attempts, i.attempts) AS attempts
     FROM forcehook.inbox i
     LEFT JOIN LATERAL (SELECT jsonb_object_agg(handler, outcome) AS outcomes, sum(attempts)::int AS attempts
                        FROM forcehook.outcomes WHERE inbox_id = i.id) o ON true
     WHERE ($1::text IS NULL OR record_id = $1 OR left(record_id, 15) = $1)
       AND ($2::text IS NULL OR flow = $2)
       AND ($3::text IS NULL OR forcehook.event_status(i.id, i.status, i.handlers) = $3)
       AND ($4::timestamptz IS NULL OR received_at >= $4)
     ORDER BY received_at DESC, i.id DESC
     LIMIT $5`,
    [filter.recordId ?? null, filter.flow ?? null, filter.status ?? null, filter.since ?? null, filter.limit ?? 50],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    orgId: r.org_id,
    deliveryId: r.delivery_id,
    source: r.source,
    flow: r.flow,
    sobjectType: r.sobject_type,
    recordId: r.record_id,
    operation: r.operation,
    status: r.status,
    attempts: r.attempts,
    outcomes: r.outcomes,
    lastError: r.last_error,
    modstamp: r.modstamp,
    receivedAt: r.received_at,
  }));
}

/** Events received per minute over the last `minutes`, oldest first, zeros included. */
export async function eventsPerMinute(db: Queryable, minutes = 60): Promise<{ minute: Date; events: number }[]> {
  const { rows } = await db.query<{ minute: Date; events: string }>(
    `SELECT m.minute, COALESCE(c.events, 0) AS events
     FROM generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1), date_trunc('minute', now()), interval '1 minute') AS m(minute)
     LEFT JOIN (SELECT date_trunc('minute', received_at) AS minute, count(*) AS events FROM forcehook.inbox
                WHERE received_at >= date_trunc('minute', now()) - make_interval(mins => $1 - 1) GROUP BY 1) c USING (minute)
     ORDER BY m.minute`,
    [minutes],
  );
  return rows.map((r) => ({ minute: r.minute, events: Number(r.events) }));
}

export interface DeadWrite {
  id: number;
  handler: string;
  sobjectType: string;
  recordKey: string;
  error: string | null;
  deadSince: Date;
}

export async function deadWrites(db: Queryable, limit = 100): Promise<DeadWrite[]> {
  const { rows } = await db.query<{ id: string; handler: string; sobject_type: string; record_key: string; last_error: string | null; updated_at: Date }>(
    `SELECT id, handler, sobject_type, record_key, last_error, updated_at FROM forcehook.salesforce_writes
     WHERE status = 'dead' ORDER BY updated_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ id: Number(r.id), handler: r.handler, sobjectType: r.sobject_type, recordKey: r.record_key, error: r.last_error, deadSince: r.updated_at }));
}

export interface QueueDepth {
  handler: string;
  ready: number;
  active: number;
  /** Waiting out a retry delay. */
  deferred: number;
  deadLetters: number;
}

/**
 * Live job counts of each handler's queue and dead-letter queue. pg-boss's own queue counts are
 * refreshed by its monitor about once a minute; an operator asking "is it stuck?" wants now.
 */
export async function queueDepths(db: Queryable, handlers: readonly { name: string; queue: string; deadLetterQueue: string }[]): Promise<QueueDepth[]> {
  const { rows } = await db.query<{ name: string; ready: string; active: string; deferred: string; queued: string }>(
    `SELECT name,
            count(*) FILTER (WHERE state IN ('created', 'retry') AND start_after <= now()) AS ready,
            count(*) FILTER (WHERE state = 'active') AS active,
            count(*) FILTER (WHERE state IN ('created', 'retry') AND start_after > now()) AS deferred,
            count(*) FILTER (WHERE state IN ('created', 'retry')) AS queued
     FROM pgboss.job WHERE name = ANY($1) AND state IN ('created', 'retry', 'active') GROUP BY name`,
    [handlers.flatMap((h) => [h.queue, h.deadLetterQueue])],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  return handlers.map((h) => ({
    handler: h.name,
    ready: Number(byName.get(h.queue)?.ready ?? 0),
    active: Number(byName.get(h.queue)?.active ?? 0),
    deferred: Number(byName.get(h.queue)?.deferred ?? 0),
    deadLetters: Number(byName.get(h.deadLetterQueue)?.queued ?? 0),
  }));
}
