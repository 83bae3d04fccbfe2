import type { Job, JobResult, PgBoss } from 'pg-boss';
import { loadInboxEvents, recordOutcomes, type OutcomeUpdate } from '../db/inbox.js';
import type { Queryable } from '../db/pool.js';
import { insertWrites } from '../db/salesforce-writes.js';
import { AppError } from '../errors.js';
import { toId18, isSalesforceId } from '../events/salesforce-id.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import type { Handler, HandlerContext } from '../handlers/define-handler.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SalesforceConnector } from '../salesforce/connection.js';
import { StagedWrites } from '../salesforce/writer.js';
import type { HandlerJob } from './jobs.js';

export interface WorkerDeps {
  boss: PgBoss;
  db: Queryable;
  log: Logger;
  signal: AbortSignal;
  /** null when no Salesforce credentials are configured. */
  salesforce: SalesforceConnector | null;
  metrics?: Metrics;
}

/** Starts pulling each handler's queue. Returns once the workers are registered. */
export async function startWorkers(handlers: readonly Handler[], deps: WorkerDeps): Promise<void> {
  for (const handler of handlers) {
    await deps.boss.work<HandlerJob>(
      handler.queue,
      {
        batchSize: handler.batchSize,
        localConcurrency: handler.concurrency,
        perJobResults: true,
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 2,
        burstWhenBatchFull: true,
      },
      (jobs) => runBatch(handler, jobs, deps),
    );
  }
}

/**
 * One batch of one handler: load the events, drop echoes of our own writes, hand the rest over,
 * store the writes the handler staged, settle every job on its own. A batch that throws is retried
 * event by event right away, so one bad event fails alone.
 */
export async function runBatch(handler: Handler, jobs: Job<HandlerJob>[], deps: WorkerDeps): Promise<JobResult[]> {
  const log = deps.log.child({ handler: handler.name });
  const events = await loadInboxEvents(deps.db, jobs.map((j) => j.data.inboxId));
  const results: JobResult[] = [];
  const updates: OutcomeUpdate[] = [];
  const jobByInbox = new Map<number, Job<HandlerJob>>();
  for (const job of jobs) {
    // The inbox row is gone (retention ran): nothing left to do for this job.
    if (events.has(job.data.inboxId)) jobByInbox.set(job.data.inboxId, job);
    else results.push({ id: job.id, status: 'completed' });
  }
  // Handlers get events oldest first, whatever order pg-boss fetched them in.
  let ordered = [...events.keys()].map((id) => jobByInbox.get(id)!);
  const echoOf = handler.suppressEchoes ? await integrationUser(deps) : undefined;
  if (echoOf) {
    const echoes = ordered.filter((job) => isEcho(events.get(job.data.inboxId)!, echoOf));
    if (echoes.length > 0) log.debug({ echoes: echoes.length }, 'skipping echoes of our own writes');
    settle(echoes, new Set(echoes.map((j) => events.get(j.data.inboxId)!.deliveryId)));
    ordered = ordered.filter((job) => !echoes.includes(job));
  }

  if (ordered.length > 0) {
    try {
      await handleAndStore(ordered);
    } catch (batchError) {
      if (ordered.length === 1) {
        fail(ordered[0]!, batchError);
      } else {
        log.warn({ err: describe(batchError), events: ordered.length }, 'batch failed; retrying its events one by one');
        for (const job of ordered) {
          try {
            await handleAndStore([job]);
          } catch (err) {
            fail(job, err);
          }
        }
      }
    }
  }
  await recordOutcomes(deps.db, handler.queue, updates);
  for (const u of updates) deps.metrics?.handlerEvents.inc({ handler: handler.name, outcome: u.outcome });
  return results;

  async function handleAndStore(group: Job<HandlerJob>[]): Promise<void> {
    const writes = deps.salesforce ? new StagedWrites(handler.name, () => deps.salesforce!.connection()) : null;
    const ctx: HandlerContext = { db: deps.db, log, signal: deps.signal, salesforce: writes };
    const stopTimer = deps.metrics?.handlerSeconds.startTimer({ handler: handler.name });
    const result = await handler.handle(group.map((j) => events.get(j.data.inboxId)!), ctx).finally(() => stopTimer?.());
    if (writes) await insertWrites(deps.db, writes.staged);
    settle(group, new Set(result?.skipped ?? []));
  }

  function settle(group: Job<HandlerJob>[], skipped: ReadonlySet<string>): void {
    for (const job of group) {
      const event = events.get(job.data.inboxId)!;
      results.push({ id: job.id, status: 'completed' });
      updates.push({ id: job.data.inboxId, outcome: skipped.has(event.deliveryId) ? 'skipped' : 'done', error: null });
    }
  }

  function fail(job: Job<HandlerJob>, err: unknown): void {
    const event: SalesforceEvent = events.get(job.data.inboxId)!;
    const permanent = err instanceof AppError && !err.retryable;
    const final = permanent || job.retryCount >= handler.retryLimit;
    const message = describe(err).message;
    log.warn({ deliveryId: event.deliveryId, err: describe(err), attempt: job.retryCount + 1, final }, 'handler failed');
    results.push({ id: job.id, status: permanent ? 'deadletter' : 'failed', output: { error: message } });
    updates.push({ id: job.data.inboxId, outcome: final ? 'failed' : 'retrying', error: message });
  }
}

async function integrationUser(deps: WorkerDeps): Promise<string | undefined> {
  return deps.salesforce ? deps.salesforce.integrationUserId() : undefined;
}

/** Changed last by the user forcehook writes as: our own write-back coming round again. */
function isEcho(event: SalesforceEvent, integrationUserId: string): boolean {
  const by = event.fields['LastModifiedById'];
  return typeof by === 'string' && isSalesforceId(by) && toId18(by) === integrationUserId;
}

function describe(err: unknown): { message: string; code?: string } {
  if (err instanceof AppError) return { message: err.message, code: err.code };
  if (err instanceof Error) return { message: err.message };
  return { message: String(err) };
}
