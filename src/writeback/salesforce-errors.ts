import { AppError } from '../errors.js';

/**
 * A Salesforce refusal, with Salesforce's own status code (`UNABLE_TO_LOCK_ROW`,
 * `FIELD_CUSTOM_VALIDATION_EXCEPTION`, ...) and message, and whether trying again can help.
 */
export class SalesforceError extends AppError {
  readonly salesforceCode: string;

  constructor(salesforceCode: string, message: string, retryable: boolean, cause?: unknown) {
    super('SALESFORCE_ERROR', `Salesforce ${salesforceCode}: ${message}`, { retryable, status: 502, cause });
    this.salesforceCode = salesforceCode;
  }
}

/**
 * Codes that succeed when tried again later. Everything else Salesforce says about a record
 * (REQUIRED_FIELD_MISSING, FIELD_CUSTOM_VALIDATION_EXCEPTION, INVALID_FIELD, ...) will fail again.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm#statuscode
 */
const RETRYABLE_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'REQUEST_LIMIT_EXCEEDED',
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
  'QUERY_TIMEOUT',
  'TXN_SECURITY_METERING_ERROR',
  'INVALID_SESSION_ID',
  'ERROR_HTTP_500',
  'ERROR_HTTP_502',
  'ERROR_HTTP_503',
  'ERROR_HTTP_504',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ABORT_ERR']);

function isRetryableCode(code: string): boolean {
  return RETRYABLE_CODES.has(code) || /^ERROR_HTTP_5\d\d$/.test(code);
}

/** Maps what jsforce throws (HTTP errors with `errorCode`, network errors) onto SalesforceError, in one place. */
export function classifySalesforceError(err: unknown): SalesforceError {
  if (err instanceof SalesforceError) return err;
  const e = (err ?? {}) as { errorCode?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.errorCode === 'string') return new SalesforceError(e.errorCode, message, isRetryableCode(e.errorCode), err);
  const network = [e.code, e.cause?.code].find((c): c is string => typeof c === 'string' && NETWORK_CODES.has(c));
  if (network || /fetch failed|socket hang up|network/i.test(message)) {
    return new SalesforceError(network ?? 'NETWORK_ERROR', message, true, err);
  }
  return new SalesforceError('UNKNOWN', message, true, err);
}

/** One record's answer in an sObject Collections call (create, update, upsert): Salesforce's SaveResult. */
export interface SaveResult {
  id?: string;
  success: boolean;
  errors?: { statusCode?: string; errorCode?: string; message?: string; fields?: string[] }[];
}

/**
 * Why Salesforce refused one record of a Collections call, as forcehook stores and prints it:
 * `Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Description must not say bad (fields: Description)`,
 * retryable by its code. OPERATION_ENQUEUED (what a published Platform Event carries) is not the reason.
 */
export function saveResultError(result: SaveResult | undefined): SalesforceError {
  const e = result?.errors?.find((x) => x.statusCode !== 'OPERATION_ENQUEUED');
  const code = e?.statusCode ?? e?.errorCode ?? 'UNKNOWN';
  const reason = e?.message ?? (result ? 'no reason given' : 'no result for this record');
  return new SalesforceError(code, `${reason}${e?.fields?.length ? ` (fields: ${e.fields.join(', ')})` : ''}`, isRetryableCode(code));
}
