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
import { createIngest, type Ingest } from './inbox/ingest.js';
import { ensureVerifyQueue, startVerifyWorker } from './inbox/verify-by-fetch.js';
import { ApiCallCounter } from './writeback/api-calls.js';
// Types only: the worker role loads the connection itself (the web role never loads jsforce).
import type { SalesforceConnector } from './writeback/connection.js';
import type { ReconcileDeps } from './ingress/reconcile.js';

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

type StepName = 'server' | 'streams' | 'boss' | 'bossPool' | 'flusher';

/**
 * Shutdown: the server drains while, at the same time, streams stop and pg-boss stops fetching
 * and lets handlers finish the jobs in hand (a client that keeps its connections busy must not
 * hold the queue past Heroku's 30 s). pg-boss keeps its pool open until the server is done, since
 * a request still in flight enqueues through it. Then a flush in progress settles and the database
 * closes. Steps that were never started are skipped; closing twice closes once.
 */
class ShutdownSteps {
  private readonly steps: Partial<Record<StepName, () => Promise<void>>> = {};

  constructor(
    private readonly log: Logger,
    private readonly last: readonly (() => Promise<void>)[],
  ) {}

  add(name: StepName, step: () => Promise<void>): void {
    this.steps[name] = step;
  }

  private closing: Promise<void> | undefined;

  /** Runs the steps once; a second call waits for the first instead of closing the pool again. */
  closeAll(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    const taken = { ...this.steps };
    for (const key of Object.keys(this.steps) as StepName[]) delete this.steps[key];
    const run = async (step: (() => Promise<void>) | undefined): Promise<void> => {
      if (step) await step().catch((err: unknown) => this.log.warn({ err: String(err) }, 'shutdown step failed'));
    };
    const queue = async (): Promise<void> => {
      await run(taken.streams);
      await run(taken.boss);
    };
    await Promise.all([run(taken.server), queue()]);
    for (const step of [taken.bossPool, taken.flusher, ...this.last]) await run(step);
  }
}

/** Configuration from the environment, with the Apex secrets resolved and the open-org warning said. */
function configure(options: StartOptions): { config: Config; log: Logger } {
  const loaded = loadConfig(options.env);
  if (options.web) assertOutboundTokens(loaded);
  const log = options.log ?? createLogger(loaded.logLevel);
  const config = { ...loaded, webhookSecrets: webhookSecretsFor(loaded, log) };
  if (config.allowedOrgPrefixes === null) {
    log.warn('SALESFORCE_ORG_IDS is not set: accepting Outbound Messages from ANY org (local embedded database only). Set it before exposing this server.');
  }
  return { config, log };
}

/** forcehook's migrations and the deployment's, then a warning when the pools could exhaust the server. */
async function migrateAndCheckConnections(pool: pg.Pool, settings: ConnectionSettings, user: ReturnType<typeof userMigrations>, log: Logger): Promise<void> {
  const applied = await migrate(pool, { user });
  if (applied.core.length + applied.user.length > 0) {
    // forcehook's by version, the deployment's by file (their versions are numbered apart and may repeat forcehook's).
    log.info({ migrations: applied.core.map((m) => m.version), userMigrations: applied.user.map((m) => m.file) }, 'database migrated');
  }
  const tooMany = connectionWarning(await readConnectionLimits(pool), settings.max, pool.totalCount);
  if (tooMany) log.warn(tooMany);
}

/** What the web and worker roles share, once the database and the queue are up. */
interface Core {
  config: Config;
  log: Logger;
  options: StartOptions;
  pool: pg.Pool;
  boss: PgBoss;
  handlers: readonly Handler[];
  ingest: Ingest;
  metrics: Metrics;
  apiCalls: ApiCallCounter;
  steps: ShutdownSteps;
  signal: AbortSignal;
}

/** pg-boss, the handlers' queues and the ingest that stores events and enqueues them. */
async function startQueue(
  config: Config,
  settings: ConnectionSettings,
  pool: pg.Pool,
  handlers: readonly Handler[],
  options: StartOptions,
  log: Logger,
  steps: ShutdownSteps,
): Promise<{ boss: PgBoss; ingest: Ingest }> {
  const boss = await startBoss({ connection: settings, log, supervise: options.worker, superviseIntervalSeconds: config.queueSuperviseSeconds });
  // Heroku kills 30 s after SIGTERM: 20 s for jobs in hand leaves room for the rest.
  steps.add('boss', () => boss.stop({ graceful: true, close: false, timeout: 20_000 }));
  steps.add('bossPool', () => boss.stop({ close: true }));
  await ensureHandlerQueues(boss, handlers);
  const registry = new HandlerRegistry(handlers);
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
  return { boss, ingest };
}

// A role loads only its own modules: the web process never loads jsforce, the Pub/Sub client or
// the worker; the worker never loads Express (memory: see README, Performance).

/** The web role: ingress routes, health, metrics, /admin and /odata/v4/ when configured. */
async function startWeb(core: Core): Promise<Listening> {
  const { config, log, pool, boss, handlers, ingest, metrics } = core;
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
      if (config.adminPassword) mountAdmin(a, { password: config.adminPassword, pool, boss, handlers });
    },
  });
  const server = await listen(app, config.port, { requestTimeoutMs: config.requestTimeoutMs });
  core.steps.add('server', () => server.close());
  log.info(`listening on port ${server.port}: POST /outbound/<flow>, POST /apex/<flow>, GET /readyz, /metrics${config.adminPassword ? ', /admin' : ' (set ADMIN_PASSWORD for /admin)'}${config.odata ? ', /odata/v4/' : ''}`);
  return server;
}

/** The worker role: write-back, verify-by-fetch, the handlers, reconciliation, streams, retention. */
async function startWorkerRole(core: Core): Promise<void> {
  const { config, log, pool, boss, handlers, metrics, apiCalls, options } = core;
  const [{ startWorkers }, { scheduleRetention }] = await Promise.all([import('./work/worker.js'), import('./ops/retention-schedule.js')]);
  const salesforce = config.salesforce ? new (await import('./writeback/connection.js')).SalesforceConnector(config.salesforce, apiCalls, log) : null;
  if (salesforce && config.salesforce) {
    const { WriteFlusher } = await import('./writeback/writer.js');
    const flusher = new WriteFlusher({ db: pool, connection: () => salesforce.connection(), counter: apiCalls, log, windowMs: config.salesforce.writeWindowMs, ...options.flusher });
    flusher.start();
    core.steps.add('flusher', () => flusher.stop());
  } else {
    log.info('no Salesforce credentials (SALESFORCE_*): handlers run without write-back');
  }
  // Config refuses OUTBOUND_VERIFY_BY_FETCH without Salesforce credentials.
  if (salesforce && config.outboundVerifyByFetch.length > 0) await startVerifyWorker({ boss, pool, router: new HandlerRegistry(handlers), salesforce, log });
  await startWorkers(handlers, {
    boss,
    db: pool,
    log,
    signal: core.signal,
    salesforce,
    metrics,
    superviseSeconds: config.queueSuperviseSeconds,
  });
  if (config.reconcile.targets.length > 0) {
    if (salesforce) {
      const { scheduleReconciliation } = await import('./ingress/reconcile-schedule.js');
      await scheduleReconciliation(boss, config.reconcile, reconcileDeps(core, salesforce), log);
    } else {
      log.warn('RECONCILE is set but there are no Salesforce credentials (SALESFORCE_*): nothing to reconcile with');
    }
  }
  if (config.streamChannels.length > 0) {
    if (salesforce) await startStreams(core, salesforce);
    else log.warn('STREAM_CHANNELS is set but there are no Salesforce credentials (SALESFORCE_*): not subscribing');
  }
  await scheduleRetention(boss, { db: pool, inboxDays: config.inboxRetentionDays, log });
  log.info({ handlers: handlers.map((h) => h.name) }, 'worker started');
}

/** What reading records back from the org needs (reconciliation, and the streams that reconcile). */
function reconcileDeps(core: Core, salesforce: SalesforceConnector): ReconcileDeps {
  return { db: core.pool, connection: () => salesforce.connection(), orgId: () => salesforce.orgId(), ingest: core.ingest };
}

/** Change Data Capture / Platform Event subscriptions, over Pub/Sub (gRPC) or CometD. */
async function startStreams(core: Core, salesforce: SalesforceConnector): Promise<void> {
  const { config, log } = core;
  const { reconcile } = await import('./ingress/reconcile.js');
  const readBack = reconcileDeps(core, salesforce);
  const streamDeps = {
    ...readBack,
    log,
    // What the stream lost is read again, into the channel's flow.
    reconcile: async (sobjectType: string, flow: string) => void (await reconcile(readBack, { sobjectType, flow })),
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
  core.steps.add('streams', () => streams.stop());
}

/** The composition root: configuration -> database -> queue -> web and/or worker. */
export async function startForcehook(options: StartOptions): Promise<Running> {
  const { config, log } = configure(options);
  // User code first: a handler that does not load, or a clash of names, fails before the database is touched.
  const handlers = options.handlers ?? (await loadHandlers(options.env));
  const user = userMigrations(options.env);
  const { settings, embedded } = await openDatabase(config, log);
  const pool = createPool(settings, log);
  const apiCalls = new ApiCallCounter();
  const steps = new ShutdownSteps(log, [() => apiCalls.flush(pool), async () => pool.end(), async () => embedded?.stop()]);
  try {
    await migrateAndCheckConnections(pool, settings, user, log);
    const { boss, ingest } = await startQueue(config, settings, pool, handlers, options, log, steps);
    const metrics = new Metrics();
    metrics.observe(pool, handlers, apiCalls);
    const shutdown = new AbortController();
    const core: Core = { config, log, options, pool, boss, handlers, ingest, metrics, apiCalls, steps, signal: shutdown.signal };
    const server = options.web ? await startWeb(core) : undefined;
    if (options.worker) await startWorkerRole(core);
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
        await steps.closeAll();
        clearTimeout(hurry);
        shutdown.abort();
      },
    };
  } catch (err) {
    await steps.closeAll();
    throw err;
  }
}
