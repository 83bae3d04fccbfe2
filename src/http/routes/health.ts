import type { Request, Response } from 'express';

/** GET /healthz — the process is up. Never touches the database, so Heroku does not restart us for its trouble. */
export function healthRoute(_req: Request, res: Response): void {
  res.json({ status: 'ok' });
}

/** GET /readyz — the database answers within a second: we can store what we receive. */
export function readyRoute(checkDatabase: () => Promise<void>) {
  return async (_req: Request, res: Response): Promise<void> => {
    try {
      await withTimeout(checkDatabase(), 1_000);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable', error: { code: 'DATABASE_UNAVAILABLE', message: 'The database is not reachable.' } });
    }
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
