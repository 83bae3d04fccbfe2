import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { inboxRows } from '../helpers/rows.js';
import { OUTBOUND_TOKEN, ORG_15, ORG_18 } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const SLOW = 90_000;

/**
 * Handlers loaded from a module through FORCEHOOK_HANDLERS, as a deployment would add its own:
 * `slow` takes two seconds (to be caught mid-job by SIGTERM); `grumpy` dead-letters until a table
 * says otherwise.
 */
function writeHandlerModule(dir: string): string {
  const path = join(dir, 'handlers.mjs');
  const api = pathToFileURL(resolve('dist/src/index.js')).href;
  writeFileSync(
    path,
    `import { defineHandler, PermanentError } from '${api}';
export const slow = defineHandler({
  name: 'slow',
  match: { flow: 'slow' },
  async handle(events, ctx) {
    await ctx.db.query("create table if not exists slow_log (delivery_id text, phase text)");
    for (const e of events) await ctx.db.query("insert into slow_log values ($1, 'started')", [e.deliveryId]);
    await new Promise((r) => setTimeout(r, 2000));
    for (const e of events) await ctx.db.query("insert into slow_log values ($1, 'finished')", [e.deliveryId]);
  },
});
export const grumpy = defineHandler({
  name: 'grumpy',
  match: { flow: 'grumpy' },
  async handle(events, ctx) {
    const { rows } = await ctx.db.query("select to_regclass('public.grumpy_ok') as ok");
    if (!rows[0].ok) throw new PermanentError('grumpy says no');
  },
});
`,
  );
  return path;
}

describe('operating forcehook from the command line (real processes)', () => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  let server: CliProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'forcehook-cli-'));
    env = { DATABASE_URL: db.url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, WEBHOOK_SECRETS: SECRET_A, FORCEHOOK_HANDLERS: writeHandlerModule(dir), LOG_LEVEL: 'info' };
  });
  afterEach(() => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
    const p = runCli(args, env);
    const { code } = await p.exited;
    return { code, output: p.output.join('\n') };
  }

  test('SIGTERM lets the job in hand finish, then exits 0 well within 30 s', async () => {
    server = runCli(['start'], env);
    const url = `http://127.0.0.1:${await server.port}`;
    await sendApex(url, 'slow', { orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [apexContact(1)], old: [] }, { id: 'msg_slow' }).expect(202);
    await waitFor('the slow handler started', async () => (await db.pool.query("select 1 from slow_log where phase = 'started'").catch(() => ({ rowCount: 0 }))).rowCount === 1);
    const started = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(25_000);
    const { rows } = await db.pool.query<{ phase: string }>('select phase from slow_log order by phase');
    expect(rows.map((r) => r.phase)).toEqual(['finished', 'started']);
    expect((await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_slow:'))?.status).toBe('done');
    // While draining it took no new requests.
    expect(server.output.join('\n')).toContain('SIGTERM: finishing in-flight requests and jobs');
  }, SLOW);

  test('status, events, dead-letter list / retry / purge and replay', async () => {
    server = runCli(['start'], env);
    const url = `http://127.0.0.1:${await server.port}`;
    const contact = apexContact(7);
    await sendApex(url, 'grumpy', { orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [contact], old: [] }, { id: 'msg_grumpy' }).expect(202);
    await waitFor('the grumpy event dead-lettered', async () => (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_grumpy:'))?.status === 'failed');
    await waitFor('in the dead-letter queue', async () => (await db.pool.query("select 1 from pgboss.job where name = 'forcehook.grumpy.dead'")).rowCount === 1);

    const status = await cli(['status', '--json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.output) as { handlers: { handler: string; deadLetters: number }[]; flows: { flow: string; failed: number }[] };
    expect(report.handlers.find((h) => h.handler === 'grumpy')?.deadLetters).toBe(1);
    expect(report.flows.find((f) => f.flow === 'grumpy')?.failed).toBe(1);
    expect((await cli(['status'])).output).toMatch(/^handler\s+ready\s+active\s+retrying later\s+dead letters$/m);

    const events = await cli(['events', '--record', String(contact['Id']).slice(0, 15)]);
    expect(events.output).toContain(`msg_grumpy:${String(contact['Id'])}`);
    expect(events.output).toContain('grumpy says no');
    const since = await cli(['events', '--flow', 'grumpy', '--since', '1h', '--json']);
    expect((JSON.parse(since.output) as unknown[]).length).toBe(1);
    expect((await cli(['events', '--record', 'not-an-id'])).output).toContain('forcehook: --record not-an-id is not a 15- or 18-character Salesforce id');
    expect(await cli(['events', '--since', '99999999999d'])).toMatchObject({ code: 1, output: expect.stringContaining('forcehook: --since 99999999999d: use an ISO time') });
    expect(await cli(['events', '--limit', '-1'])).toMatchObject({ code: 1, output: expect.stringContaining('forcehook: --limit -1: use a whole number from 1') });

    const list = await cli(['dead-letter', 'list', '--json']);
    const letters = JSON.parse(list.output) as { id: string; kind: string; error: string }[];
    expect(letters).toEqual([expect.objectContaining({ kind: 'event', error: 'grumpy says no' })]);

    await db.pool.query('create table public.grumpy_ok ()');
    const retry = await cli(['dead-letter', 'retry', letters[0]!.id]);
    expect(retry.output).toContain('retried 1');
    await waitFor('the retried event done', async () => (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_grumpy:'))?.status === 'done');
    expect((await cli(['dead-letter', 'retry', letters[0]!.id])).code).toBe(1);

    const replay = await cli(['replay', `msg_grumpy:${String(contact['Id'])}`]);
    expect(replay.output).toBe('replayed msg_grumpy:' + String(contact['Id']) + ' to 2 handlers');
    await waitFor('replayed and done again', async () => {
      const row = (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_grumpy:'));
      return row?.status === 'done' && Object.keys(row.outcomes).length === 2;
    });
    expect((await cli(['replay', 'no-such-delivery'])).code).toBe(1);
    expect((await cli(['dead-letter', 'purge'])).output).toBe('purged 0');

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, SLOW);
});
