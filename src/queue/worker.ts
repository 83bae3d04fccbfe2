import type pg from 'pg';
import type { Job, JobResult, PgBoss } from 'pg-boss';
import { loadInboxEvents } from '../db/inbox.js';
import { findQueueFailures, recordOutcomes, recordQueueFailures, type OutcomeUpdate } from '../db/outcomes.js';
import { insertWrites } from '../db/salesforce-writes.js';
import { AppError, isDatabaseUnavailable } from '../errors.js';
import { toId18, isSalesforceId } from '../events/salesforce-id.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import type { Handler } from '../handlers/define-handler.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SalesforceConnector } from '../salesforce/connection.js';
import { StagedWrites } from '../salesforce/writer.js';
import type { HandlerJob } from './jobs.js';
import { withTimeLimit } from './time-limit.js';

export interface WorkerDeps {
  boss: PgBoss;
  /** The forcehook database; outcomes are recorded in a transaction of their own. */
  db: pg.Pool;
  log: Logger;
  signal: AbortSignal;
  /** null when no Salesforce credentials are configured. */
  salesforce: SalesforceConnector | null;
  metrics?: Metrics;
  /** How often jobs pg-boss failed on its own are written to the inbox. @default 10 */
  superviseSeconds?: number;
}

/** pg-boss's own limit on a batch: past forcehook's (a first try and a one-by-one retry), so it never fails a batch first. */
export function queueExpireSeconds(handler: Pick<Handler, 'timeoutSeconds'>): number {
  return 2 * handler.timeoutSeconds + 30;
}

/** How long one batch may take inside forcehook, one-by-one retries included. */
function batchBudgetMs(handler: Handler): number {
  return (2 * handler.timeoutSeconds + 15) * 1000;
}

/** Jobs are put back without counting a retry for at most this long, then failures count again. */
const PUT_BACK_FOR_MS = 15 * 60_000;

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
  watchQueueFailures(handlers, deps);
}

/**
 * pg-boss fails jobs on its own: a killed worker's jobs expire, and the last of their retries ends in
 * the dead-letter queue. Nothing in forcehook ran then, so this writes those failures, with a
 * reason, to the inbox: `forcehook status`, `dead-letter list` and the inbox agree. At start and
 * every few seconds.
 */
function watchQueueFailures(handlers: readonly Handler[], deps: WorkerDeps): void {
  if (handlers.length === 0) return;
  const queues = handlers.map((h) => h.queue);
  const deadLetterQueues = handlers.map((h) => h.deadLetterQueue);
  let running = false;
  const sweep = async (): Promise<void> => {
    if (running || deps.signal.aborted) return;
    running = true;
    try {
      const failures = await findQueueFailures(deps.db, queues, deadLetterQueues);
      const written = await recordQueueFailures(deps.db, failures);
      if (written.length > 0) deps.log.info({ events: written.length }, 'recorded jobs pg-boss failed on its own (expired or dead-lettered)');
    } catch (err) {
      deps.log.debug({ err: describe(err) }, 'could not look for jobs pg-boss failed; trying again later');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), (deps.superviseSeconds ?? 10) * 1000);
  timer.unref();
  deps.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  void sweep();
}

/**
 * One batch of one handler: load the events, drop echoes of our own writes, hand the rest over
 * within the handler's timeoutSeconds, store the writes the handler staged, settle every job on its
 * own. A batch that throws or times out is retried event by event right away, each with the same
 * time limit, so one bad or hanging event fails alone. A database that cannot be reached puts the
 * jobs back without counting a retry.
 */
export async function runBatch(handler: Handler, jobs: Job<HandlerJob>[], deps: WorkerDeps): Promise<JobResult[]> {
  const log = deps.log.child({ handler: handler.name });
  const deadline = Date.now() + batchBudgetMs(handler);
  const timeoutMs = handler.timeoutSeconds * 1000;
  const results = new Map<string, JobResult>();
  const updates: OutcomeUpdate[] = [];
  const putBack: { job: Job<HandlerJob>; reason: string }[] = [];
  let events = new Map<number, SalesforceEvent>();
  try {
    events = await loadInboxEvents(deps.db, jobs.map((j) => j.data.inboxId));
    const jobByInbox = new Map<number, Job<HandlerJob>>();
    for (const job of jobs) {
      // The inbox row is gone (retention ran): nothing left to do for this job.
      if (events.has(job.data.inboxId)) jobByInbox.set(job.data.inboxId, job);
      else results.set(job.id, { id: job.id, status: 'completed' });
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
    if (ordered.length > 0) await handleAll(ordered);
    await recordOutcomes(deps.db, handler.queue, updates);
  } catch (err) {
    if (!isUnavailable(err)) throw err;
    // Our own queries failed: the handler's effects may be half stored, and handlers are idempotent.
    log.warn({ err: describe(err), jobs: jobs.length }, 'database unavailable; the batch goes back to the queue without counting a retry');
    return Promise.all(jobs.map(async (job) => (await putJobBack(job, 'database unavailable')) ?? failedResult(job, err)));
  }
  for (const u of updates) deps.metrics?.handlerEvents.inc({ handler: handler.name, outcome: u.outcome });
  for (const { job, reason } of putBack) {
    const result = await putJobBack(job, reason).catch(() => undefined);
    results.set(job.id, result ?? failedResult(job, new Error(reason)));
  }
  return [...results.values()];

  async function handleAll(ordered: Job<HandlerJob>[]): Promise<void> {
    try {
      await handleAndStore(ordered, timeoutMs);
      return;
    } catch (batchError) {
      if (ordered.length === 1) return fail(ordered[0]!, batchError);
      log.warn({ err: describe(batchError), events: ordered.length }, 'batch failed; retrying its events one by one');
    }
    for (const job of ordered) {
      const left = deadline - Date.now();
      // pg-boss would fail the whole batch soon: what was not tried goes back uncounted.
      if (left < 1000) {
        putBackLater(job, 'not tried yet: its batch ran out of time retrying events that hang');
        continue;
      }
      try {
        await handleAndStore([job], Math.min(timeoutMs, left));
      } catch (err) {
        fail(job, err);
      }
    }
  }

  async function handleAndStore(group: Job<HandlerJob>[], limitMs: number): Promise<void> {
    const writes = deps.salesforce ? new StagedWrites(handler.name, () => deps.salesforce!.connection()) : null;
    const stopTimer = deps.metrics?.handlerSeconds.startTimer({ handler: handler.name });
    const result = await withTimeLimit(
      (signal) => handler.handle(group.map((j) => events.get(j.data.inboxId)!), { db: deps.db, log, signal, salesforce: writes }),
      limitMs,
      [deps.signal, ...group.map((j) => j.signal).filter((s): s is AbortSignal => s !== undefined)],
      (settled) => log.warn({ events: group.length, settled }, 'an abandoned handler call finished late; what it returned is ignored'),
    ).finally(() => stopTimer?.());
    if (writes) await insertWrites(deps.db, writes.staged);
    settle(group, new Set(result?.skipped ?? []));
  }

  function settle(group: Job<HandlerJob>[], skipped: ReadonlySet<string>): void {
    for (const job of group) {
      const event = events.get(job.data.inboxId)!;
      results.set(job.id, { id: job.id, status: 'completed' });
      updates.push({ inboxId: job.data.inboxId, outcome: skipped.has(event.deliveryId) ? 'skipped' : 'done', error: null, job });
    }
  }

  function fail(job: Job<HandlerJob>, err: unknown): void {
    const event: SalesforceEvent = events.get(job.data.inboxId)!;
    if (isUnavailable(err) && canPutBack(job)) {
      log.warn({ deliveryId: event.deliveryId, err: describe(err) }, 'database unavailable; the event goes back to the queue without counting a retry');
      return putBackLater(job, `database unavailable (${describe(err).message}); tried again without counting a retry`);
    }
    const permanent = err instanceof AppError && !err.retryable;
    const final = permanent || retriesUsed(job) >= handler.retryLimit;
    const message = describe(err).message;
    log.warn({ deliveryId: event.deliveryId, err: describe(err), attempt: retriesUsed(job) + 1, final }, 'handler failed');
    // pg-boss counts only this job's retries; a job that was put back carries the earlier ones itself.
    results.set(job.id, { id: job.id, status: final ? 'deadletter' : 'failed', output: { error: message } });
    updates.push({ inboxId: job.data.inboxId, outcome: final ? 'failed' : 'retrying', error: message, job });
  }

  function putBackLater(job: Job<HandlerJob>, reason: string): void {
    putBack.push({ job, reason });
    updates.push({ inboxId: job.data.inboxId, outcome: 'retrying', error: reason, job });
  }

  /** Completes the job and sends a copy a little later that carries the retries used so far. Undefined when it may not. */
  async function putJobBack(job: Job<HandlerJob>, reason: string): Promise<JobResult | undefined> {
    if (!canPutBack(job)) return undefined;
    const times = (job.data.putBack?.times ?? 0) + 1;
    const data: HandlerJob = {
      inboxId: job.data.inboxId,
      putBack: { since: job.data.putBack?.since ?? new Date().toISOString(), times, retriesUsed: retriesUsed(job) },
    };
    try {
      await deps.boss.send(handler.queue, data, { startAfter: Math.min(60, 2 ** times) });
    } catch {
      return undefined;
    }
    return { id: job.id, status: 'completed', output: { putBack: reason } };
  }

  function failedResult(job: Job<HandlerJob>, err: unknown): JobResult {
    return { id: job.id, status: 'failed', output: { error: describe(err).message } };
  }
}

function retriesUsed(job: Job<HandlerJob>): number {
  return job.retryCount + (job.data.putBack?.retriesUsed ?? 0);
}

function canPutBack(job: Job<HandlerJob>): boolean {
  const since = job.data.putBack ? Date.parse(job.data.putBack.since) : Date.now();
  return Date.now() - since < PUT_BACK_FOR_MS;
}

function isUnavailable(err: unknown): boolean {
  return isDatabaseUnavailable(err) || (err instanceof AppError && err.code === 'DATABASE_UNAVAILABLE');
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
