import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { coreMigrations } from '../../src/db/migrations.js';
import { userMigrations } from '../../src/user-code.js';
import { ConfigError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/** An empty database (not the migrated template), dropped at the end. */
const emptyDatabase = (): Promise<TestDatabase> => createTestDatabase({ template: 'template1' });

const tableExists = async (pool: pg.Pool, table: string): Promise<boolean> =>
  (await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table])).rows[0]?.t !== null;

describe('migrations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forcehook-migrations-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the core migrations are the SQL files of src/db/migrations, versions 1.. without a gap', () => {
    const versions = coreMigrations().map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(versions.length).toBeGreaterThanOrEqual(10);
  });

  test('a fresh database gets no example table from the core; the example brings its own, recorded apart', async () => {
    const db = await emptyDatabase();
    try {
      await migrate(db.pool);
      expect(await tableExists(db.pool, 'forcehook.inbox')).toBe(true);
      expect(await tableExists(db.pool, 'forcehook.app_users')).toBe(false);
      const applied = await migrate(db.pool, { user: userMigrations({ FORCEHOOK_EXAMPLES: 'contact-match' }) });
      expect(applied.user.map((m) => m.file)).toEqual(['0001_app_users.sql']);
      expect(await tableExists(db.pool, 'forcehook.app_users')).toBe(true);
      expect((await db.pool.query('SELECT file FROM forcehook.user_migrations')).rows).toEqual([{ file: '0001_app_users.sql' }]);
      // Applied once: a second run does nothing.
      expect(await migrate(db.pool, { user: userMigrations({ FORCEHOOK_EXAMPLES: 'contact-match' }) })).toEqual({ core: [], user: [] });
    } finally {
      await db.drop();
    }
  });

  test('a deployment whose core migration 2 made app_users keeps the table and its rows', async () => {
    const db = await emptyDatabase();
    try {
      await migrate(db.pool);
      // What migration 2 used to create, with a user in it.
      await db.pool.query(`CREATE TABLE forcehook.app_users (id text PRIMARY KEY DEFAULT gen_random_uuid()::text, email text NOT NULL, name text,
        salesforce_contact_id text, updated_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX app_users_email_idx ON forcehook.app_users (lower(email));
        INSERT INTO forcehook.app_users (id, email) VALUES ('u1', 'ada@example.com')`);
      await migrate(db.pool, { user: userMigrations({ FORCEHOOK_EXAMPLES: 'contact-match' }) });
      expect((await db.pool.query('SELECT id, email FROM forcehook.app_users')).rows).toEqual([{ id: 'u1', email: 'ada@example.com' }]);
    } finally {
      await db.drop();
    }
  });

  test('your migrations/ folder: applied in order after the core, in the same transaction', async () => {
    const mine = join(dir, 'migrations');
    mkdirSync(mine);
    writeFileSync(join(mine, '0002_invoice_status.sql'), 'ALTER TABLE invoices ADD COLUMN status text;');
    writeFileSync(join(mine, '0001_invoices.sql'), 'CREATE TABLE invoices (id text PRIMARY KEY);');
    const db = await emptyDatabase();
    try {
      const applied = await migrate(db.pool, { user: userMigrations({ FORCEHOOK_MIGRATIONS_DIR: mine }) });
      expect(applied.user.map((m) => m.file)).toEqual(['0001_invoices.sql', '0002_invoice_status.sql']);
      expect((await db.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'invoices' ORDER BY 1")).rows).toEqual([
        { column_name: 'id' },
        { column_name: 'status' },
      ]);
      // A broken one rolls the whole run back, its predecessor in the same run included.
      writeFileSync(join(mine, '0003_good.sql'), 'CREATE TABLE good (id int);');
      writeFileSync(join(mine, '0004_bad.sql'), 'CREATE TABLE nonsense (;');
      await expect(migrate(db.pool, { user: userMigrations({ FORCEHOOK_MIGRATIONS_DIR: mine }) })).rejects.toThrow();
      expect(await tableExists(db.pool, 'public.good')).toBe(false);
    } finally {
      await db.drop();
    }
  });

  test('a badly named file or an unknown example is a ConfigError', () => {
    const odd = join(dir, 'odd');
    mkdirSync(odd);
    writeFileSync(join(odd, 'invoices.sql'), 'SELECT 1;');
    expect(() => userMigrations({ FORCEHOOK_MIGRATIONS_DIR: odd })).toThrow(ConfigError);
    expect(() => userMigrations({ FORCEHOOK_EXAMPLES: 'no-such-example' })).toThrow(/no example "no-such-example".*contact-match/);
    expect(() => userMigrations({ FORCEHOOK_MIGRATIONS_DIR: join(dir, 'absent') })).toThrow(ConfigError);
  });
});
