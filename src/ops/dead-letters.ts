import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { Queryable } from '../db/pool.js';
import { deleteDeadWrites, inboxRowsByIds, resetForReplay, reviveDeadWrite } from '../db/dead-letters.js';
import { clearOutcomes, setOutcomes } from '../db/outcomes.js';
import { deadWrites } from '../db/reports.js';
import type { Handler } from '../work/define-handler.js';
import { jobInboxIds, type HandlerJob, type StoredHandlerJob } from '../inbox/jobs.js';

/**
 * What gave up, in one list: events a handler dead-lettered (pg-boss dead-letter queues) and writes
 * to Salesforce that can never succeed (the outbox). Ids: the job's UUID, or `write-<n>`.
 */
export interface DeadLetter {
  id: string;
  kind: 'event' | 'write';
  handler: string;
  /** Delivery id of the event, or `<sObject> <record>` for a write. */
  subject: string;
  recordId: string;
  error: string | null;
  deadSince: Date;
}

export async function listDeadLetters(boss: PgBoss, db: Queryable, handlers: readonly Handler[]): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const h of handlers) {
    const found = await boss.findJobs<StoredHandlerJob>(h.deadLetterQueue, { queued: true, limit: 1000 });
    // forcehook dead-letters events one by one (a failed event is split out of its batch first), but
    // pg-boss dead-letters a whole batch job on its own when its last attempt expires (a killed
    // worker): such a letter names its first event and says how many more it sends back.
    const jobs = found.map((job) => {
      const ids = jobInboxIds(job.data);
      return { ...job, inboxId: ids[0] ?? 0, more: Math.max(0, ids.length - 1) };
    });
    if (jobs.length === 0) continue;
    const rows = await inboxRowsByIds(db, jobs.map((j) => j.inboxId));
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    for (const job of jobs) {
      const row = byId.get(job.inboxId);
      letters.push({
        id: job.id,
        kind: 'event',
        handler: h.name,
        subject: `${row?.delivery_id ?? `inbox ${job.inboxId} (purged)`}${job.more > 0 ? ` (+${job.more} more events of its batch)` : ''}`,
        recordId: row?.record_id ?? '',
        error: row?.last_error ?? null,
        deadSince: job.createdOn,
      });
    }
  }
  for (const w of await deadWrites(db, 1000)) {
    letters.push({ id: `write-${w.id}`, kind: 'write', handler: w.handler, subject: `${w.sobjectType} ${w.recordKey}`, recordId: w.recordKey, error: w.error, deadSince: w.deadSince });
  }
  return letters.sort((a, b) => b.deadSince.getTime() - a.deadSince.getTime());
}

/** Sends a dead letter back: an event to its handler's queue, a write to the outbox. True when found. */
export async function retryDeadLetter(boss: PgBoss, db: pg.Pool, handlers: readonly Handler[], id: string): Promise<boolean> {
  const write = /^write-(\d+)$/.exec(id);
  if (write) return reviveDeadWrite(db, Number(write[1]));
  for (const h of handlers) {
    const [job] = await boss.findJobs<StoredHandlerJob>(h.deadLetterQueue, { id, queued: true });
    if (!job) continue;
    await setOutcomes(db, h.queue, jobInboxIds(job.data), 'retrying');
    return (await boss.redrive(h.deadLetterQueue, { ids: [id], destination: h.queue })) > 0;
  }
  return false;
}

/** Deletes every dead letter. Returns how many. */
export async function purgeDeadLetters(boss: PgBoss, db: Queryable, handlers: readonly Handler[]): Promise<number> {
  let purged = 0;
  for (const h of handlers) purged += await boss.deleteQueuedJobs(h.deadLetterQueue);
  return purged + (await deleteDeadWrites(db));
}

/**
 * Runs an event through its handlers again, as if it had just arrived (for a fix deployed after
 * it failed, or to rebuild a local table). Returns the number of jobs sent.
 */
export async function replayEvent(boss: PgBoss, db: Queryable, handlers: readonly Handler[], deliveryId: string): Promise<number> {
  const rows = await resetForReplay(db, deliveryId);
  await clearOutcomes(db, rows.map((r) => r.id));
  const queues = new Set(handlers.map((h) => h.queue));
  let sent = 0;
  for (const row of rows) {
    for (const queue of row.handlers.filter((q) => queues.has(q))) {
      await boss.send(queue, { inboxIds: [row.id] } satisfies HandlerJob);
      sent++;
    }
  }
  return sent;
}
