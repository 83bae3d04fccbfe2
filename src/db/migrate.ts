import type pg from 'pg';
import { withTransaction } from './pool.js';
import { coreMigrations, type Migration } from './migrations.js';

// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 4_735_001;

/**
 * Applies the migrations not yet applied, all in one transaction (all or none), under an advisory
 * lock so that several dynos releasing at once apply each migration exactly once. Returns what it applied.
 */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[] = coreMigrations()): Promise<Migration[]> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS forcehook');
    await client.query(`CREATE TABLE IF NOT EXISTS forcehook.migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM forcehook.migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: Migration[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO forcehook.migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m);
    }
    return applied;
  });
}
