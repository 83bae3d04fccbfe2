import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { bossStatements, withTransaction } from '../db/pool.js';
import { insertInboxRows, type RoutedEvent } from '../db/inbox.js';
import { classifyDatabaseError, DatabaseUnavailableError } from '../errors.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import { VERIFY_QUEUE, type HandlerJob, type VerifyJob } from './jobs.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

export type Ingest = (events: readonly SalesforceEvent[]) => Promise<IngestResult>;

/** Which handler queues an event goes to, and how many events a job of a queue carries (work/'s registry). */
export interface Router {
  route(event: SalesforceEvent): readonly string[];
  byQueueName(queue: string): { batchSize: number } | undefined;
}

export interface IngestDeps {
  pool: pg.Pool;
  boss: PgBoss;
  registry: Router;
  /** Transactions at once; more requests than this wait and share the next one. @default 2 */
  maxConcurrent?: number;
  /** Events to read back from the org before their handlers run (verify-by-fetch flows). */
  verifyByFetch?: (event: SalesforceEvent) => boolean;
}

interface Pending {
  events: readonly SalesforceEvent[];
  resolve: (result: IngestResult) => void;
  reject: (err: unknown) => void;
}

/** Most events one shared transaction takes: twenty full Outbound Messages. */
const MAX_BATCH_EVENTS = 2_000;

/**
 * Stores events durably: inbox rows (deduplicated by delivery id) and, per handler, pg-boss jobs
 * naming the new rows (one per batchSize events, not one per event), in ONE transaction; when the promise resolves everything is committed and the
 * caller may acknowledge, when it rejects nothing of its events is stored.
 *
 * Group commit: a request that arrives while `maxConcurrent` transactions are running waits for the
 * next one and shares it with the others that waited, so under load a transaction (four round
 * trips and one WAL flush) carries many messages instead of one. A message is never split across
 * transactions, and an idle server starts a transaction at once.
 */
export function createIngest(deps: IngestDeps): Ingest {
  const maxConcurrent = deps.maxConcurrent ?? 2;
  const waiting: Pending[] = [];
  let running = 0;

  const pump = (): void => {
    while (running < maxConcurrent && waiting.length > 0) {
      const batch: Pending[] = [];
      let events = 0;
      while (waiting.length > 0 && (batch.length === 0 || events + waiting[0]!.events.length <= MAX_BATCH_EVENTS)) {
        const next = waiting.shift()!;
        events += next.events.length;
        batch.push(next);
      }
      running++;
      void runBatch(batch).finally(() => {
        running--;
        pump();
      });
    }
  };

  const runBatch = async (batch: Pending[]): Promise<void> => {
    try {
      const results = await store(deps, batch);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      const error = classifyDatabaseError(err);
      if (batch.length === 1 || error instanceof DatabaseUnavailableError) {
        for (const p of batch) p.reject(error);
        return;
      }
      // Something in one request broke the shared transaction: each gets a transaction of its own.
      for (const p of batch) await runBatch([p]);
    }
  };

  return (events) => {
    if (events.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return new Promise<IngestResult>((resolve, reject) => {
      waiting.push({ events, resolve, reject });
      pump();
    });
  };
}

/** One transaction for the requests of a batch; returns each request's own counts. */
async function store(deps: IngestDeps, batch: readonly Pending[]): Promise<IngestResult[]> {
  // A delivery repeated across the requests of one batch counts for the first request only. A
  // verified event waits in one verify job; its handlers' jobs are sent once the org confirmed it.
  const byKey = new Map<string, { owner: number; queues: readonly string[] }>();
  const routed: RoutedEvent[] = [];
  batch.forEach((p, owner) => {
    for (const event of p.events) {
      const key = `${event.orgId}|${event.deliveryId}`;
      if (byKey.has(key)) continue;
      const r: RoutedEvent = { event, queues: deps.registry.route(event), verify: deps.verifyByFetch?.(event) === true };
      byKey.set(key, { owner, queues: r.verify && r.queues.length > 0 ? [VERIFY_QUEUE] : r.queues });
      routed.push(r);
    }
  });
  return withTransaction(deps.pool, async (client) => {
    const inserted = await insertInboxRows(client, routed);
    const idsByQueue = new Map<string, number[]>();
    const accepted = batch.map(() => 0);
    for (const row of inserted) {
      const { owner, queues } = byKey.get(`${row.orgId}|${row.deliveryId}`)!;
      accepted[owner]!++;
      for (const queue of queues) {
        const ids = idsByQueue.get(queue) ?? [];
        ids.push(row.id);
        idsByQueue.set(queue, ids);
      }
    }
    const verifyIds = idsByQueue.get(VERIFY_QUEUE);
    idsByQueue.delete(VERIFY_QUEUE);
    if (verifyIds) await deps.boss.insert(VERIFY_QUEUE, verifyIds.map((inboxId) => ({ data: { inboxId } satisfies VerifyJob })), { db: bossStatements(client) });
    await enqueueHandlerJobs(deps.boss, client, deps.registry, idsByQueue);
    // Every event of a request is either inserted now or was already in the inbox.
    return batch.map((p, i) => ({ accepted: accepted[i]!, duplicates: p.events.length - accepted[i]! }));
  });
}

/**
 * Inside the caller's transaction, queues each handler's new inbox rows: one job per handler in
 * slices of its batchSize (the worker takes jobs by batchSize), not one per event.
 */
export async function enqueueHandlerJobs(boss: PgBoss, client: pg.PoolClient, router: Pick<Router, 'byQueueName'>, idsByQueue: ReadonlyMap<string, readonly number[]>): Promise<void> {
  const db = bossStatements(client);
  for (const [queue, ids] of idsByQueue) {
    const size = router.byQueueName(queue)?.batchSize ?? ids.length;
    const jobs: { data: HandlerJob }[] = [];
    for (let i = 0; i < ids.length; i += size) jobs.push({ data: { inboxIds: ids.slice(i, i + size) } });
    await boss.insert(queue, jobs, { db });
  }
}
