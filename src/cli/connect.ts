import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { loadConfig, type Config } from '../config.js';
import { runningEmbeddedUrl } from '../db/embedded.js';
import { createPool, type ConnectionSettings } from '../db/pool.js';
import type { Handler } from '../work/define-handler.js';
import { createLogger } from '../log.js';
import { startBoss } from '../inbox/boss.js';
import { openDatabase } from '../runtime.js';
import { loadHandlers } from '../user-code.js';

export interface CliContext {
  config: Config;
  pool: pg.Pool;
  boss: PgBoss;
  handlers: Handler[];
}

/**
 * Runs a CLI command against forcehook's database: DATABASE_URL, or the embedded server of a
 * forcehook running from this folder, or (none running) the embedded one started for the command.
 */
export async function withForcehookDatabase<T>(fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  // Logs go to stderr at warn: stdout is for the command's output (and --json).
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const running = 'embedded' in config.database ? runningEmbeddedUrl(config.database.embedded.dataDir) : undefined;
  let settings: ConnectionSettings;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (running) {
    settings = { connectionString: running, ssl: false, max: 3 };
  } else {
    const opened = await openDatabase(config, log);
    settings = { ...opened.settings, max: 3 };
    stopEmbedded = opened.embedded ? () => opened.embedded!.stop() : undefined;
  }
  const pool = createPool(settings, log);
  const boss = await startBoss({ connection: settings, log, supervise: false });
  try {
    return await fn({ config, pool, boss, handlers: await loadHandlers(process.env) });
  } finally {
    await boss.stop({ graceful: false, close: true });
    await pool.end();
    await stopEmbedded?.();
  }
}
