import type { Queryable } from './pool.js';

export interface RetentionResult {
  events: number;
  writes: number;
}

/**
 * Deletes what has served its purpose: finished inbox rows older than `inboxDays` (they are the
 * dedupe memory, so keep them longer than any sender retries: Salesforce retries for 24 hours) and
 * sent Salesforce writes older than `writeDays`. Dropped events (verify-by-fetch found no such
 * record) go too: a flood of forged notifications must not grow the inbox for ever. Failed events
 * and dead writes stay until handled.
 * Deletes in slices so a large first sweep does not hold long locks.
 */
export async function sweepRetention(db: Queryable, inboxDays: number, writeDays: number): Promise<RetentionResult> {
  const result: RetentionResult = { events: 0, writes: 0 };
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM forcehook.inbox WHERE id IN (
           SELECT id FROM forcehook.inbox WHERE received_at < now() - make_interval(days => $1) AND forcehook.event_status(id, status, handlers) IN ('done', 'skipped', 'dropped') LIMIT 10000)
         RETURNING id)
       -- Outcomes have no foreign key (it would lock the inbox row on every outcome written): they go here.
       , outcomes AS (DELETE FROM forcehook.outcomes WHERE inbox_id IN (SELECT id FROM gone))
       SELECT count(*)::int AS n FROM gone`,
      [inboxDays],
    );
    const deleted = rows[0]?.n ?? 0;
    result.events += deleted;
    if (deleted < 10_000) break;
  }
  const { rowCount } = await db.query(`DELETE FROM forcehook.salesforce_writes WHERE status = 'done' AND updated_at < now() - make_interval(days => $1)`, [writeDays]);
  result.writes = rowCount ?? 0;
  return result;
}
