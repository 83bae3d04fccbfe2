import { PgBoss } from 'pg-boss';
import type { ConnectionSettings } from '../db/pool.js';
import type { Logger } from '../log.js';

export interface BossOptions {
  connection: ConnectionSettings;
  log: Logger;
  /** Run pg-boss maintenance (expiry, retention, dead-lettering of expired jobs). Workers do. */
  supervise: boolean;
  /** How often expired jobs (of a killed worker) are found and retried. @default 10 */
  superviseIntervalSeconds?: number;
}

/**
 * Starts pg-boss (installing or migrating its own `pgboss` schema) on its own pool. Its `error`
 * event is how it reports a lost connection; without a listener the process would crash.
 */
export async function startBoss(options: BossOptions): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: options.connection.connectionString,
    ssl: options.connection.ssl,
    max: Math.max(2, Math.ceil(options.connection.max / 2)),
    application_name: 'forcehook-queue',
    supervise: options.supervise,
    schedule: options.supervise,
    // Expiry runs in pg-boss's monitor pass, so both set how soon a killed worker's jobs come back.
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 10,
    monitorIntervalSeconds: options.superviseIntervalSeconds ?? 10,
    // Workers are woken by NOTIFY when a job commits instead of waiting out a poll; polling stays as the floor.
    useListenNotify: options.supervise,
  });
  boss.on('error', (err: Error) => options.log.warn({ err: { message: err.message } }, 'queue database error; pg-boss retries'));
  boss.on('warning', (warning: { message?: string }) => options.log.debug({ warning }, 'pg-boss warning'));
  await boss.start();
  return boss;
}

const HEARTBEAT_SECONDS = 10;

/**
 * What the queue of a handler needs to know of it. work/ defines handlers and satisfies this; the
 * inbox never imports work/ (the arrows point one way: work/ takes jobs from the inbox).
 */
export interface HandlerQueue {
  queue: string;
  deadLetterQueue: string;
  retryLimit: number;
  retryDelaySeconds: number;
  retryBackoff: boolean;
  retryDelayMaxSeconds: number;
  timeoutSeconds: number;
}

/** pg-boss's own limit on a batch: past forcehook's (a first try and a one-by-one retry), so it never fails a batch first. */
function queueExpireSeconds(handler: Pick<HandlerQueue, 'timeoutSeconds'>): number {
  return 2 * handler.timeoutSeconds + 30;
}

/** Creates each handler's queue and its dead-letter queue (which must exist first). Idempotent. */
export async function ensureHandlerQueues(boss: PgBoss, handlers: readonly HandlerQueue[]): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  for (const h of handlers) {
    if (!existing.has(h.deadLetterQueue)) {
      await boss.createQueue(h.deadLetterQueue, { retentionSeconds: 14 * 24 * 3600, deleteAfterSeconds: 14 * 24 * 3600 });
    }
    const options = {
      deadLetter: h.deadLetterQueue,
      retryLimit: h.retryLimit,
      retryDelay: h.retryDelaySeconds,
      retryBackoff: h.retryBackoff,
      ...(h.retryBackoff ? { retryDelayMax: h.retryDelayMaxSeconds } : {}),
      // Longer than forcehook's own limit inside the batch, so pg-boss never fails a batch first.
      expireInSeconds: queueExpireSeconds(h),
      notify: true,
      // Salesforce retries an unacknowledged message for 24 hours; keep queued work longer than that.
      retentionSeconds: 14 * 24 * 3600,
      deleteAfterSeconds: 24 * 3600,
    };
    if (existing.has(h.queue)) {
      // pg-boss fixes a queue's dead-letter queue, maximum delay and heartbeat when it creates it.
      const { deadLetter: _deadLetter, retryDelayMax: _retryDelayMax, ...updatable } = options;
      await boss.updateQueue(h.queue, updatable);
    } else {
      // Workers send a heartbeat for the jobs in hand: the jobs of a killed worker are retried
      // within seconds, not after timeoutSeconds.
      await boss.createQueue(h.queue, { ...options, heartbeatSeconds: HEARTBEAT_SECONDS });
    }
  }
}
