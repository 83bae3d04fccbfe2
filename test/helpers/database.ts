import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { adminQuery, withDatabase } from '../../src/db/admin.js';

export interface TestDatabase {
  url: string;
  /** A small pool for assertions on rows. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, cloned from the migrated template in milliseconds.
 * Set KEEP_TEST_DATABASES=1 to keep it after the run, for a look with psql.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = required('FORCEHOOK_TEST_SERVER_URL');
  const template = required('FORCEHOOK_TEST_TEMPLATE');
  const name = `fh_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = withDatabase(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on('error', () => undefined);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      if (process.env['KEEP_TEST_DATABASES'] !== '1') await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\` (jest's global setup provides it)`);
  return value;
}
