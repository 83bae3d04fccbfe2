import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Ingest } from '../queue/ingest.js';
import { apexRoute } from './routes/apex.js';
import { healthRoute, readyRoute } from './routes/health.js';
import { outboundRoute } from './routes/outbound.js';

export interface AppDeps {
  config: Pick<Config, 'allowedOrgPrefixes' | 'outboundToken' | 'outboundFlowTokens' | 'maxBodyBytes' | 'webhookSecrets'>;
  log: Logger;
  ingest: Ingest;
  checkDatabase: () => Promise<void>;
  now?: () => Date;
}

/** The HTTP app, without listening: tests drive it with supertest, `server.ts` listens. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(deps.log));
  app.get('/healthz', healthRoute);
  app.get('/readyz', readyRoute(deps.checkDatabase));
  app.post(
    '/outbound/:flow',
    outboundRoute({
      ingest: deps.ingest,
      log: deps.log,
      allowedOrgPrefixes: deps.config.allowedOrgPrefixes,
      tokens: { token: deps.config.outboundToken, flowTokens: deps.config.outboundFlowTokens },
      maxBodyBytes: deps.config.maxBodyBytes,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.post(
    '/apex/:flow',
    apexRoute({
      ingest: deps.ingest,
      log: deps.log,
      allowedOrgPrefixes: deps.config.allowedOrgPrefixes,
      secrets: deps.config.webhookSecrets,
      maxBodyBytes: deps.config.maxBodyBytes,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such endpoint. Salesforce posts to /outbound/<flow> or /apex/<flow>.' } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'unhandled request error');
    if (!res.headersSent) res.status(500).json({ error: { code: 'INTERNAL', message: 'An internal error occurred.' } });
  });
  return app;
}

/** One line per request, with an id; the path only, because a query string may carry a token. */
function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const header = req.headers['x-request-id'];
    const id = typeof header === 'string' && /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ reqId: id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, code: res.locals['errorCode'], ...res.locals['ingest'] }, 'request');
    });
    next();
  };
}
