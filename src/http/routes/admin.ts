import { createHmac } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { isSalesforceId } from '../../events/salesforce-id.js';
import type { Handler } from '../../work/define-handler.js';
import { readDashboard, retryDeadLetter } from '../../ops/reports.js';
import { constantTimeEqual } from '../../verification/constant-time.js';
import { renderDashboard } from '../admin/page.js';

export interface AdminDeps {
  password: string;
  pool: pg.Pool;
  boss: PgBoss;
  handlers: readonly Handler[];
}

/**
 * /admin: what reached us, what failed, and a Retry button — behind HTTP Basic auth with
 * ADMIN_PASSWORD (any user name). Forms carry a token only the password holder can compute, so
 * another site cannot make a logged-in browser press Retry.
 */
export function mountAdmin(app: express.Express, deps: AdminDeps): void {
  // Derived from the password, not random per process: with several web dynos the form may be
  // posted to another dyno than the one that rendered it.
  const csrfToken = createHmac('sha256', deps.password).update('forcehook admin forms').digest('base64url');
  const auth = basicAuth(deps.password);
  app.get('/admin', auth, async (req: Request, res: Response) => {
    const record = typeof req.query['record'] === 'string' ? req.query['record'].trim() : '';
    const retried = typeof req.query['retried'] === 'string' ? req.query['retried'] : undefined;
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
    res.setHeader('Cache-Control', 'no-store');
    const d = await readDashboard({ db: deps.pool, boss: deps.boss, handlers: deps.handlers }, { ...(isSalesforceId(record) ? { recordId: record } : {}), limit: 50 });
    res.type('html').send(
      renderDashboard({
        queues: d.handlers,
        flows: d.flows,
        writes: d.salesforceWrites,
        apiCallsToday: d.apiCallsToday,
        throughput: d.throughput,
        deadLetters: d.deadLetters,
        events: d.events,
        recordSearch: record,
        notice: retried ? `Sent ${retried} back for another try.` : record && !isSalesforceId(record) ? `${record} is not a Salesforce record id.` : undefined,
        csrfToken,
      }),
    );
  });
  app.post('/admin/dead-letters/:id/retry', auth, express.urlencoded({ extended: false, limit: '4kb' }), async (req: Request, res: Response) => {
    const form = req.body as { csrf?: unknown } | undefined;
    if (typeof form?.csrf !== 'string' || !constantTimeEqual(form.csrf, csrfToken)) {
      res.status(403).type('text').send('The form is stale or came from another site: reload /admin and try again.');
      return;
    }
    const id = String(req.params['id']);
    const found = await retryDeadLetter(deps.boss, deps.pool, deps.handlers, id);
    if (!found) {
      res.status(404).type('text').send(`No dead letter ${id}: it may have been retried already. Go back to /admin.`);
      return;
    }
    res.redirect(303, `/admin?retried=${encodeURIComponent(id)}`);
  });
}

/** HTTP Basic auth checking only the password, in constant time. */
export function basicAuth(password: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    const given = decoded.slice(decoded.indexOf(':') + 1);
    if (decoded.includes(':') && constantTimeEqual(given, password)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="forcehook admin", charset="UTF-8"');
    res.status(401).type('text').send('Log in with the ADMIN_PASSWORD (any user name).');
  };
}
