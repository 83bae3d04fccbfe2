import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { migrate } from '../../src/db/migrate.js';
import { loadHandlers, loadPushMappings, userMigrations } from '../../src/user-code.js';
import { runCli } from '../helpers/cli-process.js';
import { createTestDatabase } from '../helpers/database.js';
import { serviceEnv } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

// The user code loader (src/user-code.ts) beyond a handler dropped in and run (user-handlers.test.ts):
// user migrations, the rule for folders, and the refusal of handlers that were not compiled.

const SLOW = 90_000;

/** A JSON log line, or undefined for any other output. */
function logLine(line: string): { msg?: string; migrations?: unknown; userMigrations?: unknown } | undefined {
  try {
    return JSON.parse(line) as { msg?: string };
  } catch {
    return undefined;
  }
}

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
      const cli = runCli(['start'], serviceEnv(db, { FORCEHOOK_MIGRATIONS_DIR: mine, FORCEHOOK_EXAMPLES: 'contact-match' }));
      try {
        await cli.port;
        const line = await waitFor('the start-up log line of the migrations', async () => cli.output.map(logLine).find((l) => l?.msg === 'database migrated'));
        // The test database is a copy of a migrated template: none of forcehook's is left to apply.
        expect({ migrations: line.migrations, userMigrations: line.userMigrations }).toEqual({ migrations: [], userMigrations: ['0001_invoices.sql', '0001_app_users.sql'] });
      } finally {
        // Stopped whether the checks passed or not: a process left running keeps the test worker alive.
        cli.child.kill('SIGTERM');
        const { code } = await cli.exited;
        await db.drop();
        expect(code).toBe(0);
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

/**
 * The built package copied to a folder of its own (package.json, dist/src, node_modules linked):
 * its package root is that folder, so its handlers/ and dist/handlers can be written without
 * touching this checkout's, which the processes of other test files read at the same time.
 */
function packageCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'forcehook-package-'));
  copyFileSync('package.json', join(root, 'package.json'));
  cpSync(join('dist', 'src'), join(root, 'dist', 'src'), { recursive: true });
  symlinkSync(resolve('node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}

/** The names of the handlers loaded, or the error the loader threw. */
type Loaded = { handlers: string[] } | { error: { name: string; code: string; message: string } };

/** loadHandlers of the copy at `root`, with no variables set (the default folders), run in a process of its own. */
async function loadHandlersOf(root: string): Promise<Loaded> {
  const script = `
    const { loadHandlers } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'user-code.js')).href)});
    try {
      console.log(JSON.stringify({ handlers: (await loadHandlers({})).map((h) => h.name) }));
    } catch (err) {
      console.log(JSON.stringify({ error: { name: err.constructor.name, code: err.code, message: err.message } }));
    }`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env['PATH'] ?? '' }, timeout: 30_000 });
  return JSON.parse(stdout) as Loaded;
}

const HANDLER = (name: string): string => `import { defineHandler } from 'forcehook';
export const handler = defineHandler({ name: '${name}', match: { flow: 'contacts' }, async handle() {} });
`;

describe('a handlers/*.ts with no compiled twin in dist/handlers', () => {
  let root: string;
  beforeAll(() => {
    root = packageCopy();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test(
    'stops the loader with a ConfigError saying to build, instead of running without it',
    async () => {
      // Nothing of yours, and no dist/handlers: the built-in handler alone.
      expect(await loadHandlersOf(root)).toEqual({ handlers: ['mirror'] });
      const notCompiled = (file: string): Loaded => ({
        error: { name: 'ConfigError', code: 'CONFIG_INVALID', message: `handlers/${file} is not compiled: run \`npm run build\` (npm start does) so dist/handlers has it` },
      });
      // Never built: no dist/handlers at all.
      mkdirSync(join(root, 'handlers'));
      writeFileSync(join(root, 'handlers', 'early.ts'), HANDLER('early'));
      expect(await loadHandlersOf(root)).toEqual(notCompiled('early.ts'));
      // Built, then a handler added without building again.
      mkdirSync(join(root, 'dist', 'handlers'));
      writeFileSync(join(root, 'dist', 'handlers', 'early.js'), HANDLER('early'));
      expect(await loadHandlersOf(root)).toEqual({ handlers: ['mirror', 'early'] });
      writeFileSync(join(root, 'handlers', 'late.ts'), HANDLER('late'));
      expect(await loadHandlersOf(root)).toEqual(notCompiled('late.ts'));
      // Built again: both run.
      writeFileSync(join(root, 'dist', 'handlers', 'late.js'), HANDLER('late'));
      expect(await loadHandlersOf(root)).toEqual({ handlers: ['mirror', 'early', 'late'] });
    },
    SLOW,
  );
});
