import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { AppError, UsageError } from '../errors.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../log.js';
import { openDatabase, startForcehook } from '../runtime.js';
import { newWebhookSecret } from '../verification/local-secret.js';
import { userMigrations } from '../user-code.js';
import type { CliContext } from './connect.js';
import type * as Reports from './reports.js';

// Each command loads what it needs when it runs: `start --web` must not pay for jsforce, the
// Pub/Sub client or the CLI's reports (memory: see README, Performance).
async function withForcehookDatabase<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return (await import('./connect.js')).withForcehookDatabase(fn);
}
const reports = (): Promise<typeof Reports> => import('./reports.js');

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
    boundHeapGrowth();
    // A signal while starting (the worker may already hold jobs) is kept and acted on once started,
    // so it still ends in an orderly stop; a second one exits at once.
    let signalled: string | undefined;
    const early = (signal: string) => (): void => {
      if (signalled) process.exit(1);
      signalled = signal;
      console.warn(`${signal}: stopping as soon as forcehook has started (${signal} again to exit now)`);
    };
    const onEarly = { SIGTERM: early('SIGTERM'), SIGINT: early('SIGINT') };
    process.on('SIGTERM', onEarly.SIGTERM);
    process.on('SIGINT', onEarly.SIGINT);
    const running = await startForcehook({ web: both || !!opts.web, worker: both || !!opts.worker, env: process.env });
    process.off('SIGTERM', onEarly.SIGTERM);
    process.off('SIGINT', onEarly.SIGINT);
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
    if (signalled) stop(signalled);
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
      const names = [...applied.core.map((m) => `${m.version} ${m.name}`), ...applied.user.map((m) => `${m.version} ${m.file}`)];
      console.log(names.length ? `applied: ${names.join(', ')}` : 'database is up to date');
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
    const { sendTestCallout } = await import('./send-test.js');
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
  .action(async (opts: { json?: boolean }) => withForcehookDatabase(async (ctx) => (await reports()).statusCommand(ctx, !!opts.json, print)));

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
    withForcehookDatabase(async (ctx) =>
      (await reports()).eventsCommand(
        ctx,
        {
          ...(opts.record ? { recordId: opts.record } : {}),
          ...(opts.flow ? { flow: opts.flow } : {}),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.since ? { since: parseSince(opts.since) } : {}),
          limit: parseLimit(opts.limit),
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
  .action(async (opts: { json?: boolean }) => withForcehookDatabase(async (ctx) => (await reports()).deadLetterList(ctx, !!opts.json, print)));
deadLetter
  .command('retry')
  .description('send dead letters back to their handler or to Salesforce')
  .argument('[id]', 'a dead letter id from `dead-letter list`')
  .option('--all', 'retry every dead letter')
  .action(async (id: string | undefined, opts: { all?: boolean }) => {
    await withForcehookDatabase(async (ctx) => (await reports()).deadLetterRetry(ctx, id, !!opts.all, print, progress));
  });
deadLetter
  .command('purge')
  .description('delete every dead letter')
  .action(async () => withForcehookDatabase(async (ctx) => (await reports()).deadLetterPurge(ctx, print)));

program
  .command('replay')
  .description('run a stored event through its handlers again')
  .argument('<deliveryId>', 'the delivery id (see `forcehook events`)')
  .action(async (deliveryId: string) => withForcehookDatabase(async (ctx) => (await reports()).replayCommand(ctx, deliveryId, print)));

program
  .command('reconcile')
  .description('pull the records of an sObject changed since the last run (or --since) through the handlers now')
  .argument('<sobject>', 'sObject API name, e.g. Contact')
  .option('--flow <flow>', 'the flow its events belong to (default: from RECONCILE)')
  .option('--since <time>', 'start here instead of the stored cursor, e.g. 2026-11-01T00:00Z or 2d')
  .action(async (sobject: string, opts: { flow?: string; since?: string }) =>
    withForcehookDatabase(async (ctx) =>
      (await import('./reconcile.js')).reconcileCommand(ctx, sobject, { ...(opts.flow ? { flow: opts.flow } : {}), ...(opts.since ? { since: parseSince(opts.since) } : {}) }, print, progress),
    ),
  );

program
  .command('push')
  .description('upsert local rows into Salesforce through a push mapping (mappings/)')
  .argument('<mapping>', 'the mapping name, e.g. app-users')
  .option('--ids <ids>', 'only these local ids, comma-separated')
  .action(async (mapping: string, opts: { ids?: string }) =>
    withForcehookDatabase(async (ctx) => (await import('./push.js')).pushCommand(ctx, mapping, opts.ids ? opts.ids.split(',').map((s) => s.trim()).filter(Boolean) : undefined, print, progress)),
  );

program
  .command('publish')
  .description('publish Platform Events now (sObject Collections create, 200 a call) and print each result')
  .argument('<eventType>', 'the Platform Event API name, e.g. Order_Approved__e')
  .requiredOption('--json <events>', 'field values as JSON: an object, an array of objects, or - to read them from stdin')
  .option('--output-json', 'print the results as JSON')
  .action(async (eventType: string, opts: { json: string; outputJson?: boolean }) => {
    const { parseEventsArgument, publishCommand } = await import('./publish.js');
    const events = parseEventsArgument(opts.json);
    const ok = await withForcehookDatabase((ctx) => publishCommand(ctx, eventType, events, !!opts.outputJson, print));
    if (!ok) process.exitCode = 1;
  });

program
  .command('secret')
  .description('signing secrets')
  .command('new')
  .description('print a fresh whsec_ secret for WEBHOOK_SECRETS and the org\'s Forcehook_Settings__c')
  .action(() => console.log(newWebhookSecret()));

/**
 * V8 grows its heap lazily: under load a web process that holds ~40 MB live went to 270-310 MB RSS.
 * Growing the old generation by at most 30% per major GC keeps it near what is live (about 140 MB
 * peak under the bench, throughput within the run-to-run noise) without a hard cap that a burst of
 * large messages could hit. This flag takes effect at run time; the young generation's size
 * (`--max-semi-space-size` in the Procfile and `npm start`) can only be set on the command line.
 * A `--heap-growing-percent` given to node (or in NODE_OPTIONS) wins.
 */
function boundHeapGrowth(): void {
  const given = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].some((a) => /--heap[-_]growing[-_]percent/.test(a));
  if (!given) setFlagsFromString('--heap-growing-percent=30');
}

/** `1h`, `30m`, `2d` ago, or an ISO time. */
function parseSince(text: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(text);
  const at = relative ? new Date(Date.now() - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']) : new Date(text);
  // Checked for both forms: 99999999999d is no date either.
  if (Number.isNaN(at.getTime())) throw new UsageError(`--since ${text}: use an ISO time (2026-11-24T10:00Z) or 30m, 1h, 2d`);
  return at;
}

/** A whole number of rows, from 1. */
function parseLimit(text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new UsageError(`--limit ${text}: use a whole number from 1`);
  return Number(text);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  // One line that names the problem; a stack only for the unexpected.
  if (err instanceof AppError || (err instanceof Error && !(err instanceof TypeError) && !(err instanceof ReferenceError))) console.error(`forcehook: ${err.message}`);
  else console.error('forcehook:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
