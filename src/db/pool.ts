import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../log.js';

export type Queryable = Pick<pg.Pool, 'query'>;

export interface ConnectionSettings {
  connectionString: string;
  /** TLS options for node-postgres, or false. */
  ssl: pg.PoolConfig['ssl'];
  max: number;
}

export type DatabaseSsl = 'auto' | 'off' | 'require' | 'verify';

/**
 * Heroku Postgres requires TLS with a certificate node-postgres cannot verify against the system
 * store, so `auto` means TLS without verification for any non-local host and plain TCP locally.
 */
export function sslFor(url: string, mode: DatabaseSsl): pg.PoolConfig['ssl'] {
  if (mode === 'off') return false;
  if (mode === 'verify') return { rejectUnauthorized: true };
  if (mode === 'require') return { rejectUnauthorized: false };
  const host = new URL(url).hostname;
  const local = host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]' || host === '';
  return local ? false : { rejectUnauthorized: false };
}

/**
 * A pool that survives a database restart: an idle client's connection error is logged instead of
 * crashing the process (node-postgres emits it on the pool), and the next query reconnects.
 */
export function createPool(settings: ConnectionSettings, log: Logger): pg.Pool {
  const url = new URL(settings.connectionString);
  // sslmode in the URL would override our ssl object inside node-postgres; we decide TLS ourselves.
  url.searchParams.delete('sslmode');
  const pool = new pg.Pool({
    connectionString: url.toString(),
    ssl: settings.ssl,
    max: settings.max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'forcehook',
  });
  pool.on('error', (err) => log.warn({ err: { message: err.message } }, 'idle database connection lost; it will be replaced'));
  return pool;
}

/** Runs `fn` in a transaction on one client; a client whose connection broke is discarded, not reused. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client emits 'error' on itself when its connection dies; without a listener the
  // process would exit. The failed query rejects anyway, so the listener only has to exist.
  const onError = (): void => {};
  client.on('error', onError);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    // Passing the error makes the pool destroy the client: it may be in an unknown state.
    client.release(broken);
  }
}

/** One round trip: whether the database answers (for /readyz). */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

const statementNames = new Map<string, string>();

/**
 * The statement as a named (prepared) one: each connection parses and plans it once, and after a
 * few runs PostgreSQL keeps a generic plan. Planning pg-boss's job insert cost more server time
 * than running it (about 200 µs of 330 per call). Only for statements with parameters: those are
 * single statements, while a text without them may hold several.
 */
export function prepared(text: string, values: readonly unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `fh_${createHash('sha1').update(text).digest('hex')}`;
    // The texts are a fixed set (ours and pg-boss's per queue table); the cap only guards a mistake.
    if (statementNames.size < 1_000) statementNames.set(text, name);
  }
  return { name, text, values: [...values] };
}

/** A pg-boss `db` adapter that runs its statements on `client` (inside the caller's transaction), prepared. */
export function bossStatements(client: pg.PoolClient): { executeSql: (text: string, values?: unknown[]) => Promise<pg.QueryResult> } {
  return { executeSql: (text, values) => (values && values.length > 0 ? client.query(prepared(text, values)) : client.query(text)) };
}
