/**
 * The one map from job kinds to payloads. A handler job names only the inbox row: the event itself
 * is stored once, in the inbox, and loaded by the worker.
 */
export interface JobPayloads {
  handler: { inboxId: number };
}

export type HandlerJob = JobPayloads['handler'];
