import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { cloneDatabase, dropDatabase, smallPool, withDatabase } from '../db/admin.js';

export interface TestDatabase {
  url: string;
  /** A small pool for assertions on rows. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** A server URL whose user may CREATE DATABASE. @default FORCEHOOK_TEST_SERVER_URL */
  serverUrl?: string;
  /** A database with forcehook's migrations applied, to copy. @default FORCEHOOK_TEST_TEMPLATE */
  template?: string;
}

/**
 * A fresh database for one test file, cloned from the migrated template in milliseconds.
 * Set KEEP_TEST_DATABASES=1 to keep it after the run, for a look with psql.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? required('FORCEHOOK_TEST_SERVER_URL');
  const template = options.template ?? required('FORCEHOOK_TEST_TEMPLATE');
  const name = `fh_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await cloneDatabase(serverUrl, name, template);
  const url = withDatabase(serverUrl, name);
  const pool = smallPool(url);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      if (process.env['KEEP_TEST_DATABASES'] !== '1') await dropDatabase(serverUrl, name);
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\` (jest's global setup provides it), or pass it`);
  return value;
}
