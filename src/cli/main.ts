#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { createLogger } from '../log.js';
import { openDatabase, startForcehook } from '../runtime.js';
import { newWebhookSecret } from '../verification/local-secret.js';
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
      const applied = await migrate(pool);
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

program
  .command('secret')
  .description('signing secrets')
  .command('new')
  .description('print a fresh whsec_ secret for WEBHOOK_SECRETS and the org\'s Forcehook_Settings__c')
  .action(() => console.log(newWebhookSecret()));

program.parseAsync(process.argv).catch((err: unknown) => {
  // One line that names the problem; a stack only for the unexpected.
  if (err instanceof AppError) console.error(`forcehook: ${err.message}`);
  else console.error('forcehook:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
