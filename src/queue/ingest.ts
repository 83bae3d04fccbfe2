import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { withTransaction } from '../db/pool.js';
import { insertInboxRows } from '../db/inbox.js';
import { insertSessions, type StoredSession } from '../db/sessions.js';
import { classifyDatabaseError } from '../errors.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { HandlerJob } from './jobs.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

export interface IngestOptions {
  /** The SessionId of an Outbound Message: stored only for handlers that act as its sender. */
  session?: StoredSession | null;
}

export type Ingest = (events: readonly SalesforceEvent[], options?: IngestOptions) => Promise<IngestResult>;

/**
 * Stores events durably: inbox rows (deduplicated by delivery id) and one pg-boss job per new
 * event and handler, all in ONE transaction. When this resolves, everything is committed and the
 * caller may acknowledge; when it rejects, nothing is stored (DatabaseUnavailableError: retry).
 */
export function createIngest(deps: { pool: pg.Pool; boss: PgBoss; registry: HandlerRegistry }): Ingest {
  return async (events, options = {}) => {
    if (events.length === 0) return { accepted: 0, duplicates: 0 };
    const routed = events.map((event) => ({ event, queues: deps.registry.route(event) }));
    const queuesByDelivery = new Map(routed.map((r) => [r.event.deliveryId, r.queues]));
    try {
      return await withTransaction(deps.pool, async (client) => {
        const inserted = await insertInboxRows(client, routed);
        const jobsByQueue = new Map<string, { data: HandlerJob }[]>();
        for (const row of inserted) {
          for (const queue of queuesByDelivery.get(row.deliveryId) ?? []) {
            const jobs = jobsByQueue.get(queue) ?? [];
            jobs.push({ data: { inboxId: row.id } });
            jobsByQueue.set(queue, jobs);
          }
        }
        const db = { executeSql: (text: string, values?: unknown[]) => client.query(text, values) };
        for (const [queue, jobs] of jobsByQueue) await deps.boss.insert(queue, jobs, { db });
        if (options.session) {
          const withSession = inserted
            .map((row) => ({ inboxId: row.id, handlers: deps.registry.sessionQueues(queuesByDelivery.get(row.deliveryId) ?? []) }))
            .filter((row) => row.handlers.length > 0);
          await insertSessions(client, withSession, options.session);
        }
        return { accepted: inserted.length, duplicates: events.length - inserted.length };
      });
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  };
}
