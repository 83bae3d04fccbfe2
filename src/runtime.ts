import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { assertOutboundTokens, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { connectionWarning, readConnectionLimits } from './db/connection-budget.js';
import { migrate } from './db/migrate.js';
import { createPool, pingDatabase, sslFor, type ConnectionSettings } from './db/pool.js';
import type { Handler } from './work/define-handler.js';
import { HandlerRegistry } from './work/registry.js';
import type { Listening } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { localWebhookSecret } from './verification/local-secret.js';
import { loadHandlers, userMigrations } from './user-code.js';
import { ensureHandlerQueues, startBoss } from './inbox/boss.js';
import { createIngest } from './inbox/ingest.js';
import { ensureVerifyQueue, startVerifyWorker } from './inbox/verify-by-fetch.js';
import { ApiCallCounter } from './writeback/api-calls.js';

export interface StartOptions {
  web: boolean;
  worker: boolean;
  env: Record<string, string | undefined>;
  log?: Logger;
  handlers?: readonly Handler[];
  /** Tests shorten the Salesforce write retries. */
  flusher?: { retryBaseSeconds?: number; maxAttempts?: number; limitBackoffSeconds?: number };
}

export interface Running {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  boss: PgBoss;
  /** The bound HTTP port, when the web role runs. */
  port: number | undefined;
  /** REST calls to Salesforce made by this process. */
  apiCalls: ApiCallCounter;
  /** Stop accepting, finish in-flight requests and jobs, close the database. */
  stop(): Promise<void>;
}

/** Opens the configured database, or starts the embedded one, and says in one line which it is. */
export async function openDatabase(config: Config, log: Logger): Promise<{ settings: ConnectionSettings; embedded?: EmbeddedPostgres }> {
  if ('url' in config.database) {
    const { url, ssl, poolMax } = config.database;
    const u = new URL(url);
    log.info(`database: ${u.hostname}:${u.port || 5432}${u.pathname} from DATABASE_URL (TLS ${ssl === 'off' ? 'off' : ssl})`);
    return { settings: { connectionString: url, ssl: sslFor(url, ssl), max: poolMax } };
  }
  const embedded = await startEmbeddedPostgres({ dir: config.database.embedded.dataDir, log });
  log.info(`database: embedded PostgreSQL in ${embedded.dataDir} (DATABASE_URL is not set)`);
  return { settings: { connectionString: embedded.url, ssl: false, max: config.database.poolMax }, embedded };
}

/** WEBHOOK_SECRETS, or on the local embedded database a generated secret kept in its data folder. */
function webhookSecretsFor(config: Config, log: Logger): readonly string[] {
  if (config.webhookSecrets.length > 0) return config.webhookSecrets;
  if ('embedded' in config.database) {
    const dir = config.database.embedded.dataDir;
    log.info(`WEBHOOK_SECRETS is not set: Apex callouts are verified with the local secret in ${dir}/webhook-secret`);
    return [localWebhookSecret(dir)];
  }
  log.warn('WEBHOOK_SECRETS is not set: POST /apex/<flow> refuses every callout until it is (make one with `forcehook secret new`).');
  return [];
}

/** The composition root: configuration -> database -> queue -> web and/or worker. */
export async function startForcehook(options: StartOptions): Promise<Running> {
  const loaded = loadConfig(options.env);
  if (options.web) assertOutboundTokens(loaded);
  const log = options.log ?? createLogger(loaded.logLevel);
  const config = { ...loaded, webhookSecrets: webhookSecretsFor(loaded, log) };
  if (config.allowedOrgPrefixes === null) {
    log.warn('SALESFORCE_ORG_IDS is not set: accepting Outbound Messages from ANY org (local embedded database only). Set it before exposing this server.');
  }
  const { settings, embedded } = await openDatabase(config, log);
  const pool = createPool(settings, log);
  const apiCalls = new ApiCallCounter();
  // Shutdown: the server drains while, at the same time, streams stop and pg-boss stops fetching
  // and lets handlers finish the jobs in hand (a client that keeps its connections busy must not
  // hold the queue past Heroku's 30 s). pg-boss keeps its pool open until the server is done, since
  // a request still in flight enqueues through it. Then a flush in progress settles and the database
  // closes. Steps that were never started are skipped.
  const steps: Partial<Record<'server' | 'streams' | 'boss' | 'bossPool' | 'flusher', () => Promise<void>>> = {};
  const closeAll = async (): Promise<void> => {
    const taken = { ...steps };
    for (const key of Object.keys(steps) as (keyof typeof steps)[]) delete steps[key];
    const run = async (step: (() => Promise<void>) | undefined): Promise<void> => {
      if (step) await step().catch((err: unknown) => log.warn({ err: String(err) }, 'shutdown step failed'));
    };
    const queue = async (): Promise<void> => {
      await run(taken.streams);
      await run(taken.boss);
    };
    await Promise.all([run(taken.server), queue()]);
    const ordered = [taken.bossPool, taken.flusher, () => apiCalls.flush(pool), async () => pool.end(), async () => embedded?.stop()];
    for (const step of ordered) await run(step);
  };
  try {
    const applied = await migrate(pool, { user: userMigrations(options.env) });
    if (applied.length > 0) log.info({ migrations: applied.map((m) => m.version) }, 'database migrated');
    const tooMany = connectionWarning(await readConnectionLimits(pool), settings.max, pool.totalCount);
    if (tooMany) log.warn(tooMany);
    const boss = await startBoss({ connection: settings, log, supervise: options.worker, superviseIntervalSeconds: config.queueSuperviseSeconds });
    // Heroku kills 30 s after SIGTERM: 20 s for jobs in hand leaves room for the rest.
    steps.boss = () => boss.stop({ graceful: true, close: false, timeout: 20_000 });
    steps.bossPool = () => boss.stop({ close: true });
    const handlerList = options.handlers ?? (await loadHandlers(options.env));
    await ensureHandlerQueues(boss, handlerList);
    const registry = new HandlerRegistry(handlerList);
    // Half the pool for ingest transactions; the rest serves /readyz, the admin page and handlers.
    const verifyFlows = config.outboundVerifyByFetch;
    if (verifyFlows.length > 0) await ensureVerifyQueue(boss);
    const ingest = createIngest({
      pool,
      boss,
      registry,
      maxConcurrent: Math.max(2, Math.floor(settings.max / 2)),
      verifyByFetch: (e) => e.source === 'outbound' && (verifyFlows === '*' || verifyFlows.includes(e.flow)),
    });
    const metrics = new Metrics();
    metrics.observe(pool, handlerList, apiCalls);
    const shutdown = new AbortController();

    // A role loads only its own modules: the web process never loads jsforce, the Pub/Sub client or
    // the worker; the worker never loads Express (memory: see README, Performance).
    let server: Listening | undefined;
    if (options.web) {
      const [{ createApp }, { mountAdmin }, { listen }] = await Promise.all([import('./http/app.js'), import('./http/routes/admin.js'), import('./http/server.js')]);
      const app = createApp({
        config,
        log,
        ingest,
        checkDatabase: () => pingDatabase(pool),
        metrics,
        metricsPassword: config.adminPassword,
        odata: config.odata ? { service: await (await import('./odata/open.js')).openODataService(config.odata, pool), auth: config.odata } : undefined,
        extraRoutes: (a) => {
          if (config.adminPassword) mountAdmin(a, { password: config.adminPassword, pool, boss, handlers: handlerList });
        },
      });
      server = await listen(app, config.port, { requestTimeoutMs: config.requestTimeoutMs });
      steps.server = () => server!.close();
      log.info(`listening on port ${server.port}: POST /outbound/<flow>, POST /apex/<flow>, GET /readyz, /metrics${config.adminPassword ? ', /admin' : ' (set ADMIN_PASSWORD for /admin)'}${config.odata ? ', /odata/v4/' : ''}`);
    }
    if (options.worker) {
      const [{ startWorkers }, { scheduleRetention }] = await Promise.all([import('./work/worker.js'), import('./ops/retention-schedule.js')]);
      const salesforce = config.salesforce ? new (await import('./writeback/connection.js')).SalesforceConnector(config.salesforce, apiCalls, log) : null;
      if (salesforce && config.salesforce) {
        const { WriteFlusher } = await import('./writeback/writer.js');
        const flusher = new WriteFlusher({ db: pool, connection: () => salesforce.connection(), counter: apiCalls, log, windowMs: config.salesforce.writeWindowMs, ...options.flusher });
        flusher.start();
        steps.flusher = () => flusher.stop();
      } else {
        log.info('no Salesforce credentials (SALESFORCE_*): handlers run without write-back');
      }
      // Config refuses OUTBOUND_VERIFY_BY_FETCH without Salesforce credentials.
      if (salesforce && verifyFlows.length > 0) await startVerifyWorker({ boss, pool, salesforce, log });
      await startWorkers(handlerList, {
        boss,
        db: pool,
        log,
        signal: shutdown.signal,
        salesforce,
        metrics,
        superviseSeconds: config.queueSuperviseSeconds,
      });
      if (config.reconcile.targets.length > 0) {
        if (salesforce) {
          const { scheduleReconciliation } = await import('./ingress/reconcile-schedule.js');
          await scheduleReconciliation(boss, config.reconcile, { db: pool, connection: () => salesforce.connection(), orgId: () => salesforce.orgId(), ingest }, log);
        } else {
          log.warn('RECONCILE is set but there are no Salesforce credentials (SALESFORCE_*): nothing to reconcile with');
        }
      }
      if (config.streamChannels.length > 0) {
        if (salesforce) {
          const { reconcile } = await import('./ingress/reconcile.js');
          const streamDeps = {
            db: pool,
            connection: () => salesforce.connection(),
            orgId: () => salesforce.orgId(),
            ingest,
            log,
            // What the stream lost is read again, into the channel's flow.
            reconcile: async (sobjectType: string, flow: string) =>
              void (await reconcile({ db: pool, connection: () => salesforce.connection(), orgId: () => salesforce.orgId(), ingest }, { sobjectType, flow })),
          };
          let streams: { start(): Promise<void>; stop(): Promise<void> };
          if (config.streamTransport === 'pubsub') {
            const { connectorCredentials, PubSubSubscriber } = await import('./ingress/pubsub-subscriber.js');
            streams = new PubSubSubscriber({ ...streamDeps, credentials: connectorCredentials(salesforce) }, config.streamChannels, config.pubsub);
          } else {
            const { StreamSubscriber } = await import('./ingress/streaming.js');
            streams = new StreamSubscriber(streamDeps, config.streamChannels);
          }
          await streams.start();
          steps.streams = () => streams.stop();
        } else {
          log.warn('STREAM_CHANNELS is set but there are no Salesforce credentials (SALESFORCE_*): not subscribing');
        }
      }
      await scheduleRetention(boss, { db: pool, inboxDays: config.inboxRetentionDays, log });
      log.info({ handlers: handlerList.map((h) => h.name) }, 'worker started');
    }
    return {
      config,
      log,
      pool,
      boss,
      port: server?.port,
      apiCalls,
      stop: async () => {
        // Handlers get 15 s to finish on their own, then their signal asks them to stop.
        const hurry = setTimeout(() => shutdown.abort(), 15_000);
        await closeAll();
        clearTimeout(hurry);
        shutdown.abort();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
