import { AppError } from '../errors.js';

/** What of an error goes into a log line: its code and message, a stack only for the unexpected. */
export function errorForLog(err: unknown): Record<string, unknown> {
  if (err instanceof AppError) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return { code: err.code, message: err.message, ...(cause ? { cause } : {}) };
  }
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}
