import { createHash } from 'node:crypto';
import type { Connection } from '@jsforce/jsforce-node';
import type { Queryable } from '../db/pool.js';
import { loadSyncEntries, saveSyncEntries } from '../db/sync-map.js';
import { toId18 } from '../events/salesforce-id.js';
import { saveResultError, type SaveResult } from './salesforce-errors.js';
import { COLLECTION_SIZE } from './writer.js';
import type { PushMapping } from './define-mapping.js';

/** Above this many rows a push goes through Bulk API 2.0 (one job) instead of sObject Collections. */
export const BULK_THRESHOLD = 2_000;

export interface PushResult {
  considered: number;
  /** Unchanged since the last push: not sent. */
  unchanged: number;
  upserted: number;
  failed: { localId: string; error: string }[];
  via: 'none' | 'collections' | 'bulk';
}

interface Pending<Row> {
  row: Row;
  localId: string;
  fields: Record<string, unknown>;
  hash: string;
}

/**
 * Upserts local rows into Salesforce by external id and records each Salesforce id in
 * forcehook.sync_map. Small sets go through Collections (200 a call), large ones through one Bulk
 * API 2.0 job; rows unchanged since their last push are not sent. Our own writes come back as
 * events changed by the integration user, which the handlers skip (echo suppression).
 */
export async function pushRecords<Row>(
  deps: { db: Queryable; connection: () => Promise<Connection> },
  mapping: PushMapping<Row>,
  options: { ids?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<PushResult> {
  const rows = await mapping.load(deps.db, options.ids);
  const last = await loadSyncEntries(deps.db, mapping.name, rows.map((r) => mapping.localId(r)));
  const pending: Pending<Row>[] = [];
  for (const row of rows) {
    const localId = mapping.localId(row);
    const fields = { ...mapping.fields(row), [mapping.externalIdField]: localId };
    const hash = createHash('sha256').update(stableJson(fields)).digest('base64url');
    const entry = last.get(localId);
    const required = mapping.requireUpsert ? mapping.requireUpsert(row, entry, hash) : entry?.fieldsHash !== hash;
    if (required) pending.push({ row, localId, fields, hash });
  }
  const result: PushResult = { considered: rows.length, unchanged: rows.length - pending.length, upserted: 0, failed: [], via: 'none' };
  if (pending.length === 0) return result;
  const conn = await deps.connection();
  const outcomes = pending.length > BULK_THRESHOLD ? await viaBulk(conn, mapping, pending) : await viaCollections(conn, mapping, pending, options.onProgress);
  result.via = pending.length > BULK_THRESHOLD ? 'bulk' : 'collections';
  const saved: { localId: string; salesforceId: string; fieldsHash: string }[] = [];
  for (const p of pending) {
    const outcome = outcomes.get(p.localId);
    if (outcome && 'salesforceId' in outcome) {
      saved.push({ localId: p.localId, salesforceId: outcome.salesforceId, fieldsHash: p.hash });
      await mapping.afterUpsert?.(deps.db, p.row, outcome.salesforceId);
    } else {
      result.failed.push({ localId: p.localId, error: outcome?.error ?? 'no result from Salesforce' });
    }
  }
  await saveSyncEntries(deps.db, mapping.name, saved);
  result.upserted = saved.length;
  return result;
}

type Outcome = { salesforceId: string } | { error: string };

async function viaCollections<Row>(conn: Connection, mapping: PushMapping<Row>, pending: Pending<Row>[], onProgress?: (done: number, total: number) => void): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  for (let i = 0; i < pending.length; i += COLLECTION_SIZE) {
    const chunk = pending.slice(i, i + COLLECTION_SIZE);
    const results = (await conn.upsert(mapping.sobjectType, chunk.map((p) => p.fields), mapping.externalIdField, { allOrNone: false })) as unknown as SaveResult[];
    chunk.forEach((p, j) => {
      const r = results[j];
      outcomes.set(p.localId, r?.success && r.id ? { salesforceId: toId18(r.id) } : { error: saveResultError(r).message });
    });
    onProgress?.(Math.min(i + COLLECTION_SIZE, pending.length), pending.length);
  }
  return outcomes;
}

async function viaBulk<Row>(conn: Connection, mapping: PushMapping<Row>, pending: Pending<Row>[]): Promise<Map<string, Outcome>> {
  const results = await conn.bulk2.loadAndWaitForResults({
    object: mapping.sobjectType,
    operation: 'upsert',
    externalIdFieldName: mapping.externalIdField,
    input: pending.map((p) => p.fields) as never,
    pollInterval: 500,
    pollTimeout: 10 * 60_000,
  });
  const outcomes = new Map<string, Outcome>();
  for (const r of results.successfulResults as unknown as Record<string, string>[]) {
    const localId = r[mapping.externalIdField];
    if (localId && r['sf__Id']) outcomes.set(localId, { salesforceId: toId18(r['sf__Id']) });
  }
  for (const r of results.failedResults as unknown as Record<string, string>[]) {
    const localId = r[mapping.externalIdField];
    if (localId) outcomes.set(localId, { error: r['sf__Error'] ?? 'failed' });
  }
  return outcomes;
}

/** JSON with sorted keys, so the same fields always hash alike. */
function stableJson(value: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(value).sort().map((k) => [k, value[k] ?? null]));
}

/** Whether a local row's current fields are what Salesforce last accepted. */
export async function synchronised(db: Queryable, mapping: string, localId: string): Promise<boolean> {
  return (await loadSyncEntries(db, mapping, [localId])).has(localId);
}

/** The Salesforce id a local row was pushed as, if it was. */
export async function salesforceIdOf(db: Queryable, mapping: string, localId: string): Promise<string | undefined> {
  return (await loadSyncEntries(db, mapping, [localId])).get(localId)?.salesforceId;
}

/** A link to the record in Salesforce's UI. */
export function recordUrl(instanceUrl: string, salesforceId: string): string {
  return `${instanceUrl.replace(/\/$/, '')}/${salesforceId}`;
}
