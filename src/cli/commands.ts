import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../log.js';
import { openDatabase, startForcehook } from '../runtime.js';
import { newWebhookSecret } from '../verification/local-secret.js';
import { userMigrations } from '../user-code.js';
import { withForcehookDatabase } from './connect.js';
import { deadLetterList, deadLetterPurge, deadLetterRetry, eventsCommand, replayCommand, statusCommand } from './reports.js';
import { pushCommand } from './push.js';
import { reconcileCommand } from './reconcile.js';
import { sendTestCallout } from './send-test.js';

// A .env file in the working directory is read for local use; real environment variables win.
if (existsSync('.env')) process.loadEnvFile('.env');

const program = new Command()
  .name('forcehook')
  .description('Receive Salesforce Outbound Messages and Apex callouts, store them durably, handle them.');

program
  .command('start')
  .description('run the web server and the worker (both unless one is named)')
  .option('--web', 'serve HTTP (Outbound Messages, Apex callouts, health)')
  .option('--worker', 'run handlers')
  .action(async (opts: { web?: boolean; worker?: boolean }) => {
    const both = !opts.web && !opts.worker;
    const running = await startForcehook({ web: both || !!opts.web, worker: both || !!opts.worker, env: process.env });
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        running.log.warn(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      running.log.info(`${signal}: finishing in-flight requests and jobs`);
      // Heroku sends SIGKILL 30 s after SIGTERM; leave before that on our own terms.
      const deadline = setTimeout(() => {
        running.log.error('shutdown took longer than 25 s; exiting');
        process.exit(1);
      }, 25_000);
      deadline.unref();
      running.stop().then(
        () => {
          running.log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          running.log.error({ err: String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('migrate')
  .description("apply forcehook's database migrations (Heroku release phase)")
  .action(async () => {
    const config = loadConfig(process.env);
    const log = createLogger(config.logLevel);
    const { settings, embedded } = await openDatabase(config, log);
    const pool = createPool(settings, log);
    try {
      const applied = await migrate(pool, { user: userMigrations(process.env) });
      console.log(applied.length ? `applied: ${applied.map((m) => `${m.version} ${m.name}`).join(', ')}` : 'database is up to date');
    } finally {
      await pool.end();
      await embedded?.stop();
    }
  });

program
  .command('send-test')
  .description('send a signed sample Apex callout (one Contact insert) to a running forcehook')
  .argument('<flow>', 'the flow to send to, e.g. contacts')
  .option('--url <url>', 'base URL of the running forcehook', `http://localhost:${process.env['PORT'] || 3000}`)
  .option('--object <sobject>', 'sObject type of the sample record', 'Contact')
  .action(async (flow: string, opts: { url: string; object: string }) => {
    const result = await sendTestCallout(loadConfig(process.env), { flow, url: opts.url, sobjectType: opts.object });
    const target = `${opts.url.replace(/\/$/, '')}/apex/${flow}`;
    if (result.status >= 200 && result.status < 300) {
      console.log(`sent ${opts.object} ${result.recordId} to ${target}: ${result.status} ${result.body}`);
      console.log(`delivery id ${result.webhookId}:${result.recordId}`);
    } else {
      console.error(`forcehook: ${target} answered ${result.status}: ${result.body}`);
      process.exitCode = 1;
    }
  });

const json = { flag: '--json', description: 'print JSON for scripts instead of a table' } as const;
const print = (text: string): void => console.log(text);
const progress = (text: string): void => void process.stderr.write(text);

program
  .command('status')
  .description('queue depths, failures, Salesforce API calls today, the last event of each flow')
  .option(json.flag, json.description)
  .action(async (opts: { json?: boolean }) => withForcehookDatabase((ctx) => statusCommand(ctx, !!opts.json, print)));

program
  .command('events')
  .description('what reached forcehook and what happened to it, newest first')
  .option('--record <id>', 'only this record (15- or 18-character id)')
  .option('--flow <flow>', 'only this flow')
  .option('--status <status>', 'received, verifying, retrying, done, failed, skipped or dropped')
  .option('--since <time>', 'only events received since, e.g. 2026-11-24T10:00Z or 1h / 30m')
  .option('--limit <n>', 'at most this many', '50')
  .option(json.flag, json.description)
  .action(async (opts: { record?: string; flow?: string; status?: string; since?: string; limit: string; json?: boolean }) =>
    withForcehookDatabase((ctx) =>
      eventsCommand(
        ctx,
        {
          ...(opts.record ? { recordId: opts.record } : {}),
          ...(opts.flow ? { flow: opts.flow } : {}),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.since ? { since: parseSince(opts.since) } : {}),
          limit: Number(opts.limit) || 50,
        },
        !!opts.json,
        print,
      ),
    ),
  );

const deadLetter = program.command('dead-letter').description('events and Salesforce writes that gave up');
deadLetter
  .command('list')
  .description('list dead letters with the reason')
  .option(json.flag, json.description)
  .action(async (opts: { json?: boolean }) => withForcehookDatabase((ctx) => deadLetterList(ctx, !!opts.json, print)));
deadLetter
  .command('retry')
  .description('send dead letters back to their handler or to Salesforce')
  .argument('[id]', 'a dead letter id from `dead-letter list`')
  .option('--all', 'retry every dead letter')
  .action(async (id: string | undefined, opts: { all?: boolean }) => {
    await withForcehookDatabase((ctx) => deadLetterRetry(ctx, id, !!opts.all, print, progress));
  });
deadLetter
  .command('purge')
  .description('delete every dead letter')
  .action(async () => withForcehookDatabase((ctx) => deadLetterPurge(ctx, print)));

program
  .command('replay')
  .description('run a stored event through its handlers again')
  .argument('<deliveryId>', 'the delivery id (see `forcehook events`)')
  .action(async (deliveryId: string) => withForcehookDatabase((ctx) => replayCommand(ctx, deliveryId, print)));

program
  .command('reconcile')
  .description('pull the records of an sObject changed since the last run (or --since) through the handlers now')
  .argument('<sobject>', 'sObject API name, e.g. Contact')
  .option('--flow <flow>', 'the flow its events belong to (default: from RECONCILE)')
  .option('--since <time>', 'start here instead of the stored cursor, e.g. 2026-11-01T00:00Z or 2d')
  .action(async (sobject: string, opts: { flow?: string; since?: string }) =>
    withForcehookDatabase((ctx) =>
      reconcileCommand(ctx, sobject, { ...(opts.flow ? { flow: opts.flow } : {}), ...(opts.since ? { since: parseSince(opts.since) } : {}) }, print, progress),
    ),
  );

program
  .command('push')
  .description('upsert local rows into Salesforce through a push mapping (mappings/)')
  .argument('<mapping>', 'the mapping name, e.g. app-users')
  .option('--ids <ids>', 'only these local ids, comma-separated')
  .action(async (mapping: string, opts: { ids?: string }) =>
    withForcehookDatabase((ctx) => pushCommand(ctx, mapping, opts.ids ? opts.ids.split(',').map((s) => s.trim()).filter(Boolean) : undefined, print, progress)),
  );

program
  .command('secret')
  .description('signing secrets')
  .command('new')
  .description('print a fresh whsec_ secret for WEBHOOK_SECRETS and the org\'s Forcehook_Settings__c')
  .action(() => console.log(newWebhookSecret()));

/** `1h`, `30m`, `2d` ago, or an ISO time. */
function parseSince(text: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(text);
  if (relative) return new Date(Date.now() - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']);
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new Error(`--since ${text}: use an ISO time (2026-11-24T10:00Z) or 30m, 1h, 2d`);
  return at;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  // One line that names the problem; a stack only for the unexpected.
  if (err instanceof AppError || (err instanceof Error && !(err instanceof TypeError) && !(err instanceof ReferenceError))) console.error(`forcehook: ${err.message}`);
  else console.error('forcehook:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
