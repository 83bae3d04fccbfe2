/**
 * The one map from job kinds to payloads. A handler job names inbox rows only: the events
 * themselves are stored once, in the inbox, and loaded by the worker.
 */
export interface JobPayloads {
  handler: {
    /**
     * The inbox rows this job carries, oldest first. Ingest sends one job per transaction and
     * handler holding up to the handler's batchSize events; a failed event is split out into a job
     * of its own, so retries, backoff and dead letters stay per event.
     */
    inboxIds: number[];
    /** Retries this event used in the jobs before this one (it was split out of a batch, or put back). */
    retriesBefore?: number;
    /**
     * Set on a job put back without counting a retry (the database was unavailable, or the batch ran
     * out of time before trying it): when that first happened and how often since. Putting back
     * stops after a while, so it cannot go on forever.
     */
    putBack?: { since: string; times: number };
  };
  /** An Outbound Message notification of a verify-by-fetch flow, read back before its handlers. */
  verify: { inboxId: number };
}

export type HandlerJob = JobPayloads['handler'];
export type VerifyJob = JobPayloads['verify'];

/** A handler job as stored by forcehook before batch jobs (one event a job), still read from queues and dead letters. */
interface LegacyHandlerJob {
  inboxId: number;
  putBack?: { since: string; times: number; retriesUsed: number };
}

/** What a handler queue may hold: today's jobs and those an earlier version queued. */
export type StoredHandlerJob = HandlerJob | LegacyHandlerJob;

/** The inbox ids of a handler job, whichever version of forcehook queued it. */
export function jobInboxIds(data: StoredHandlerJob): number[] {
  return 'inboxIds' in data && Array.isArray(data.inboxIds) ? data.inboxIds : 'inboxId' in data ? [data.inboxId] : [];
}

/** Retries used by the jobs before this one, whichever version queued it. */
export function retriesBefore(data: StoredHandlerJob): number {
  if ('inboxIds' in data) return data.retriesBefore ?? 0;
  return data.putBack?.retriesUsed ?? 0;
}

/** The queue of verify-by-fetch jobs, and where those that keep failing end up. */
export const VERIFY_QUEUE = 'forcehook.verify-by-fetch';
export const VERIFY_DEAD_LETTER_QUEUE = 'forcehook.verify-by-fetch.dead';
