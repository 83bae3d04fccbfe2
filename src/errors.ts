/**
 * Every error forcehook raises on purpose is an AppError: a stable `code` that tests, logs and
 * callers match on, an HTTP `status` where one applies, and whether trying again can help.
 * Messages say what to do; they never carry secrets or internals.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'BODY_EMPTY'
  | 'BODY_MALFORMED'
  | 'DTD_FORBIDDEN'
  | 'NOT_SOAP'
  | 'NOT_NOTIFICATIONS'
  | 'INVALID_MESSAGE'
  | 'MODSTAMP_IN_FUTURE'
  | 'ORG_NOT_ALLOWED'
  | 'TOKEN_INVALID'
  | 'TOKEN_NOT_CONFIGURED'
  | 'SIGNATURE_INVALID'
  | 'NOT_CONFIGURED'
  | 'UNKNOWN_FLOW'
  | 'DATABASE_UNAVAILABLE'
  | 'SERVER_BUSY'
  | 'HANDLER_FAILED'
  | 'SALESFORCE_ERROR'
  | 'NOT_FOUND'
  | 'USAGE'
  | 'INTERNAL';

export interface AppErrorOptions {
  status?: number;
  retryable?: boolean;
  cause?: unknown;
  /** Field paths and reasons, for validation errors. Safe to show the caller. */
  issues?: readonly ValidationIssue[];
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly issues: readonly ValidationIssue[];

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.issues = options.issues ?? [];
  }
}

/** The caller sent something we cannot accept; sending it again unchanged will fail again. */
export class InputError extends AppError {
  constructor(code: ErrorCode, message: string, options: Omit<AppErrorOptions, 'retryable'> = {}) {
    super(code, message, { status: 400, ...options, retryable: false });
  }
}

/** The sender could not be proven to be who forcehook trusts. */
export class VerificationError extends AppError {
  constructor(code: ErrorCode, message: string, status = 403) {
    super(code, message, { status, retryable: false });
  }
}

/** The database is down or refused us: nothing was stored; the sender should retry. */
export class DatabaseUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('DATABASE_UNAVAILABLE', 'The database is unavailable; nothing was stored. Retry later.', {
      status: 503,
      retryable: true,
      cause,
    });
  }
}

export class ConfigError extends AppError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, { retryable: false });
  }
}

/** A command was asked for something it cannot do as asked (a missing argument, an unknown id): the message says what to type instead. */
export class UsageError extends AppError {
  constructor(message: string) {
    super('USAGE', message, { retryable: false });
  }
}

/** Connection-level failures from node-postgres / the server, as opposed to bad SQL. */
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57'];
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Maps a foreign error from pg onto our classes, in one place. */
export function classifyDatabaseError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return new DatabaseUnavailableError(err);
  return new AppError('INTERNAL', 'An internal error occurred; nothing was stored.', { status: 500, cause: err });
}

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  if (typeof code === 'string') {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (code.length === 5 && UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
    message,
  );
}

/** Thrown by a handler for an event that can never succeed: it is dead-lettered without retries. */
export class PermanentError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('HANDLER_FAILED', message, { retryable: false, ...options });
  }
}

/** A zod error's issues, each with its path as `a.b.0`. */
function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): ValidationIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** A 400 INVALID_MESSAGE naming the first issue (`what` is invalid: <path or whole> <message>), with every issue attached. */
export function invalidMessage(what: string, whole: string, error: Parameters<typeof issuesOf>[0]): InputError {
  const issues = issuesOf(error);
  const first = issues[0]!;
  return new InputError('INVALID_MESSAGE', `${what} is invalid: ${first.path || whole} ${first.message}.`, { issues });
}

/** An error as a log field: its message, and its code when forcehook raised it. */
export function describeError(err: unknown): { message: string; code?: string } {
  if (err instanceof AppError) return { message: err.message, code: err.code };
  if (err instanceof Error) return { message: err.message };
  return { message: String(err) };
}
