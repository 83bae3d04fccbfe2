import { AppError } from '../../src/errors.js';

/** The AppError code `fn` throws, or undefined when it does not throw; anything else fails the test. */
export function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return undefined;
}
