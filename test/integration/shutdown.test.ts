import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { ORG_15, OUTBOUND_TOKEN, outboundPath } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * SIGTERM while a client keeps its keep-alive connections busy (issue 11, point 4): the process
 * answers `Connection: close`, closes its connections, stops pg-boss while the server drains, and
 * exits 0 well within Heroku's 30 s with no job left active and every acknowledged message stored.
 */
const SLOW = 90_000;
let db: TestDatabase;
let dir: string;
let cli: CliProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'forcehook-shutdown-'));
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  if (cli?.child.exitCode === null) cli.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

/** A handler slow enough that jobs are in hand when SIGTERM comes. */
function slowHandler(): string {
  const path = join(dir, 'slow.mjs');
  const api = pathToFileURL(resolve('dist/src/index.js')).href;
  writeFileSync(
    path,
    `import { defineHandler } from '${api}';
export const slow = defineHandler({
  name: 'slow',
  match: { flow: 'slow' },
  batchSize: 5,
  async handle() {
    await new Promise((r) => setTimeout(r, 300));
  },
});
`,
  );
  return path;
}

interface Reply {
  status: number;
  connection: string | undefined;
  body: string;
}

function send(agent: Agent, port: number, method: 'GET' | 'POST', path: string, body?: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'text/xml' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

test('SIGTERM under a client hammering keep-alive connections: exit 0 in time, no job left active, every Ack stored', async () => {
  cli = runCli(['start'], {
    DATABASE_URL: db.url,
    DATABASE_SSL: 'off',
    PORT: '0',
    SALESFORCE_ORG_IDS: ORG_15,
    OUTBOUND_TOKEN,
    FORCEHOOK_HANDLERS: slowHandler(),
    LOG_LEVEL: 'info',
  });
  const port = await cli.port;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const acked: string[] = [];
  const afterTerm: Reply[] = [];
  let terminated = false;
  let hammering = true;
  let n = 0;
  const hammer = async (lane: number): Promise<void> => {
    while (hammering) {
      try {
        if (lane % 2 === 0) {
          const ids = Array.from({ length: 5 }, () => fakeId('04l', ++n));
          const xml = buildOutboundMessage({
            orgId: ORG_15,
            notifications: ids.map((id, i) => ({ id, sobjectType: 'Contact', fields: { Id: fakeId('003', n * 10 + i), LastName: 'Hammer' } })),
          });
          const reply = await send(agent, port, 'POST', outboundPath('slow'), xml);
          if (reply.body.includes('<Ack>true</Ack>')) acked.push(...ids);
          if (terminated) afterTerm.push(reply);
        } else {
          const reply = await send(agent, port, 'GET', '/healthz');
          if (terminated) afterTerm.push(reply);
        }
      } catch {
        // Refused or reset once the server stops listening: keep trying, as a client would.
        if (terminated) await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const lanes = Array.from({ length: 8 }, (_, lane) => hammer(lane));
  await waitFor('jobs in hand', async () => Number((await db.pool.query("SELECT count(*) AS n FROM pgboss.job WHERE name = 'forcehook.slow' AND state = 'active'")).rows[0].n) > 0);

  const sent = Date.now();
  terminated = true;
  cli.child.kill('SIGTERM');
  const exit = await cli.exited;
  const seconds = (Date.now() - sent) / 1000;
  hammering = false;
  await Promise.all(lanes);
  agent.destroy();

  expect(exit).toEqual({ code: 0, signal: null });
  // Heroku sends SIGKILL after 30 s; the handlers' 300 ms batches and the drain take far less.
  expect(seconds).toBeLessThan(15);
  // Once the process took the signal, its answers told the client to close the connection (some
  // answered just before that still said keep-alive).
  expect(afterTerm.some((r) => r.connection === 'close')).toBe(true);
  const active = await db.pool.query("SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'active'");
  expect(active.rows[0].n).toBe(0);
  // Nothing acknowledged that is not committed.
  const stored = await db.pool.query<{ delivery_id: string }>('SELECT delivery_id FROM forcehook.inbox');
  const ids = new Set(stored.rows.map((r) => r.delivery_id));
  expect(acked.length).toBeGreaterThan(0);
  expect(acked.filter((id) => !ids.has(id))).toEqual([]);
}, SLOW);
