import type pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { userMigrations } from '../../src/user-code.js';

/**
 * Creates an example's own tables (examples/<name>/migrations) in a test database, as
 * `FORCEHOOK_EXAMPLES=<name> forcehook migrate` would: forcehook's core no longer does.
 */
export async function installExample(pool: pg.Pool, name: string): Promise<void> {
  await migrate(pool, { user: userMigrations({ FORCEHOOK_EXAMPLES: name }) });
}
