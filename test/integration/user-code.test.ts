import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../src/db/migrate.js';
import { loadHandlers, loadPushMappings, userMigrations } from '../../src/user-code.js';
import { runCli } from '../helpers/cli-process.js';
import { createTestDatabase } from '../helpers/database.js';
import { OUTBOUND_TOKEN, ORG_15 } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const SLOW = 90_000;

/** A JSON log line, or undefined for any other output. */
function logLine(line: string): { msg?: string; migrations?: unknown; userMigrations?: unknown } | undefined {
  try {
    return JSON.parse(line) as { msg?: string };
  } catch {
    return undefined;
  }
}

/** What the user code loader does beside loading handlers (user-handlers.test.ts): migrations, and what it refuses. */
describe('user migrations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forcehook-user-code-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('an example named in FORCEHOOK_EXAMPLES and also copied into migrations/ is applied once', async () => {
    const mine = join(dir, 'copied-example');
    mkdirSync(mine);
    copyFileSync(join('examples', 'contact-match', 'migrations', '0001_app_users.sql'), join(mine, '0001_app_users.sql'));
    const env = { FORCEHOOK_MIGRATIONS_DIR: mine, FORCEHOOK_EXAMPLES: 'contact-match' };
    const db = await createTestDatabase();
    try {
      // The loader reads it once (from migrations/, the first folder that has it)...
      expect(userMigrations(env).map((m) => m.file)).toEqual(['0001_app_users.sql']);
      // ...so one run applies and records it once (twice would break the primary key of user_migrations)...
      const applied = await migrate(db.pool, { user: userMigrations(env) });
      expect(applied.user.map((m) => m.file)).toEqual(['0001_app_users.sql']);
      expect((await db.pool.query('SELECT file FROM forcehook.user_migrations')).rows).toEqual([{ file: '0001_app_users.sql' }]);
      // ...and it is applied from then on, whichever folder still has it.
      expect(await migrate(db.pool, { user: userMigrations(env) })).toEqual({ core: [], user: [] });
      expect(await migrate(db.pool, { user: userMigrations({ FORCEHOOK_EXAMPLES: 'contact-match' }) })).toEqual({ core: [], user: [] });
    } finally {
      await db.drop();
    }
  });

  test(
    'the start-up log names the user migrations it applied by file: two version 1s stay apart',
    async () => {
      const mine = join(dir, 'log-migrations');
      mkdirSync(mine);
      writeFileSync(join(mine, '0001_invoices.sql'), 'CREATE TABLE invoices (id text PRIMARY KEY);');
      const db = await createTestDatabase();
      try {
        const cli = runCli(['start'], {
          DATABASE_URL: db.url,
          DATABASE_SSL: 'off',
          PORT: '0',
          SALESFORCE_ORG_IDS: ORG_15,
          OUTBOUND_TOKEN,
          LOG_LEVEL: 'info',
          FORCEHOOK_MIGRATIONS_DIR: mine,
          FORCEHOOK_EXAMPLES: 'contact-match',
        });
        await cli.port;
        const line = await waitFor('the start-up log line of the migrations', async () => cli.output.map(logLine).find((l) => l?.msg === 'database migrated'));
        // The test database is a copy of a migrated template: none of forcehook's is left to apply.
        expect({ migrations: line.migrations, userMigrations: line.userMigrations }).toEqual({ migrations: [], userMigrations: ['0001_invoices.sql', '0001_app_users.sql'] });
        cli.child.kill('SIGTERM');
        expect((await cli.exited).code).toBe(0);
      } finally {
        await db.drop();
      }
    },
    SLOW,
  );
});

describe('user code folders', () => {
  test('a folder named by a FORCEHOOK_*_DIR variable must exist: a typo must not load nothing silently', async () => {
    const absent = join(tmpdir(), `forcehook-absent-${process.pid}`);
    const refused = (variable: string) => ({ code: 'CONFIG_INVALID', message: `${variable}: ${absent} does not exist` });
    await expect(loadHandlers({ FORCEHOOK_HANDLERS_DIR: absent })).rejects.toMatchObject(refused('FORCEHOOK_HANDLERS_DIR'));
    await expect(loadPushMappings({ FORCEHOOK_MAPPINGS_DIR: absent })).rejects.toMatchObject(refused('FORCEHOOK_MAPPINGS_DIR'));
    expect(() => userMigrations({ FORCEHOOK_MIGRATIONS_DIR: absent })).toThrow(expect.objectContaining(refused('FORCEHOOK_MIGRATIONS_DIR')));
  });
});
