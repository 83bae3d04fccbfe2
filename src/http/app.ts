import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Ingest } from '../inbox/ingest.js';
import { BodyBudget } from './body-budget.js';
import { noteOf } from './locals.js';
import { basicAuth } from './routes/admin.js';
import { apexRoute } from './routes/apex.js';
import { healthRoute, readyRoute } from './routes/health.js';
import { mountOData, type ODataRouteDeps } from './routes/odata.js';
import { outboundRoute } from './routes/outbound.js';
import { errorForLog } from './error-log.js';

export interface AppDeps {
  config: Pick<Config, 'allowedOrgPrefixes' | 'outboundToken' | 'outboundFlowTokens' | 'outboundTokenRequired' | 'maxBodyBytes' | 'webhookSecrets'> &
    Partial<Pick<Config, 'maxInflightBodyBytes'>>;
  log: Logger;
  ingest: Ingest;
  checkDatabase: () => Promise<void>;
  now?: () => Date;
  /** Served at /metrics and fed by every request, when given. */
  metrics?: Metrics;
  /** When set, /metrics needs HTTP Basic auth with it (the ADMIN_PASSWORD). */
  metricsPassword?: string | undefined;
  /** Serves tables to Salesforce Connect at /odata/v4/ when given (ODATA_CONFIG). */
  odata?: Omit<ODataRouteDeps, 'bodyBudget' | 'log' | 'maxBodyBytes'> | undefined;
  /** Extra routes (the admin page), mounted before the 404. */
  extraRoutes?: (app: express.Express) => void;
}

/** The HTTP app, without listening: tests drive it with supertest, `server.ts` listens. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(deps.log, deps.metrics));
  // One budget for both ingress routes: together their bodies hold at most MAX_INFLIGHT_BODY_BYTES.
  const bodyBudget = new BodyBudget(deps.config.maxInflightBodyBytes ?? 10 * deps.config.maxBodyBytes);
  app.get('/healthz', healthRoute);
  if (deps.metrics) {
    const registry = deps.metrics.registry;
    const guard = deps.metricsPassword ? [basicAuth(deps.metricsPassword)] : [];
    app.get('/metrics', ...guard, async (_req: Request, res: Response) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.get('/readyz', readyRoute(deps.checkDatabase));
  app.post(
    '/outbound/:flow',
    outboundRoute({
      ingest: deps.ingest,
      log: deps.log,
      allowedOrgPrefixes: deps.config.allowedOrgPrefixes,
      tokens: { token: deps.config.outboundToken, flowTokens: deps.config.outboundFlowTokens, required: deps.config.outboundTokenRequired },
      maxBodyBytes: deps.config.maxBodyBytes,
      bodyBudget,
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
      bodyBudget,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  if (deps.odata) mountOData(app, { ...deps.odata, log: deps.log, bodyBudget, maxBodyBytes: deps.config.maxBodyBytes });
  deps.extraRoutes?.(app);
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND' satisfies ErrorCode, message: 'No such endpoint. Salesforce posts to /outbound/<flow> or /apex/<flow>.' } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.log.error({ err: errorForLog(err) }, 'unhandled request error');
    if (!res.headersSent) res.status(500).json({ error: { code: 'INTERNAL', message: 'An internal error occurred.' } });
  });
  return app;
}

/**
 * One line per request, with an id; the path only, because a query string may carry a token.
 * Feeds the request, ingest and refusal metrics from what the routes left in res.locals.
 */
function requestLog(log: Logger, metrics: Metrics | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const header = req.headers['x-request-id'];
    const id = typeof header === 'string' && /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const { ingest, errorCode } = noteOf(res);
      log.info({ reqId: id, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, code: errorCode, ...ingest }, 'request');
      if (!metrics) return;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      const source = route === '/outbound/:flow' ? 'outbound' : route === '/apex/:flow' ? 'apex' : undefined;
      if (!source) return;
      metrics.ingestSeconds.observe({ source }, ms / 1000);
      if (ingest) {
        metrics.events.inc({ source, result: 'accepted' }, ingest.accepted);
        metrics.events.inc({ source, result: 'duplicate' }, ingest.duplicates);
      }
      if (errorCode) metrics.refused.inc({ source, reason: errorCode });
    });
    next();
  };
}
