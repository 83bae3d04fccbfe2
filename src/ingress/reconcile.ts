import { ConfigError } from '../errors.js';
import type { Connection } from '@jsforce/jsforce-node';
import type { Queryable } from '../db/pool.js';
import { readCursor, saveCursor, type ReconcileCursor } from '../db/reconcile-cursors.js';
import { flattenRecord } from '../events/apex-callout.js';
import { modstampOf } from '../events/modstamp.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import { isSObjectName, toId18 } from '../events/salesforce-id.js';
import type { Ingest } from '../inbox/ingest.js';

export interface ReconcileTarget {
  sobjectType: string;
  /** The flow its events belong to, so the same handlers see them as pushed ones. */
  flow: string;
}

export interface ReconcileDeps {
  db: Queryable;
  connection: () => Promise<Connection>;
  ingest: Ingest;
  /** 18-character id of the org the connection is in. */
  orgId: () => Promise<string>;
  pageSize?: number;
}

/** A first run (no cursor) with more records than this reads them with one Bulk API 2.0 query. */
export const BULK_BACKFILL_THRESHOLD = 10_000;

export interface ReconcileProgress {
  pages: number;
  records: number;
  accepted: number;
  cursor: ReconcileCursor | undefined;
}

/** A record read through the REST or Bulk API, as an event of the target's flow (also used by gap-fetch.ts). */
export function toEvent(r: Record<string, unknown>, target: ReconcileTarget, orgId: string, receivedAt: string): SalesforceEvent {
  const recordFields = flattenRecord(r);
  const recordId = toId18(String(r['Id']));
  const modstamp = modstampOf(recordFields);
  const event: SalesforceEvent = {
    deliveryId: `reconcile:${recordId}:${modstamp ?? ''}`,
    source: 'reconcile',
    flow: target.flow,
    orgId,
    sobjectType: target.sobjectType,
    recordId,
    // The Bulk API answers in CSV: the flag arrives as text.
    operation: r['IsDeleted'] === true || r['IsDeleted'] === 'true' ? 'delete' : 'upsert',
    fields: recordFields,
    receivedAt,
  };
  if (modstamp) event.modstamp = modstamp;
  return event;
}

/**
 * A large first read: one Bulk API 2.0 query job instead of thousands of REST pages. Its results
 * come unordered, so they are stored 2,000 at a time and the cursor is set to the newest
 * (SystemModstamp, Id) only once all are committed; a crash repeats the backfill, deduplicated.
 */
async function bulkBackfill(
  deps: ReconcileDeps,
  conn: Connection,
  target: ReconcileTarget,
  orgId: string,
  fields: readonly string[],
  where: string,
  progress: ReconcileProgress,
  onPage?: (p: ReconcileProgress) => void,
): Promise<ReconcileProgress> {
  const stream = await conn.bulk2.query(`SELECT ${fields.join(', ')} FROM ${target.sobjectType} ${where}`, { scanAll: true, pollInterval: 1_000, pollTimeout: 30 * 60_000 });
  let newest: ReconcileCursor | undefined;
  let chunk: Record<string, unknown>[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const receivedAt = new Date().toISOString();
    const events = chunk.map((r) => toEvent(r, target, orgId, receivedAt));
    const stored = await deps.ingest(events);
    for (const e of events) {
      const candidate = { modstamp: e.modstamp ?? new Date(0).toISOString(), id: e.recordId };
      if (!newest || candidate.modstamp > newest.modstamp || (candidate.modstamp === newest.modstamp && candidate.id > newest.id)) newest = candidate;
    }
    progress.pages++;
    progress.records += chunk.length;
    progress.accepted += stored.accepted;
    onPage?.(progress);
    chunk = [];
  };
  for await (const record of stream as AsyncIterable<Record<string, unknown>>) {
    chunk.push(record);
    if (chunk.length >= 2_000) await flush();
  }
  await flush();
  if (newest) await saveCursor(deps.db, target.sobjectType, newest);
  progress.cursor = newest;
  return progress;
}

/** Compound and binary fields cannot be selected beside their parts. */
const SKIPPED_TYPES = new Set(['address', 'location', 'base64']);

/** Every field of the sObject the handlers may need, plus what ordering and deletes need. */
export async function selectableFields(conn: Connection, sobjectType: string, options: { cachedDescribe?: boolean } = {}): Promise<string[]> {
  const sobject = conn.sobject(sobjectType);
  const describe = options.cachedDescribe ? await sobject.describe$() : await sobject.describe();
  const fields = describe.fields.filter((f) => !SKIPPED_TYPES.has(String(f.type))).map((f) => f.name);
  for (const needed of ['Id', 'SystemModstamp', 'IsDeleted']) if (!fields.includes(needed)) fields.push(needed);
  return fields;
}

/**
 * Pulls the records of one sObject changed since the stored cursor and feeds them through the same
 * ingest as pushed events, page by page: what push missed (callout limits, a disabled trigger, an
 * outage longer than Salesforce's 24 hours of retries) is recovered. Pages are keyed by
 * (SystemModstamp, Id), so records sharing a timestamp across a page boundary are neither skipped
 * nor repeated; the cursor moves only after a page is committed. Deleted records come too (queryAll).
 * The delivery id is record id + modstamp: a change already seen is a duplicate.
 */
export async function reconcile(
  deps: ReconcileDeps,
  target: ReconcileTarget,
  options: { since?: Date; onPage?: (p: ReconcileProgress) => void; /** Force (or forbid) the Bulk API 2.0 backfill. */ bulk?: boolean } = {},
): Promise<ReconcileProgress> {
  if (!isSObjectName(target.sobjectType)) throw new ConfigError(`${target.sobjectType} is not an sObject API name`);
  const pageSize = deps.pageSize ?? 2_000;
  const conn = await deps.connection();
  const orgId = await deps.orgId();
  const fields = await selectableFields(conn, target.sobjectType);
  let cursor = options.since ? undefined : await readCursor(deps.db, target.sobjectType);
  const progress: ReconcileProgress = { pages: 0, records: 0, accepted: 0, cursor };
  const sinceClause = options.since ? `WHERE SystemModstamp >= ${options.since.toISOString()}` : '';
  const bulk =
    options.bulk ??
    (!cursor && (await conn.query(`SELECT COUNT() FROM ${target.sobjectType} ${sinceClause}`, { scanAll: true })).totalSize > BULK_BACKFILL_THRESHOLD);
  if (bulk && !cursor) return bulkBackfill(deps, conn, target, orgId, fields, sinceClause, progress, options.onPage);
  for (;;) {
    const where = cursor
      ? `WHERE SystemModstamp > ${cursor.modstamp} OR (SystemModstamp = ${cursor.modstamp} AND Id > '${cursor.id}')`
      : sinceClause;
    const soql = `SELECT ${fields.join(', ')} FROM ${target.sobjectType} ${where} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${pageSize}`;
    const result = await conn.query<Record<string, unknown>>(soql, { scanAll: true, autoFetch: false });
    const records = result.records;
    if (records.length === 0) break;
    const receivedAt = new Date().toISOString();
    const events = records.map((r) => toEvent(r, target, orgId, receivedAt));
    const stored = await deps.ingest(events);
    const last = events.at(-1)!;
    cursor = { modstamp: last.modstamp ?? new Date(0).toISOString(), id: String(records.at(-1)!['Id']) };
    // Only after the page is committed: a crash before this line repeats the page, deduplicated.
    await saveCursor(deps.db, target.sobjectType, cursor);
    progress.pages++;
    progress.records += records.length;
    progress.accepted += stored.accepted;
    progress.cursor = cursor;
    options.onPage?.(progress);
    if (records.length < pageSize) break;
  }
  return progress;
}
