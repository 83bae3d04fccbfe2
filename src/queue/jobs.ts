/**
 * The one map from job kinds to payloads. A handler job names only the inbox row: the event itself
 * is stored once, in the inbox, and loaded by the worker.
 */
export interface JobPayloads {
  handler: { inboxId: number };
  /** An Outbound Message notification of a verify-by-fetch flow, read back before its handlers. */
  verify: { inboxId: number };
}

export type HandlerJob = JobPayloads['handler'];
export type VerifyJob = JobPayloads['verify'];

/** The queue of verify-by-fetch jobs, and where those that keep failing end up. */
export const VERIFY_QUEUE = 'forcehook.verify-by-fetch';
export const VERIFY_DEAD_LETTER_QUEUE = 'forcehook.verify-by-fetch.dead';
