/**
 * The one map from job kinds to payloads. A handler job names only the inbox row: the event itself
 * is stored once, in the inbox, and loaded by the worker.
 */
export interface JobPayloads {
  handler: {
    inboxId: number;
    /**
     * Set on a job put back without counting a retry (the database was unavailable, or the batch ran
     * out of time before trying it): when that first happened, how often since, and the retries the
     * jobs before it had used. Putting back stops after a while, so it cannot go on forever.
     */
    putBack?: { since: string; times: number; retriesUsed: number };
  };
  /** An Outbound Message notification of a verify-by-fetch flow, read back before its handlers. */
  verify: { inboxId: number };
}

export type HandlerJob = JobPayloads['handler'];
export type VerifyJob = JobPayloads['verify'];

/** The queue of verify-by-fetch jobs, and where those that keep failing end up. */
export const VERIFY_QUEUE = 'forcehook.verify-by-fetch';
export const VERIFY_DEAD_LETTER_QUEUE = 'forcehook.verify-by-fetch.dead';
