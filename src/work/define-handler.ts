import type { Queryable } from '../db/pool.js';
import type { SalesforceWrites } from '../writeback/writer.js';
import type { Logger } from '../log.js';
import type { EventSource, Operation, SalesforceEvent } from '../events/salesforce-event.js';

/** Which events a handler wants. Every listed criterion must hold; an omitted one matches all. */
export interface HandlerMatch {
  flow?: string | readonly string[];
  sobjectType?: string | readonly string[];
  operations?: readonly Operation[];
  source?: EventSource;
}

/** What a handler gets besides its events: no globals, so tests can hand in their own. */
export interface HandlerContext {
  /** The forcehook database: the mirror, the inbox, and any tables of your own. */
  db: Queryable;
  /** A child logger already carrying the handler name. */
  log: Logger;
  /** Aborted when the worker shuts down: stop early and throw, the batch will be retried. */
  signal: AbortSignal;
  /**
   * Writes back to Salesforce (merged and sent in bulk after the handler succeeds), and the
   * connection for reads. `null` when no Salesforce credentials are configured.
   */
  salesforce: SalesforceWrites | null;
}

/** A handler may say which events it deliberately skipped (stale, not for it): they are not failures. */
export interface HandlerResult {
  skipped?: readonly string[];
}

export interface HandlerOptions {
  /** Unique, plain name: it names the pg-boss queue `forcehook.<name>` and its dead-letter queue. */
  name: string;
  match: HandlerMatch;
  /** Most events handed to one `handle` call. @default 50 */
  batchSize?: number;
  /** Batches handled at once in one worker process. @default 2 */
  concurrency?: number;
  /** Retries after the first attempt before the event is dead-lettered. @default 5 */
  retryLimit?: number;
  /** First retry delay in seconds; doubles each retry when `retryBackoff`. @default 2 */
  retryDelaySeconds?: number;
  /** @default true */
  retryBackoff?: boolean;
  /**
   * Skip events whose LastModifiedById is the user forcehook calls Salesforce as: they are the
   * echo of forcehook's own write-backs, and handling them again would ping-pong. @default true
   */
  suppressEchoes?: boolean;
  /** Longest delay between retries, in seconds. @default 600 */
  retryDelayMaxSeconds?: number;
  /**
   * How long one batch may run. A batch still unfinished then (its worker was killed, or hangs) is
   * retried by another worker. @default 300
   */
  timeoutSeconds?: number;
  /**
   * Handles a batch of events, oldest first. Throw to fail the batch: forcehook then retries each
   * event on its own so one bad event cannot hold back the others. Throw a PermanentError for an
   * event that can never succeed: it goes straight to the dead-letter queue.
   */
  handle(events: SalesforceEvent[], ctx: HandlerContext): Promise<HandlerResult | void>;
}

export interface Handler extends Required<Omit<HandlerOptions, 'handle' | 'match'>> {
  match: HandlerMatch;
  queue: string;
  deadLetterQueue: string;
  handle: HandlerOptions['handle'];
}

const NAME = /^[a-z][a-z0-9-]{0,47}$/;

export function defineHandler(options: HandlerOptions): Handler {
  if (!NAME.test(options.name)) {
    throw new TypeError(`handler name "${options.name}" must be lower-case letters, digits and dashes, starting with a letter`);
  }
  return {
    batchSize: 50,
    concurrency: 2,
    retryLimit: 5,
    retryDelaySeconds: 2,
    retryBackoff: true,
    retryDelayMaxSeconds: 600,
    timeoutSeconds: 300,
    suppressEchoes: true,
    ...options,
    queue: queueOf(options.name),
    deadLetterQueue: `${queueOf(options.name)}.dead`,
  };
}

export function matches(match: HandlerMatch, event: SalesforceEvent): boolean {
  return (
    oneOf(match.flow, event.flow) &&
    oneOf(match.sobjectType, event.sobjectType) &&
    (match.operations === undefined || match.operations.includes(event.operation)) &&
    (match.source === undefined || match.source === event.source)
  );
}

function oneOf(wanted: string | readonly string[] | undefined, actual: string): boolean {
  if (wanted === undefined) return true;
  return typeof wanted === 'string' ? wanted === actual : wanted.includes(actual);
}

const QUEUE_PREFIX = 'forcehook.';

/** Handler identity: the pg-boss queue of the handler named `name`, and back. */
function queueOf(handlerName: string): string {
  return `${QUEUE_PREFIX}${handlerName}`;
}

/** The handler name in a queue name (outcomes are kept by queue); a name that is not ours is returned as it is. */
export function handlerOf(queue: string): string {
  return queue.startsWith(QUEUE_PREFIX) ? queue.slice(QUEUE_PREFIX.length) : queue;
}
