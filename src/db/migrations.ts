import { ConfigError } from '../errors.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/**
 * Versioned migrations of forcehook's own schema, applied in order by `forcehook migrate` (Heroku's
 * release phase) and at start-up. Each is one file in src/db/migrations, `NNNN_name.sql`: the number
 * is its version, the rest its name. Never edit a migration that has shipped: add the next one.
 * pg-boss owns and migrates its own schema.
 */
export interface Migration {
  version: number;
  name: string;
  /** The file's name as found on disk (`0001_app_users.sql`): what forcehook.user_migrations records. */
  file: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_-]+)\.sql$/;

/**
 * The migrations in a folder of `NNNN_name.sql` files, in version order. Read from the source tree
 * (relative to the package root), so `npm start` from a clean clone, Heroku's release phase and the
 * tests read the same files without a copy step.
 */
export function readMigrations(dir: string): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE.exec(file);
    if (!m) throw new ConfigError(`${join(dir, file)}: a migration file is named NNNN_name.sql (four digits, then lower-case letters, digits, _ and -)`);
    migrations.push({ version: Number(m[1]), name: m[2]!.replaceAll('_', ' '), file, sql: readFileSync(join(dir, file), 'utf8') });
  }
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) throw new ConfigError(`${dir}: two migrations have version ${migrations[i]!.version}`);
  }
  return migrations;
}

/** forcehook's own migrations, src/db/migrations/NNNN_name.sql. */
export function coreMigrations(): Migration[] {
  return readMigrations(join(packageRoot(), 'src', 'db', 'migrations'));
}
