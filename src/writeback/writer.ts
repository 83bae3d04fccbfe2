import { randomUUID } from 'node:crypto';
import type { Connection } from '@jsforce/jsforce-node';
import type pg from 'pg';
import { claimDueWrites, settleWrites, type ClaimedWrite, type NewWrite, type WriteOutcome } from '../db/salesforce-writes.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import type { Logger } from '../log.js';
import type { ApiCallCounter } from './api-calls.js';
import { classifySalesforceError, saveResultError, type SalesforceError, type SaveResult } from './salesforce-errors.js';
import { describeError } from '../errors.js';

/** sObject Collections take at most 200 records a call. */
export const COLLECTION_SIZE = 200;

export interface WriteOptions {
  /** The event this write answers: orders merged writes by its modstamp, and fails it if the write dies. */
  cause?: Pick<SalesforceEvent, 'orgId' | 'deliveryId' | 'modstamp'>;
}

/**
 * What a handler uses to write to Salesforce. Writes are staged while the handler runs and stored
 * in the outbox when it succeeds; the flusher merges writes to the same record made within
 * SALESFORCE_WRITE_WINDOW_MS and sends them through sObject Collections.
 */
export interface SalesforceWrites {
  /** Update fields of a record by its id. */
  update(sobjectType: string, id: string, fields: Record<string, unknown>, options?: WriteOptions): void;
  /** Insert or update by an external id field. */
  upsert(sobjectType: string, externalIdField: string, externalId: string, fields: Record<string, unknown>, options?: WriteOptions): void;
  /**
   * Publish a Platform Event (`Order_Approved__e`). Staged like the other writes: stored only if the
   * handler succeeds, then sent 200 events per sObject Collections call. Each event is published on
   * its own (never merged), and a failed event is retried or dead-lettered on its own. Delivery is at
   * least once: an event whose call was cut off may be published twice, so subscribers should be
   * idempotent (put a key of your own in a field).
   */
  publish(eventType: string, fields: Record<string, unknown>, options?: WriteOptions): void;
  /** The shared connection, for reads (queries count against the API limit too). */
  connection(): Promise<Connection>;
}

/** A Platform Event's API name: `Order_Approved__e`. */
export const PLATFORM_EVENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,37}__e$/;

/** Collects a handler's writes until the worker stores them. */
export class StagedWrites implements SalesforceWrites {
  readonly staged: NewWrite[] = [];

  constructor(
    private readonly handler: string,
    private readonly connect: () => Promise<Connection>,
  ) {}

  update(sobjectType: string, id: string, fields: Record<string, unknown>, options: WriteOptions = {}): void {
    this.staged.push(this.write(sobjectType, 'update', '', id, fields, options));
  }

  upsert(sobjectType: string, externalIdField: string, externalId: string, fields: Record<string, unknown>, options: WriteOptions = {}): void {
    this.staged.push(this.write(sobjectType, 'upsert', externalIdField, externalId, fields, options));
  }

  publish(eventType: string, fields: Record<string, unknown>, options: WriteOptions = {}): void {
    if (!PLATFORM_EVENT_NAME.test(eventType)) throw new TypeError(`"${eventType}" is not a Platform Event: its API name ends in __e, such as Order_Approved__e`);
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new TypeError(`the fields of ${eventType} must be an object of field name -> value`);
    // A fresh key per event: the flusher merges rows by key, and two events are never one.
    this.staged.push(this.write(eventType, 'create', '', randomUUID(), fields, options));
  }

  connection(): Promise<Connection> {
    return this.connect();
  }

  private write(sobjectType: string, operation: NewWrite['operation'], externalIdField: string, recordKey: string, fields: Record<string, unknown>, options: WriteOptions): NewWrite {
    return {
      sobjectType,
      operation,
      externalIdField,
      recordKey,
      fields,
      orderKey: options.cause?.modstamp ?? null,
      handler: this.handler,
      causeOrgId: options.cause?.orgId ?? null,
      causeDeliveryId: options.cause?.deliveryId ?? null,
    };
  }
}

export interface FlusherOptions {
  db: pg.Pool;
  connection: () => Promise<Connection>;
  counter: ApiCallCounter;
  log: Logger;
  windowMs: number;
  /** First retry delay; doubles per attempt up to 10 minutes. */
  retryBaseSeconds?: number;
  /** Attempts before a write is dead-lettered. */
  maxAttempts?: number;
  /** Least wait after REQUEST_LIMIT_EXCEEDED: the daily limit does not come back in seconds. @default 300 */
  limitBackoffSeconds?: number;
}

interface MergedRecord {
  key: string;
  sobjectType: string;
  operation: NewWrite['operation'];
  externalIdField: string;
  recordKey: string;
  fields: Record<string, unknown>;
  rows: ClaimedWrite[];
}

/**
 * Sends the outbox every window: the writes of each record merged into one (last value per field
 * wins, in modstamp order), 200 records per Collections call, each record's result honoured on its
 * own. Retryable failures wait with backoff; the rest are dead-lettered with Salesforce's message.
 */
export class WriteFlusher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: FlusherOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops the loop and waits for a flush in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: claim, merge, send, settle. Returns how many writes it claimed. */
  async flushOnce(): Promise<number> {
    const claimed = await claimDueWrites(this.options.db, COLLECTION_SIZE * 10);
    if (claimed.length === 0) return 0;
    const outcomes: WriteOutcome[] = [];
    const groups = new Map<string, MergedRecord[]>();
    for (const record of merge(claimed)) {
      const callKey = `${record.operation}|${record.sobjectType}|${record.externalIdField}`;
      const group = groups.get(callKey);
      if (group) group.push(record);
      else groups.set(callKey, [record]);
    }
    for (const records of groups.values()) {
      for (let i = 0; i < records.length; i += COLLECTION_SIZE) outcomes.push(...(await this.send(records.slice(i, i + COLLECTION_SIZE))));
    }
    await settleWrites(this.options.db, outcomes);
    await this.options.counter.flush(this.options.db).catch(() => undefined);
    const dead = outcomes.filter((o) => o.status === 'dead').length;
    this.options.log.debug({ writes: claimed.length, dead }, 'salesforce writes flushed');
    return claimed.length;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.drain().finally(() => this.schedule());
    }, this.options.windowMs);
  }

  private async drain(): Promise<void> {
    try {
      // A full claim means more is waiting: keep going instead of waiting out another window.
      while (!this.stopped && (await this.flushOnce()) >= COLLECTION_SIZE * 10);
    } catch (err) {
      this.options.log.warn({ err: describeError(err) }, 'flushing salesforce writes failed; trying again next window');
    }
  }

  private async send(records: MergedRecord[]): Promise<WriteOutcome[]> {
    const first = records[0]!;
    let results: SaveResult[];
    try {
      const conn = await this.options.connection();
      const payload = records.map((r) => (r.operation === 'update' ? { Id: r.recordKey, ...r.fields } : r.operation === 'create' ? { ...r.fields } : { ...r.fields, [r.externalIdField]: r.recordKey }));
      // Platform Events are published by creating them: sObject Collections create takes up to 200
      // events a call and answers one SaveResult per event, in order.
      // https://developer.salesforce.com/docs/atlas.en-us.platform_events.meta/platform_events/platform_events_publish_api.htm
      const response: unknown =
        first.operation === 'update'
          ? await conn.update(first.sobjectType, payload as { Id: string }[], { allOrNone: false })
          : first.operation === 'create'
            ? await conn.create(first.sobjectType, payload, { allOrNone: false })
            : await conn.upsert(first.sobjectType, payload, first.externalIdField, { allOrNone: false });
      results = response as SaveResult[];
    } catch (err) {
      const error = classifySalesforceError(err);
      this.options.log.warn({ sobjectType: first.sobjectType, records: records.length, code: error.salesforceCode }, 'salesforce collection call failed');
      return records.flatMap((r) => r.rows.map((row) => this.failure(row, error)));
    }
    return records.flatMap((record, i) => {
      const result = results[i];
      if (result?.success) return record.rows.map((row): WriteOutcome => ({ id: row.id, status: 'done', salesforceId: result.id ?? null }));
      const error = saveResultError(result);
      return record.rows.map((row) => this.failure(row, error));
    });
  }

  private failure(row: ClaimedWrite, { salesforceCode, message, retryable }: SalesforceError): WriteOutcome {
    const maxAttempts = this.options.maxAttempts ?? 10;
    if (!retryable) return { id: row.id, status: 'dead', error: message };
    if (row.attempts >= maxAttempts) return { id: row.id, status: 'dead', error: `gave up after ${row.attempts} attempts: ${message}` };
    const base = this.options.retryBaseSeconds ?? 2;
    const floor = salesforceCode === 'REQUEST_LIMIT_EXCEEDED' ? (this.options.limitBackoffSeconds ?? 300) : 0;
    return { id: row.id, status: 'pending', error: message, retryInSeconds: Math.max(floor, Math.min(600, base * 2 ** (row.attempts - 1))) };
  }
}

/** One record per target: the claimed rows of a record applied oldest first (modstamp, then id). */
export function merge(rows: readonly ClaimedWrite[]): MergedRecord[] {
  const byKey = new Map<string, MergedRecord>();
  const ordered = [...rows].sort((a, b) => (a.orderKey ?? '').localeCompare(b.orderKey ?? '') || a.id - b.id);
  for (const row of ordered) {
    const key = `${row.operation}|${row.sobjectType}|${row.externalIdField}|${row.recordKey}`;
    const merged = byKey.get(key);
    if (merged) {
      Object.assign(merged.fields, row.fields);
      merged.rows.push(row);
    } else {
      byKey.set(key, { key, sobjectType: row.sobjectType, operation: row.operation, externalIdField: row.externalIdField, recordKey: row.recordKey, fields: { ...row.fields }, rows: [row] });
    }
  }
  return [...byKey.values()];
}

