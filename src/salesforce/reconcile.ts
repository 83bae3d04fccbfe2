import type { Connection } from '@jsforce/jsforce-node';
import type { Queryable } from '../db/pool.js';
import { readCursor, saveCursor, type ReconcileCursor } from '../db/reconcile-cursors.js';
import { flattenRecord } from '../events/apex-callout.js';
import { modstampOf } from '../events/modstamp.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import { toId18 } from '../events/salesforce-id.js';
import type { Ingest } from '../queue/ingest.js';

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

export interface ReconcileProgress {
  pages: number;
  records: number;
  accepted: number;
  cursor: ReconcileCursor | undefined;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** Compound and binary fields cannot be selected beside their parts. */
const SKIPPED_TYPES = new Set(['address', 'location', 'base64']);

/**
 * Pulls the records of one sObject changed since the stored cursor and feeds them through the same
 * ingest as pushed events, page by page: what push missed (callout limits, a disabled trigger, an
 * outage longer than Salesforce's 24 hours of retries) is recovered. Pages are keyed by
 * (SystemModstamp, Id), so records sharing a timestamp across a page boundary are neither skipped
 * nor repeated; the cursor moves only after a page is committed. Deleted records come too (queryAll).
 * The delivery id is record id + modstamp: a change already seen is a duplicate.
 */
export async function reconcile(deps: ReconcileDeps, target: ReconcileTarget, options: { since?: Date; onPage?: (p: ReconcileProgress) => void } = {}): Promise<ReconcileProgress> {
  if (!NAME.test(target.sobjectType)) throw new Error(`${target.sobjectType} is not an sObject API name`);
  const pageSize = deps.pageSize ?? 2_000;
  const conn = await deps.connection();
  const orgId = await deps.orgId();
  const describe = await conn.sobject(target.sobjectType).describe();
  const fields = describe.fields.filter((f) => !SKIPPED_TYPES.has(String(f.type))).map((f) => f.name);
  for (const needed of ['Id', 'SystemModstamp', 'IsDeleted']) if (!fields.includes(needed)) fields.push(needed);
  let cursor = options.since ? undefined : await readCursor(deps.db, target.sobjectType);
  const progress: ReconcileProgress = { pages: 0, records: 0, accepted: 0, cursor };
  for (;;) {
    const where = cursor
      ? `WHERE SystemModstamp > ${cursor.modstamp} OR (SystemModstamp = ${cursor.modstamp} AND Id > '${cursor.id}')`
      : options.since
        ? `WHERE SystemModstamp >= ${options.since.toISOString()}`
        : '';
    const soql = `SELECT ${fields.join(', ')} FROM ${target.sobjectType} ${where} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${pageSize}`;
    const result = await conn.query<Record<string, unknown>>(soql, { scanAll: true, autoFetch: false });
    const records = result.records;
    if (records.length === 0) break;
    const receivedAt = new Date().toISOString();
    const events = records.map((r): SalesforceEvent => {
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
        operation: r['IsDeleted'] === true ? 'delete' : 'upsert',
        fields: recordFields,
        receivedAt,
      };
      if (modstamp) event.modstamp = modstamp;
      return event;
    });
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
