import type { PgBoss } from 'pg-boss';
import type { Queryable } from '../db/pool.js';
import { apiCallsToday, eventsPerMinute, findEvents, flowSummaries, queueDepths, writeSummary, type EventFilter, type EventRow, type FlowSummary, type QueueDepth, type WriteSummary } from '../db/reports.js';
import type { Handler } from '../work/define-handler.js';
import { listDeadLetters, type DeadLetter } from './dead-letters.js';

/**
 * The read side, wired once: what `forcehook status` / `events` print and what /admin shows come
 * from these functions; the CLI and the admin page only format them.
 */
export interface OpsDeps {
  db: Queryable;
  boss: PgBoss;
  handlers: readonly Handler[];
}

export interface Status {
  handlers: QueueDepth[];
  salesforceWrites: WriteSummary;
  apiCallsToday: number;
  flows: FlowSummary[];
}

/** Queue depths, failures, API calls today, the last event of each flow. */
export async function readStatus(deps: Pick<OpsDeps, 'db' | 'handlers'>): Promise<Status> {
  return {
    handlers: await queueDepths(deps.db, deps.handlers),
    salesforceWrites: await writeSummary(deps.db),
    apiCallsToday: await apiCallsToday(deps.db),
    flows: await flowSummaries(deps.db),
  };
}

/** The inbox, newest first, with what happened to each event. */
export { findEvents as readEvents };

export interface Dashboard extends Status {
  throughput: { minute: Date; events: number }[];
  deadLetters: DeadLetter[];
  events: EventRow[];
}

/** Everything /admin shows: the status, events per minute for the last hour, dead letters and events. */
export async function readDashboard(deps: OpsDeps, filter: EventFilter): Promise<Dashboard> {
  return {
    ...(await readStatus(deps)),
    throughput: await eventsPerMinute(deps.db, 60),
    deadLetters: await listDeadLetters(deps.boss, deps.db, deps.handlers),
    events: await findEvents(deps.db, filter),
  };
}

export type { DeadLetter } from './dead-letters.js';
export type { EventFilter, EventRow, FlowSummary, QueueDepth, WriteSummary } from '../db/reports.js';
export { listDeadLetters, purgeDeadLetters, replayEvent, retryDeadLetter } from './dead-letters.js';
