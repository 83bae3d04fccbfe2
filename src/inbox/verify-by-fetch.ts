import type pg from 'pg';
import type { Job, JobResult, PgBoss } from 'pg-boss';
import { withTransaction } from '../db/pool.js';
import { loadVerifying, markUnverified, markVerified, type VerifyingRow } from '../db/verify.js';
import { flattenRecord } from '../events/apex-callout.js';
import { modstampOf } from '../events/modstamp.js';
import { toId18 } from '../events/salesforce-id.js';
import type { Logger } from '../log.js';
import type { SalesforceConnector } from '../writeback/connection.js';
import { classifySalesforceError } from '../writeback/salesforce-errors.js';
import { isFieldPath, queryRecordsById } from '../writeback/records-by-id.js';
import { VERIFY_DEAD_LETTER_QUEUE, VERIFY_QUEUE, type VerifyJob } from './jobs.js';
import { enqueueHandlerJobs, type Router } from './ingest.js';

export interface VerifyDeps {
  boss: PgBoss;
  pool: pg.Pool;
  /** The handlers' batch sizes, to slice their jobs as ingest does. */
  router: Pick<Router, 'byQueueName'>;
  salesforce: SalesforceConnector;
  log: Logger;
}

/** A whole Outbound Message (100 notifications) and then some: one SOQL query per sObject type. */
const BATCH_SIZE = 200;

/** Salesforce unreachable or over its limit: about an hour of retries (5 s doubling, at most 15 min). */
const RETRY_LIMIT = 8;

/** Creates the verify queue and its dead-letter queue; the web process sends to it, so both call this. */
export async function ensureVerifyQueue(boss: PgBoss): Promise<void> {
  const existing = new Set((await boss.getQueues()).map((q) => q.name));
  if (!existing.has(VERIFY_DEAD_LETTER_QUEUE)) await boss.createQueue(VERIFY_DEAD_LETTER_QUEUE, { retentionSeconds: 14 * 24 * 3600 });
  if (!existing.has(VERIFY_QUEUE)) {
    await boss.createQueue(VERIFY_QUEUE, {
      deadLetter: VERIFY_DEAD_LETTER_QUEUE,
      // Salesforce unreachable or over its limit: try again for about an hour.
      retryLimit: RETRY_LIMIT,
      retryDelay: 5,
      retryBackoff: true,
      retryDelayMax: 900,
      expireInSeconds: 120,
      heartbeatSeconds: 10,
      retentionSeconds: 14 * 24 * 3600,
    });
  }
}

export async function startVerifyWorker(deps: VerifyDeps): Promise<void> {
  await deps.boss.work<VerifyJob>(
    VERIFY_QUEUE,
    { batchSize: BATCH_SIZE, perJobResults: true, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 2, burstWhenBatchFull: true },
    (jobs) => verifyBatch(jobs, deps),
  );
}

/**
 * Outbound Messages carry no proof of sender but the URL token (no session since February 2026).
 * Reading the notified records back through the REST API proves they exist in the org, and hands
 * the handlers the org's values instead of the message's: a forged message for an unknown record
 * is dropped, a forged value is replaced. One query per sObject type and batch; the handlers' jobs
 * are sent in the same transaction that stores the fetched values.
 */
async function verifyBatch(jobs: Job<VerifyJob>[], deps: VerifyDeps): Promise<JobResult[]> {
  const rows = await loadVerifying(deps.pool, jobs.map((j) => j.data.inboxId));
  const orgId = rows.length > 0 ? await deps.salesforce.orgId() : '';
  const foreign = rows.filter((r) => r.orgId !== orgId);
  const verified: { id: number; fields: VerifyingRow['fields']; modstamp: string | undefined; handlers: string[] }[] = [];
  const dropped: number[] = [];
  const unreadable: { ids: number[]; reason: string }[] = [];
  const conn = rows.length > foreign.length ? await deps.salesforce.connection() : undefined;
  for (const group of groupByQuery(rows.filter((r) => r.orgId === orgId))) {
    let records: Record<string, unknown>[];
    try {
      records = await queryRecordsById(conn!, group.sobjectType, group.fields, group.rows.map((r) => r.recordId));
    } catch (err) {
      const error = classifySalesforceError(err);
      const reason = `could not read the records back: ${error.code}: ${error.message}`;
      if (!error.retryable) {
        unreadable.push({ ids: group.rows.map((r) => r.id), reason });
        continue;
      }
      // Retryable (network, limits, locks): the whole batch is retried by pg-boss with backoff. The
      // events whose last try this was are dead-lettered with it: say so in the inbox first.
      const last = new Set(jobs.filter((j) => j.retryCount >= RETRY_LIMIT).map((j) => j.data.inboxId));
      await markUnverified(deps.pool, rows.filter((r) => last.has(r.id)).map((r) => r.id), 'failed', reason);
      throw error;
    }
    const byId = new Map(records.map((r) => [toId18(String(r['Id'])), r]));
    for (const row of group.rows) {
      const record = byId.get(row.recordId);
      if (!record) {
        dropped.push(row.id);
        continue;
      }
      const orgFields = flattenRecord(record);
      verified.push({ id: row.id, fields: orgFields, modstamp: modstampOf(orgFields), handlers: row.handlers });
    }
  }
  await withTransaction(deps.pool, async (client) => {
    await markVerified(client, verified);
    await markUnverified(client, dropped, 'dropped', 'the org has no such record: verify-by-fetch dropped the notification');
    await markUnverified(client, foreign.map((r) => r.id), 'failed', `the notification is from org ${foreign[0]?.orgId ?? ''}, but forcehook's Salesforce credentials are for org ${orgId}`);
    for (const u of unreadable) await markUnverified(client, u.ids, 'failed', u.reason);
    // The verified rows go to their handlers' queues as ingest sends them.
    const idsByQueue = new Map<string, number[]>();
    for (const v of verified) {
      for (const queue of v.handlers) {
        const ids = idsByQueue.get(queue) ?? [];
        ids.push(v.id);
        idsByQueue.set(queue, ids);
      }
    }
    await enqueueHandlerJobs(deps.boss, client, deps.router, idsByQueue);
  });
  if (dropped.length + foreign.length > 0) {
    deps.log.warn({ dropped: dropped.length, foreignOrg: foreign.length }, 'verify-by-fetch dropped notifications whose records the org does not have');
  }
  return jobs.map((j) => ({ id: j.id, status: 'completed' }));
}

interface QueryGroup {
  sobjectType: string;
  fields: string[];
  rows: VerifyingRow[];
}

/**
 * One query per sObject type and field list: the notifications of one Outbound Message definition
 * share their fields, so this is one query per type in practice, and a forged notification with a
 * field the org refuses (INVALID_FIELD) fails alone instead of failing its batch mates. The fields
 * are the ones the message carried, so handlers see the shape they expect; names that cannot be
 * Salesforce fields are not asked for.
 */
function groupByQuery(rows: readonly VerifyingRow[]): QueryGroup[] {
  const groups = new Map<string, QueryGroup>();
  for (const row of rows) {
    const fields = Object.keys(row.fields).filter(isFieldPath).sort();
    const key = `${row.sobjectType}|${fields.join(',')}`;
    const group = groups.get(key) ?? { sobjectType: row.sobjectType, fields, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  return [...groups.values()];
}
