import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { recordRows } from '../helpers/rows.js';
import { OUTBOUND_TOKEN, outboundPath, ORG_15 } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const SLOW = 90_000;

async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('forcehook start (a real process)', () => {
  let db: TestDatabase;
  let cli: CliProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => {
    if (cli?.child.exitCode === null) cli.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('with DATABASE_URL: stores and mirrors a message, then stops cleanly on SIGTERM', async () => {
    cli = runCli(['start'], { DATABASE_URL: db.url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, LOG_LEVEL: 'info' });
    const port = await within(20_000, cli.port, 'start-up');
    const url = `http://127.0.0.1:${port}`;
    await request(url).get('/readyz').expect(200);
    const res = await request(url).post(outboundPath('contacts')).set('Content-Type', 'text/xml').send(fixture('outbound/contacts-two.xml'));
    expect(res.text).toContain('<Ack>true</Ack>');
    await waitFor('two mirrored records', async () => (await recordRows(db.pool)).length === 2);
    cli.child.kill('SIGTERM');
    expect(await within(25_000, cli.exited, 'shutdown')).toEqual({ code: 0, signal: null });
    const logs = cli.output.join('\n');
    expect(logs).toContain('from DATABASE_URL');
    // Neither the session id of the message nor the token in the URL reaches the logs.
    expect(logs).not.toContain('FAKE.SESSION');
    expect(logs).not.toContain('not-needed');
  }, SLOW);

  test('a bad variable stops the process with one line naming it', async () => {
    cli = runCli(['start'], { DATABASE_URL: db.url, PORT: 'eighty' });
    expect((await within(10_000, cli.exited, 'exit')).code).toBe(1);
    expect(cli.output).toEqual(['forcehook: PORT: must be a port number from 0 to 65535']);
  }, SLOW);

  test('on a real database the web process will not start without an Outbound Message token; the worker alone will', async () => {
    cli = runCli(['start'], { DATABASE_URL: db.url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15 });
    expect((await within(10_000, cli.exited, 'exit')).code).toBe(1);
    expect(cli.output.join('\n')).toMatch(/^forcehook: OUTBOUND_TOKEN: required with DATABASE_URL/);
    cli = runCli(['start', '--worker'], { DATABASE_URL: db.url, DATABASE_SSL: 'off', SALESFORCE_ORG_IDS: ORG_15, LOG_LEVEL: 'info' });
    await within(20_000, waitFor('the worker started', async () => cli!.output.some((line) => line.includes('worker started'))), 'worker start');
    cli.child.kill('SIGTERM');
    expect((await within(25_000, cli.exited, 'shutdown')).code).toBe(0);
  }, SLOW);

  test('without DATABASE_URL: runs an embedded PostgreSQL under FORCEHOOK_DATA_DIR and keeps its data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forcehook-embedded-'));
    // As root, Postgres runs as the `postgres` user, which must be able to reach the folder.
    chmodSync(dir, 0o755);
    try {
      cli = runCli(['start'], { FORCEHOOK_DATA_DIR: join(dir, '.forcehook'), PORT: '0', LOG_LEVEL: 'info' });
      const port = await within(40_000, cli.port, 'embedded start-up');
      const url = `http://127.0.0.1:${port}`;
      await request(url).get('/readyz').expect(200);
      await request(url).post('/outbound/contacts').set('Content-Type', 'text/xml').send(fixture('outbound/contacts-two.xml')).expect(200);
      expect(cli.output.join('\n')).toContain('database: embedded PostgreSQL in');

      // send-test signs with the local secret the server generated in the same folder.
      const sender = runCli(['send-test', 'contacts', '--url', url], { FORCEHOOK_DATA_DIR: join(dir, '.forcehook') });
      expect((await within(15_000, sender.exited, 'send-test')).code).toBe(0);
      expect(sender.output[0]).toMatch(/^sent Contact 003\w{15} to http:\/\/127\.0\.0\.1:\d+\/apex\/contacts: 202 \{"accepted":1,"duplicates":0\}$/);
      cli.child.kill('SIGTERM');
      expect((await within(25_000, cli.exited, 'shutdown')).code).toBe(0);
      // With nothing listening any more, send-test says so in one line, without a stack.
      const unheard = runCli(['send-test', 'contacts', '--url', url], { FORCEHOOK_DATA_DIR: join(dir, '.forcehook') });
      expect((await within(15_000, unheard.exited, 'send-test')).code).toBe(1);
      expect(unheard.output).toEqual([expect.stringMatching(/^forcehook: cannot reach http:\/\/127\.0\.0\.1:\d+: .*Is forcehook running there/)]);

      // Second run on the same folder: the message is still there, so a redelivery is a duplicate.
      cli = runCli(['start', '--web'], { FORCEHOOK_DATA_DIR: join(dir, '.forcehook'), PORT: '0', LOG_LEVEL: 'debug' });
      const port2 = await within(40_000, cli.port, 'embedded restart');
      await request(`http://127.0.0.1:${port2}`).post('/outbound/contacts').set('Content-Type', 'text/xml').send(fixture('outbound/contacts-two.xml')).expect(200);
      await waitFor('the duplicate logged', async () => cli!.output.some((l) => l.includes('"duplicates":2')));
      cli.child.kill('SIGTERM');
      expect((await within(25_000, cli.exited, 'shutdown')).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SLOW);
});
