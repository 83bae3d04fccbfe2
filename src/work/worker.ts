import type pg from 'pg';
import type { Job, JobResult, PgBoss } from 'pg-boss';
import { loadInboxEvents } from '../db/inbox.js';
import { findQueueFailures, recordOutcomes, recordQueueFailures, type OutcomeUpdate } from '../db/outcomes.js';
import { insertWrites } from '../db/salesforce-writes.js';
import { AppError, describeError, isDatabaseUnavailable } from '../errors.js';
import { toId18, isSalesforceId } from '../events/salesforce-id.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import type { Handler } from './define-handler.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SalesforceConnector } from '../writeback/connection.js';
import { StagedWrites } from '../writeback/writer.js';
import { jobInboxIds, retriesBefore, type HandlerJob, type StoredHandlerJob } from '../inbox/jobs.js';
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

/** How long one batch may take inside forcehook, one-by-one retries included. */
function batchBudgetMs(handler: Handler): number {
  return (2 * handler.timeoutSeconds + 15) * 1000;
}

/** Jobs are put back without counting a retry for at most this long, then failures count again. */
const PUT_BACK_FOR_MS = 15 * 60_000;

/** Most events one fetch of a worker slot takes, whatever the jobs carry. */
const EVENTS_PER_FETCH = 2_000;

/** Starts pulling each handler's queue. Returns once the workers are registered. */
export async function startWorkers(handlers: readonly Handler[], deps: WorkerDeps): Promise<void> {
  for (const handler of handlers) {
    await deps.boss.work<StoredHandlerJob>(
      handler.queue,
      {
        // Jobs carry up to batchSize events each (single events once they failed): take enough jobs
        // for a few handler calls, not so many that one slot hoards the queue.
        batchSize: Math.max(1, Math.ceil(EVENTS_PER_FETCH / handler.batchSize)),
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
      deps.log.debug({ err: describeError(err) }, 'could not look for jobs pg-boss failed; trying again later');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), (deps.superviseSeconds ?? 10) * 1000);
  timer.unref();
  deps.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  void sweep();
}

/** What became of one event in this fetch. */
type EventFate =
  | { kind: 'done' | 'skipped' }
  | { kind: 'failed'; error: unknown }
  /** Not tried: the fetch ran out of time, or the database was unavailable. Goes back uncounted. */
  | { kind: 'untried'; reason: string; error?: unknown };

/**
 * One fetch of one handler's queue: load the jobs' events, drop echoes of our own writes, hand the
 * rest over oldest first in calls of at most batchSize events, each within the handler's
 * timeoutSeconds, store the writes the handler staged, then settle every job. A call that throws
 * or times out is retried event by event right away, so one bad or hanging event fails alone.
 *
 * A job holding several events (as ingest sends them) completes once its events are done; an
 * event of it that failed is split out into a job of its own, which pg-boss retries with backoff
 * and dead-letters, so the others are not held back. When every event of such a job failed the
 * same way (Salesforce down, say), the job itself is retried: one job, not a job per event. A
 * database that cannot be reached puts events back without counting a retry.
 */
export async function runBatch(handler: Handler, jobs: Job<StoredHandlerJob>[], deps: WorkerDeps): Promise<JobResult[]> {
  const log = deps.log.child({ handler: handler.name });
  const deadline = Date.now() + batchBudgetMs(handler);
  const timeoutMs = handler.timeoutSeconds * 1000;
  const fates = new Map<number, EventFate>();
  // Each event is handled once even if two jobs name it; the first job that names it fences its outcome.
  const jobOf = new Map<number, Job<StoredHandlerJob>>();
  for (const job of jobs) for (const id of jobInboxIds(job.data)) if (!jobOf.has(id)) jobOf.set(id, job);
  let events = new Map<number, SalesforceEvent>();
  try {
    events = await loadInboxEvents(deps.db, [...jobOf.keys()]);
    // Handlers get events oldest first, whatever order pg-boss fetched them in.
    let ordered = [...events.keys()];
    const echoOf = handler.suppressEchoes ? await integrationUser(deps) : undefined;
    if (echoOf) {
      const echoes = ordered.filter((id) => isEcho(events.get(id)!, echoOf));
      if (echoes.length > 0) log.debug({ echoes: echoes.length }, 'skipping echoes of our own writes');
      for (const id of echoes) fates.set(id, { kind: 'skipped' });
      ordered = ordered.filter((id) => !fates.has(id));
    }
    for (let i = 0; i < ordered.length; i += handler.batchSize) await handleGroup(ordered.slice(i, i + handler.batchSize));
    const { results, updates } = await settleJobs(handler, jobs, events, fates, deps);
    await recordOutcomes(deps.db, handler.queue, updates);
    for (const u of updates) deps.metrics?.handlerEvents.inc({ handler: handler.name, outcome: u.outcome });
    return results;
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    // Our own queries failed: the handler's effects may be half stored, and handlers are idempotent.
    log.warn({ err: describeError(err), jobs: jobs.length }, 'database unavailable; the batch goes back to the queue without counting a retry');
    return Promise.all(
      jobs.map(async (job) => (await putJobBack(handler, job, jobInboxIds(job.data), 'database unavailable', deps)) ?? failedResult(job, err)),
    );
  }

  async function handleGroup(group: number[]): Promise<void> {
    if (deadline - Date.now() < 1000) return untried(group);
    try {
      await handleAndStore(group, Math.min(timeoutMs, deadline - Date.now()));
      return;
    } catch (groupError) {
      if (group.length === 1) return failed(group[0]!, groupError);
      log.warn({ err: describeError(groupError), events: group.length }, 'batch failed; retrying its events one by one');
    }
    for (const id of group) {
      const left = deadline - Date.now();
      // pg-boss would fail the whole fetch soon: what was not tried goes back uncounted.
      if (left < 1000) {
        untried([id]);
        continue;
      }
      try {
        await handleAndStore([id], Math.min(timeoutMs, left));
      } catch (err) {
        failed(id, err);
      }
    }
  }

  async function handleAndStore(group: number[], limitMs: number): Promise<void> {
    const writes = deps.salesforce ? new StagedWrites(handler.name, () => deps.salesforce!.connection()) : null;
    const stopTimer = deps.metrics?.handlerSeconds.startTimer({ handler: handler.name });
    const signals = [deps.signal, ...new Set(group.map((id) => jobOf.get(id)!.signal))].filter((s): s is AbortSignal => s !== undefined);
    const result = await withTimeLimit(
      (signal) => handler.handle(group.map((id) => events.get(id)!), { db: deps.db, log, signal, salesforce: writes }),
      limitMs,
      signals,
      (settled) => log.warn({ events: group.length, settled }, 'an abandoned handler call finished late; what it returned is ignored'),
    ).finally(() => stopTimer?.());
    if (writes) await insertWrites(deps.db, writes.staged);
    const skipped = new Set(result?.skipped ?? []);
    for (const id of group) fates.set(id, { kind: skipped.has(events.get(id)!.deliveryId) ? 'skipped' : 'done' });
  }

  function failed(id: number, error: unknown): void {
    if (isDatabaseUnavailable(error)) {
      log.warn({ deliveryId: events.get(id)!.deliveryId, err: describeError(error) }, 'database unavailable; the event goes back to the queue without counting a retry');
      fates.set(id, { kind: 'untried', reason: `database unavailable (${describeError(error).message}); tried again without counting a retry`, error });
      return;
    }
    fates.set(id, { kind: 'failed', error });
  }

  function untried(ids: readonly number[]): void {
    for (const id of ids) fates.set(id, { kind: 'untried', reason: 'not tried yet: its batch ran out of time retrying events that hang' });
  }
}

/**
 * Turns the fates of a fetch's events into one result per job and the outcomes to record. Failed
 * events of a several-event job are split out (or dead-lettered, when it was their last try), its
 * untried events put back; the job completes. Single-event jobs fail and dead-letter through pg-boss.
 */
async function settleJobs(
  handler: Handler,
  jobs: readonly Job<StoredHandlerJob>[],
  events: ReadonlyMap<number, SalesforceEvent>,
  fates: ReadonlyMap<number, EventFate>,
  deps: WorkerDeps,
): Promise<{ results: JobResult[]; updates: OutcomeUpdate[] }> {
  const log = deps.log.child({ handler: handler.name });
  const results: JobResult[] = [];
  const updates: OutcomeUpdate[] = [];
  const recorded = new Set<number>();
  const record = (job: Job<StoredHandlerJob>, inboxId: number, outcome: OutcomeUpdate['outcome'], error: string | null): void => {
    if (recorded.has(inboxId)) return;
    recorded.add(inboxId);
    updates.push({ inboxId, outcome, error, job });
  };
  for (const job of jobs) {
    // An id with no event: retention already deleted its inbox row, nothing is left to do.
    const ids = jobInboxIds(job.data).filter((id) => events.has(id));
    const failed: { id: number; error: unknown }[] = [];
    const untried: { id: number; reason: string; error?: unknown }[] = [];
    for (const id of ids) {
      const fate = fates.get(id);
      if (fate?.kind === 'done' || fate?.kind === 'skipped') record(job, id, fate.kind, null);
      else if (fate?.kind === 'failed') failed.push({ id, error: fate.error });
      else if (fate?.kind === 'untried') untried.push({ id, reason: fate.reason, error: fate.error });
    }
    const used = retriesUsed(job);
    const last = used >= handler.retryLimit;
    const isFinal = (error: unknown): boolean => last || (error instanceof AppError && !error.retryable);
    for (const f of failed) {
      log.warn({ deliveryId: events.get(f.id)!.deliveryId, err: describeError(f.error), attempt: used + 1, final: isFinal(f.error) }, 'handler failed');
    }

    // Every event of the job failed: pg-boss retries (or dead-letters) the job as one, with backoff,
    // when it holds one event, or when none of its events has had its last try or failed for good.
    if (failed.length > 0 && failed.length === ids.length && (ids.length === 1 || !failed.some((f) => isFinal(f.error)))) {
      const final = isFinal(failed[0]!.error);
      for (const f of failed) record(job, f.id, final ? 'failed' : 'retrying', describeError(f.error).message);
      results.push({ id: job.id, status: final ? 'deadletter' : 'failed', output: { error: describeError(failed[0]!.error).message } });
      continue;
    }
    try {
      // Failed events leave the job: each in a job of its own, or dead-lettered on its last try.
      const dead = failed.filter((f) => isFinal(f.error));
      const again = failed.filter((f) => !isFinal(f.error));
      if (dead.length > 0) await deps.boss.insert(handler.deadLetterQueue, dead.map((f) => ({ data: { inboxIds: [f.id] } satisfies HandlerJob })));
      if (again.length > 0) {
        const startAfter = retryAt(handler, used);
        await deps.boss.insert(
          handler.queue,
          again.map((f) => ({ data: { inboxIds: [f.id], retriesBefore: used + 1 } satisfies HandlerJob, retryLimit: handler.retryLimit - used - 1, startAfter })),
        );
      }
      for (const f of failed) record(job, f.id, isFinal(f.error) ? 'failed' : 'retrying', describeError(f.error).message);
      if (untried.length > 0) {
        const { reason, error } = untried[0]!;
        const putBack = await putJobBack(handler, job, untried.map((u) => u.id), reason, deps);
        if (!putBack) throw error ?? new Error(reason);
        for (const u of untried) record(job, u.id, 'retrying', reason);
      }
      results.push({ id: job.id, status: 'completed' });
    } catch (err) {
      // The split could not be stored: the job fails and runs again (handlers are idempotent).
      if (isDatabaseUnavailable(err)) throw err;
      results.push(failedResult(job, err));
    }
  }
  return { results, updates };
}

/** When a split-out event is tried again: the queue's retry delay, doubled per retry when it backs off. */
function retryAt(handler: Handler, retriesUsed: number): Date {
  const seconds = handler.retryBackoff ? Math.min(handler.retryDelayMaxSeconds, handler.retryDelaySeconds * 2 ** retriesUsed) : handler.retryDelaySeconds;
  return new Date(Date.now() + seconds * 1000);
}

/**
 * Sends the given events of a job back to the queue a little later, carrying the retries used so
 * far, without counting one. Undefined when it may not (put back for too long, or the send failed).
 */
async function putJobBack(handler: Handler, job: Job<StoredHandlerJob>, ids: number[], reason: string, deps: WorkerDeps): Promise<JobResult | undefined> {
  if (!canPutBack(job)) return undefined;
  const times = (job.data.putBack?.times ?? 0) + 1;
  const used = retriesUsed(job);
  const data: HandlerJob = { inboxIds: ids, retriesBefore: used, putBack: { since: job.data.putBack?.since ?? new Date().toISOString(), times } };
  try {
    await deps.boss.send(handler.queue, data, { startAfter: Math.min(60, 2 ** times), retryLimit: Math.max(0, handler.retryLimit - used) });
  } catch {
    return undefined;
  }
  return { id: job.id, status: 'completed', output: { putBack: reason } };
}

function failedResult(job: Job<StoredHandlerJob>, err: unknown): JobResult {
  return { id: job.id, status: 'failed', output: { error: describeError(err).message } };
}

function retriesUsed(job: Job<StoredHandlerJob>): number {
  return job.retryCount + retriesBefore(job.data);
}

function canPutBack(job: Job<StoredHandlerJob>): boolean {
  const since = job.data.putBack ? Date.parse(job.data.putBack.since) : Date.now();
  return Date.now() - since < PUT_BACK_FOR_MS;
}


async function integrationUser(deps: WorkerDeps): Promise<string | undefined> {
  return deps.salesforce ? deps.salesforce.integrationUserId() : undefined;
}

/** Changed last by the user forcehook writes as: our own write-back coming round again. */
function isEcho(event: SalesforceEvent, integrationUserId: string): boolean {
  const by = event.fields['LastModifiedById'];
  return typeof by === 'string' && isSalesforceId(by) && toId18(by) === integrationUserId;
}

