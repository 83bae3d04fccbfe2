import type pg from 'pg';
import { withTransaction } from './pool.js';
import { coreMigrations, type Migration } from './migrations.js';

// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 4_735_001;

export interface MigrateOptions {
  /** forcehook's own migrations. @default the files of src/db/migrations */
  core?: readonly Migration[];
  /** The deployment's own, applied after forcehook's and recorded apart, in forcehook.user_migrations. */
  user?: readonly Migration[];
}

/** What one run applied: forcehook's own migrations, and the deployment's (known by their file). */
export interface Applied {
  core: Migration[];
  user: Migration[];
}

/**
 * Applies the migrations not yet applied — forcehook's, then the deployment's own — all in one
 * transaction (all or none), under an advisory lock so that several dynos releasing at once apply
 * each migration exactly once. Returns what it applied, forcehook's and the deployment's apart.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<Applied> {
  const core = options.core ?? coreMigrations();
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS forcehook');
    await client.query(`CREATE TABLE IF NOT EXISTS forcehook.migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM forcehook.migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: Applied = { core: [], user: [] };
    for (const m of [...core].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO forcehook.migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.core.push(m);
    }
    if (!options.user || options.user.length === 0) return applied;
    // Apart from forcehook's versions, so your numbering never collides with a forcehook upgrade;
    // known by the file's name as found on disk.
    await client.query(`CREATE TABLE IF NOT EXISTS forcehook.user_migrations (
      file text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows: userRows } = await client.query<{ file: string }>('SELECT file FROM forcehook.user_migrations');
    const userDone = new Set(userRows.map((r) => r.file));
    for (const m of options.user) {
      if (userDone.has(m.file)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO forcehook.user_migrations (file) VALUES ($1)', [m.file]);
      applied.user.push(m);
    }
    return applied;
  });
}
