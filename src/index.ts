/**
 * forcehook's public API: the one module a handler, a push mapping or a test of your own imports
 * (`import { defineHandler } from 'forcehook'`). Every type a handler or mapping touches is here.
 */
export { defineHandler } from './work/define-handler.js';
export type { Handler, HandlerContext, HandlerMatch, HandlerOptions, HandlerResult } from './work/define-handler.js';
export type { SalesforceEvent, Operation, EventSource, FieldValue } from './events/salesforce-event.js';
export type { Queryable } from './db/pool.js';
export type { Logger } from './log.js';
export type { SalesforceWrites, WriteOptions } from './writeback/writer.js';
/** The jsforce connection `ctx.salesforce.connection()` resolves to, for reads (SOQL, describe). */
export type { Connection as SalesforceConnection } from '@jsforce/jsforce-node';
export { definePushMapping } from './writeback/define-mapping.js';
export type { PushMapping } from './writeback/define-mapping.js';
export type { PushResult } from './writeback/push.js';
export { recordUrl, salesforceIdOf, synchronised } from './writeback/push.js';
export { AppError, PermanentError } from './errors.js';
export type { AppErrorOptions, ErrorCode } from './errors.js';
export { signPayload, signedHeaders, verifyWebhook } from './verification/standard-webhooks.js';
export { newWebhookSecret } from './verification/local-secret.js';
export { startForcehook } from './runtime.js';
