import { AppError } from '../errors.js';

/** A handler call that did not finish within its handler's timeoutSeconds. Retryable: it may be a stall. */
export class HandlerTimeoutError extends AppError {
  readonly seconds: number;
  constructor(seconds: number) {
    super('HANDLER_FAILED', `handler timed out after ${seconds} s: it was abandoned and ctx.signal aborted; stop on ctx.signal, or raise the handler's timeoutSeconds`, {
      retryable: true,
    });
    this.seconds = seconds;
  }
}

/**
 * Runs `call` with a time limit. When it runs out, the call's signal is aborted and the returned
 * promise rejects with HandlerTimeoutError at once: a call that ignores its signal is abandoned,
 * not waited for, and whatever it returns later is dropped (`onLate` hears about it).
 */
export async function withTimeLimit<T>(
  call: (signal: AbortSignal) => Promise<T>,
  limitMs: number,
  parents: readonly AbortSignal[],
  onLate: (settled: 'resolved' | 'rejected') => void,
): Promise<T> {
  const controller = new AbortController();
  const signal = AbortSignal.any([...parents, controller.signal]);
  let timer: NodeJS.Timeout | undefined;
  let abandoned = false;
  const running = (async () => call(signal))();
  running.then(
    () => abandoned && onLate('resolved'),
    () => abandoned && onLate('rejected'),
  );
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned = true;
      const error = new HandlerTimeoutError(Math.round(limitMs / 100) / 10);
      controller.abort(error);
      reject(error);
    }, limitMs);
  });
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
