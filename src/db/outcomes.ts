import type pg from 'pg';
import { withTransaction, type Queryable } from './pool.js';

/**
 * What each handler made of each event lives in `forcehook.outcomes`, one narrow row per (event,
 * handler queue). The inbox row's status is derived from them and written only when it changes.
 *
 * Lock order, everywhere: the inbox rows first, sorted by id, then their outcome rows, sorted by
 * inbox id. Two handlers settling the same events in different orders then wait, never deadlock.
 */
export type HandlerOutcome = 'done' | 'skipped' | 'retrying' | 'failed';

export interface OutcomeUpdate {
  inboxId: number;
  outcome: HandlerOutcome;
  error: string | null;
  /** The pg-boss attempt that produced it: written only while that attempt is still active. */
  job: { id: string; retryCount: number };
}

/** A failure pg-boss decided on its own (expiry, lost heartbeat, dead-lettering), found after the fact. */
export interface QueueFailure {
  inboxId: number;
  queue: string;
  outcome: 'retrying' | 'failed';
  error: string;
  /** Only an outcome recorded before this is replaced: a later attempt knows better. */
  since: Date;
}

/**
 * Records one handler's outcomes in one transaction. An update whose pg-boss attempt is no longer
 * active (expired, retried elsewhere) is dropped: a late, abandoned call must not mark a row done
 * while its job is failed or dead. Returns the inbox ids written.
 *
 * The wide inbox row is left alone when an event simply succeeds (its status, `received`, reads as
 * done once every handler's outcome is: `forcehook.event_status`). It is rewritten only for a
 * failure, or to clear one when a retry succeeds: one narrow row per event and handler in the
 * common case.
 */
export async function recordOutcomes(pool: pg.Pool, queue: string, updates: readonly OutcomeUpdate[]): Promise<number[]> {
  // One row per event: ON CONFLICT may not touch a row twice in one statement. The last word wins.
  const byId = new Map(updates.map((u) => [u.inboxId, u]));
  if (byId.size === 0) return [];
  const ids = [...byId.keys()].sort((a, b) => a - b);
  const failing = ids.filter((id) => byId.get(id)!.outcome === 'retrying' || byId.get(id)!.outcome === 'failed');
  const list = ids.map((id) => byId.get(id)!);
  if (failing.length === 0) {
    const written = await recordSuccesses(pool, queue, list);
    if (written) return written;
  }
  return withTransaction(pool, async (client) => {
    // Lock order as everywhere: the inbox rows whose status may change, then the outcomes.
    const changing = await lockChangingInboxRows(client, ids, failing);
    const written = await upsertOutcomes(client, queue, list);
    const writtenSet = new Set(written);
    await refreshInboxStatus(client, changing.filter((id) => writtenSet.has(id)));
    return written;
  });
}

/**
 * The common case in one round trip: every event succeeded and none of their inbox rows carries an
 * earlier failure to clear. Writes nothing and returns undefined when one does (the caller takes
 * the transaction that rewrites the status). Committed without waiting for the WAL flush: the job's
 * completion, which pg-boss commits synchronously right after, flushes it too; a crash before that
 * retries the job, which writes the outcomes again.
 */
async function recordSuccesses(db: Queryable, queue: string, updates: readonly OutcomeUpdate[]): Promise<number[] | undefined> {
  const { rows } = await db.query<{ written: string[]; changing: number }>(
    // Not prepared: a generic plan of it (arrays of unknown size) ran 40 ms a call instead of 4-5.
    `WITH present AS (
       SELECT id, status FROM forcehook.inbox WHERE id = ANY($3::bigint[])
     ), changing AS (
       SELECT id FROM forcehook.inbox WHERE id IN (SELECT id FROM present WHERE status NOT IN ('received', 'skipped')) ORDER BY id FOR NO KEY UPDATE
     ), u AS (
       SELECT * FROM unnest($3::bigint[], $2::text[], $4::uuid[], $5::int[]) AS u(inbox_id, outcome, job_id, retry_count)
     ), active AS (
       SELECT j.id, j.retry_count FROM pgboss.job j WHERE j.name = $1 AND j.id IN (SELECT DISTINCT job_id FROM u) AND j.state = 'active'
     ), written AS (
       INSERT INTO forcehook.outcomes AS o (inbox_id, handler, outcome, attempts)
       SELECT u.inbox_id, $1, u.outcome, 1
       FROM u JOIN active a ON a.id = u.job_id AND a.retry_count = u.retry_count JOIN present p ON p.id = u.inbox_id
       WHERE NOT EXISTS (SELECT 1 FROM changing)
       ORDER BY u.inbox_id
       ON CONFLICT (inbox_id, handler) DO UPDATE SET outcome = excluded.outcome, attempts = o.attempts + 1, updated_at = now()
       RETURNING o.inbox_id
     )
     SELECT COALESCE((SELECT array_agg(inbox_id) FROM written), '{}') AS written, (SELECT count(*)::int FROM changing) AS changing,
            set_config('synchronous_commit', 'off', true) AS async_commit`,
    [queue, updates.map((u) => u.outcome), updates.map((u) => u.inboxId), updates.map((u) => u.job.id), updates.map((u) => u.job.retryCount)],
  );
  const row = rows[0]!;
  return row.changing > 0 ? undefined : row.written.map(Number);
}

/**
 * Locks, in id order, the inbox rows whose status this update may change: those it fails, and
 * those a failure marked before (a retry that succeeds clears it). Returns their ids.
 */
async function lockChangingInboxRows(db: Queryable, ids: readonly number[], failing: readonly number[]): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM forcehook.inbox
     WHERE id = ANY($1::bigint[]) AND (id = ANY($2::bigint[]) OR status NOT IN ('received', 'skipped'))
     ORDER BY id FOR NO KEY UPDATE`,
    [ids, failing],
  );
  return rows.map((r) => Number(r.id));
}

/** Records what pg-boss did on its own, in the same lock order as the worker. */
export async function recordQueueFailures(pool: pg.Pool, failures: readonly QueueFailure[]): Promise<number[]> {
  if (failures.length === 0) return [];
  const ids = [...new Set(failures.map((f) => f.inboxId))].sort((a, b) => a - b);
  return withTransaction(pool, async (client) => {
    await lockInboxRows(client, ids);
    const written = await upsertQueueFailures(client, failures);
    await refreshInboxStatus(client, written);
    return written;
  });
}

/** Takes the inbox rows' locks in id order, before anything else in the transaction. */
async function lockInboxRows(db: Queryable, ids: readonly number[]): Promise<void> {
  await db.query('SELECT id FROM forcehook.inbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [ids]);
}

/**
 * One update per inbox id. The attempt fence: only updates whose pg-boss job is still active in the
 * same attempt are written (looked up once per job, not per event).
 */
async function upsertOutcomes(db: Queryable, queue: string, updates: readonly OutcomeUpdate[]): Promise<number[]> {
  const { rows } = await db.query<{ inbox_id: string }>(
    `WITH u AS (
       SELECT * FROM json_to_recordset($2::json) AS u(inbox_id bigint, outcome text, error text, job_id uuid, retry_count int)
     ), active AS (
       SELECT j.id, j.retry_count FROM pgboss.job j WHERE j.name = $1 AND j.id IN (SELECT DISTINCT job_id FROM u) AND j.state = 'active'
     )
     INSERT INTO forcehook.outcomes AS o (inbox_id, handler, outcome, attempts, last_error)
     SELECT u.inbox_id, $1, u.outcome, 1, u.error
     FROM u JOIN active a ON a.id = u.job_id AND a.retry_count = u.retry_count
     WHERE EXISTS (SELECT 1 FROM forcehook.inbox i WHERE i.id = u.inbox_id)
     ORDER BY u.inbox_id
     ON CONFLICT (inbox_id, handler) DO UPDATE
     SET outcome = excluded.outcome, attempts = o.attempts + 1, last_error = COALESCE(excluded.last_error, o.last_error), updated_at = now()
     RETURNING o.inbox_id`,
    [queue, JSON.stringify(updates.map((u) => ({ inbox_id: u.inboxId, outcome: u.outcome, error: u.error, job_id: u.job.id, retry_count: u.job.retryCount })))],
  );
  return rows.map((r) => Number(r.inbox_id));
}

async function upsertQueueFailures(db: Queryable, failures: readonly QueueFailure[]): Promise<number[]> {
  const { rows } = await db.query<{ inbox_id: string }>(
    `INSERT INTO forcehook.outcomes AS o (inbox_id, handler, outcome, attempts, last_error, updated_at)
     SELECT DISTINCT ON (f.inbox_id, f.queue) f.inbox_id, f.queue, f.outcome, 1, f.error, f.since
     FROM json_to_recordset($1::json) AS f(inbox_id bigint, queue text, outcome text, error text, since timestamptz)
     WHERE EXISTS (SELECT 1 FROM forcehook.inbox i WHERE i.id = f.inbox_id)
     ORDER BY f.inbox_id, f.queue, f.since DESC
     ON CONFLICT (inbox_id, handler) DO UPDATE
     SET outcome = excluded.outcome, last_error = excluded.last_error, updated_at = now()
     WHERE o.updated_at < excluded.updated_at AND (o.outcome <> 'failed' OR excluded.outcome <> 'failed')
     RETURNING o.inbox_id`,
    [JSON.stringify(failures.map((f) => ({ inbox_id: f.inboxId, queue: f.queue, outcome: f.outcome, error: f.error, since: f.since.toISOString() })))],
  );
  return rows.map((r) => Number(r.inbox_id));
}

/**
 * Derives each row's status from its outcomes: failed if a handler failed or a write it caused is
 * dead (Salesforce refused it for good; settleWrites failed the row, and a handler finishing later
 * must not read it as done), retrying if a handler is, done once every handler it was routed to is
 * done or skipped it, else back to received (a failure cleared, other handlers still to run).
 * Writes only rows whose status or error changed.
 */
async function refreshInboxStatus(db: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE forcehook.inbox AS i SET status = s.status, last_error = COALESCE(s.error, i.last_error), updated_at = now()
     FROM (
       SELECT r.id,
              CASE WHEN bool_or(o.outcome = 'failed') THEN 'failed'
                   WHEN dead.error IS NOT NULL THEN 'failed'
                   WHEN bool_or(o.outcome = 'retrying') THEN 'retrying'
                   WHEN count(*) FILTER (WHERE o.outcome IN ('done', 'skipped') AND o.handler = ANY(r.handlers)) >= cardinality(r.handlers) THEN 'done'
                   WHEN r.status IN ('retrying', 'failed', 'done') THEN 'received'
                   ELSE r.status END AS status,
              CASE WHEN NOT bool_or(o.outcome = 'failed') AND dead.error IS NOT NULL THEN dead.error
                   ELSE (array_agg(o.last_error ORDER BY o.updated_at DESC) FILTER (WHERE o.outcome IN ('failed', 'retrying')))[1] END AS error
       FROM forcehook.inbox r JOIN forcehook.outcomes o ON o.inbox_id = r.id
       -- The newest write this event caused that Salesforce refused for good, if any.
       LEFT JOIN LATERAL (
         SELECT w.last_error AS error FROM forcehook.salesforce_writes w
         WHERE w.status = 'dead' AND w.cause_org_id = r.org_id AND w.cause_delivery_id = r.delivery_id
         ORDER BY w.updated_at DESC LIMIT 1
       ) AS dead ON true
       WHERE r.id = ANY($1::bigint[])
       GROUP BY r.id, dead.error
     ) AS s
     WHERE i.id = s.id AND (i.status IS DISTINCT FROM s.status OR (s.error IS NOT NULL AND i.last_error IS DISTINCT FROM s.error))`,
    [ids],
  );
}

/**
 * One handler's outcome of some events set by hand (a dead letter sent back), and their inbox
 * status refreshed, in one transaction and the usual lock order: inbox rows first, then outcomes.
 */
export async function setOutcomes(pool: pg.Pool, queue: string, inboxIds: readonly number[], outcome: HandlerOutcome): Promise<void> {
  const ids = [...new Set(inboxIds)].sort((a, b) => a - b);
  if (ids.length === 0) return;
  await withTransaction(pool, async (client) => {
    await lockInboxRows(client, ids);
    await client.query(
      `INSERT INTO forcehook.outcomes (inbox_id, handler, outcome) SELECT id, $2, $3 FROM unnest($1::bigint[]) AS id ORDER BY id
       ON CONFLICT (inbox_id, handler) DO UPDATE SET outcome = excluded.outcome, updated_at = now()`,
      [ids, queue, outcome],
    );
    await refreshInboxStatus(client, ids);
  });
}

/** Forgets what the handlers made of an event (it is replayed). */
export async function clearOutcomes(db: Queryable, inboxIds: readonly number[]): Promise<void> {
  await db.query('DELETE FROM forcehook.outcomes WHERE inbox_id = ANY($1::bigint[])', [inboxIds]);
}

interface PgBossFailureRow {
  inbox_id: string;
  queue: string;
  outcome: 'retrying' | 'failed';
  output: unknown;
  expire_seconds: number | null;
  since: Date;
}

/**
 * Jobs pg-boss failed without forcehook's worker saying so: expired or heartbeat-lost jobs waiting
 * to be retried, and jobs in a dead-letter queue. Only those whose outcome does not say so yet.
 */
export async function findQueueFailures(db: Queryable, queues: readonly string[], deadLetterQueues: readonly string[]): Promise<QueueFailure[]> {
  const { rows } = await db.query<PgBossFailureRow>(
    `SELECT f.* FROM (
       SELECT ids.id AS inbox_id, j.name AS queue, 'retrying' AS outcome, j.output, j.expire_seconds, j.started_on AS since
       FROM pgboss.job j, forcehook.job_inbox_ids(j.data) AS ids(id)
       WHERE j.name = ANY($1::text[]) AND j.state = 'retry' AND j.output->'value'->>'message' IN ('job timed out', 'job heartbeat timeout')
       UNION ALL
       SELECT ids.id, d.source_name, 'failed', d.source_output, d.expire_seconds, d.created_on
       FROM pgboss.job d, forcehook.job_inbox_ids(d.data) AS ids(id)
       WHERE d.name = ANY($2::text[]) AND d.state = 'created' AND d.source_name = ANY($1::text[])
     ) AS f
     LEFT JOIN forcehook.outcomes o ON o.inbox_id = f.inbox_id AND o.handler = f.queue
     WHERE o.inbox_id IS NULL OR (o.updated_at < f.since AND (o.outcome <> 'failed' OR f.outcome <> 'failed'))`,
    [queues, deadLetterQueues],
  );
  return rows.map((r) => ({ inboxId: Number(r.inbox_id), queue: r.queue, outcome: r.outcome, error: reasonOf(r.output), since: r.since }));
}

/** pg-boss's own failure outputs, in words an operator can act on; forcehook's own `{ error }` as is. */
function reasonOf(output: unknown): string {
  const o = (output ?? {}) as { error?: unknown; message?: unknown; value?: { message?: unknown } };
  const message = typeof o.error === 'string' ? o.error : typeof o.value?.message === 'string' ? o.value.message : typeof o.message === 'string' ? o.message : '';
  if (message === 'job heartbeat timeout') return 'the worker running it stopped (killed, or cut off from the database): pg-boss failed the job when its heartbeat stopped';
  if (message === 'job timed out') return 'pg-boss expired the job: its worker did not finish it in time (killed or stalled)';
  return message || 'failed by pg-boss without a reason';
}
