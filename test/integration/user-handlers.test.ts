import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { recordRows } from '../helpers/rows.js';
import { outboundPath, serviceEnv } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const SLOW = 90_000;

/**
 * A folder laid out like a deployment's own code: handlers/<file>.js importing `forcehook` by its
 * name, resolved through node_modules/forcehook (a link to this package, as `npm install` makes).
 */
function userFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'forcehook-user-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(resolve('.'), join(dir, 'node_modules', 'forcehook'), 'dir');
  mkdirSync(join(dir, 'handlers'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'handlers', name), text);
  return dir;
}

const AUDIT = `import { defineHandler } from 'forcehook';

export const audit = defineHandler({
  name: 'audit',
  match: { flow: 'contacts', sobjectType: 'Contact' },
  async handle(events, ctx) {
    await ctx.db.query('CREATE TABLE IF NOT EXISTS audit_log (delivery_id text PRIMARY KEY, email text)');
    for (const e of events) {
      await ctx.db.query('INSERT INTO audit_log VALUES ($1, $2) ON CONFLICT DO NOTHING', [e.deliveryId, e.fields.Email ?? null]);
    }
  },
});

// Not a handler: ignored.
export const helper = () => 42;
`;

describe('a handler dropped into the handlers folder (a real process)', () => {
  let db: TestDatabase;
  let cli: CliProcess | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => {
    if (cli?.child.exitCode === null) cli.child.kill('SIGKILL');
  });
  afterAll(async () => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  const env = (handlersDir: string): Record<string, string> => serviceEnv(db, { FORCEHOOK_HANDLERS_DIR: handlersDir });

  test(
    'runs beside the mirror on an incoming Outbound Message: HTTP in, rows out',
    async () => {
      const dir = userFolder({ 'audit.js': AUDIT });
      dirs.push(dir);
      cli = runCli(['start'], env(join(dir, 'handlers')));
      const url = `http://127.0.0.1:${await cli.port}`;
      const started = cli;
      await waitFor('the worker to list the dropped-in handler', async () => started.output.some((l) => /"handlers":\["mirror","audit"\]/.test(l)), 20_000);
      const res = await request(url).post(outboundPath('contacts')).set('Content-Type', 'text/xml').send(fixture('outbound/contacts-two.xml'));
      expect(res.text).toContain('<Ack>true</Ack>');
      const audited = await waitFor('the audit handler wrote its rows', async () => {
        const { rows } = await db.pool.query<{ email: string }>('SELECT email FROM audit_log ORDER BY email').catch(() => ({ rows: [] as { email: string }[] }));
        return rows.length === 2 && rows;
      }, 20_000);
      expect(audited.map((r) => r.email)).toEqual(['ada.lovelace@example.com', 'grace.hopper@example.com']);
      await waitFor('the mirror stored both records', async () => (await recordRows(db.pool)).length === 2, 20_000);
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).toBe(0);
    },
    SLOW,
  );

  test(
    'a handler named like a built-in stops the start with a ConfigError naming the file',
    async () => {
      const dir = userFolder({ 'mine.js': AUDIT.replace("name: 'audit'", "name: 'mirror'") });
      dirs.push(dir);
      cli = runCli(['start'], env(join(dir, 'handlers')));
      const exit = await cli.exited;
      expect(exit.code).not.toBe(0);
      expect(cli.output.join('\n')).toMatch(/two handlers are named "mirror": forcehook \(built in\) and .*handlers\/mine\.js/);
    },
    SLOW,
  );
});
