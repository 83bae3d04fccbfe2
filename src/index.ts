/** forcehook's public API: what a handler module or a test of your own imports. */
export { defineHandler } from './handlers/define-handler.js';
export type { Handler, HandlerContext, HandlerMatch, HandlerOptions, HandlerResult } from './handlers/define-handler.js';
export type { SalesforceEvent, Operation, EventSource, FieldValue } from './events/salesforce-event.js';
export { AppError, PermanentError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { signPayload, signedHeaders, verifyWebhook } from './verification/standard-webhooks.js';
export { newWebhookSecret } from './verification/local-secret.js';
export { startForcehook } from './runtime.js';
