import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { adminQuery, withDatabase } from '../../src/db/admin.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { toId18 } from '../../src/events/salesforce-id.js';
import { createLogger } from '../../src/log.js';
import { signedHeaders } from '../../src/verification/standard-webhooks.js';
import { SECRET_A } from '../helpers/apex-callout.js';
import { runCli, type CliProcess } from '../helpers/cli-process.js';
import { OUTBOUND_TOKEN, ORG_15, ORG_18 } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Faults on real processes: forcehook web and worker as child processes, on a PostgreSQL server of
 * this file's own (so restarting it disturbs no other test). After each fault, with no restart of
 * forcehook unless the fault was killing it: every message that got a 202 is stored, every message
 * that did not is stored whole or not at all, and once delivered again (as Salesforce and the Apex
 * side do) every event has its effect and each record's mirror holds its newest change.
 */
const SLOW = 120_000;
let server: EmbeddedPostgres;
let dir: string;
let url: string;
let db: pg.Pool;
let env: Record<string, string>;
const processes: CliProcess[] = [];

function writeEffectsHandler(): string {
  const path = join(dir, 'effects.mjs');
  const api = pathToFileURL(resolve('dist/src/index.js')).href;
  writeFileSync(
    path,
    `import { defineHandler } from '${api}';
// Counts how often each event was handled, slowly enough to be caught mid-batch.
export const effects = defineHandler({
  name: 'effects',
  match: { flow: 'chaos' },
  batchSize: 25,
  timeoutSeconds: 3,
  retryDelaySeconds: 1,
  retryLimit: 20,
  async handle(events, ctx) {
    await new Promise((r) => setTimeout(r, 150));
    await ctx.db.query(
      "insert into effects (delivery_id, times) select d, 1 from unnest($1::text[]) d on conflict (delivery_id) do update set times = effects.times + 1",
      [events.map((e) => e.deliveryId)]);
  },
});
`,
  );
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forcehook-chaos-'));
  chmodSync(dir, 0o755);
  server = await startEmbeddedPostgres({ dir: join(dir, 'pg'), log: createLogger('silent'), persistent: true, settings: { max_connections: '60', fsync: 'off' } });
  await adminQuery(server.url, 'CREATE DATABASE chaos');
  url = withDatabase(server.url, 'chaos');
  db = new pg.Pool({ connectionString: url, max: 3 });
  db.on('error', () => undefined);
  env = {
    DATABASE_URL: url,
    DATABASE_SSL: 'off',
    DATABASE_POOL_MAX: '8',
    PORT: '0',
    SALESFORCE_ORG_IDS: ORG_15,
    OUTBOUND_TOKEN,
    WEBHOOK_SECRETS: SECRET_A,
    FORCEHOOK_HANDLERS: writeEffectsHandler(),
    QUEUE_SUPERVISE_SECONDS: '1',
    // Info: the tests read the "listening on port" and "worker started" lines.
    LOG_LEVEL: 'info',
  };
  // Migrate once, then the table the effects handler counts in.
  const migrate = runCli(['migrate'], env);
  expect((await migrate.exited).code).toBe(0);
  await db.query('CREATE TABLE effects (delivery_id text PRIMARY KEY, times int NOT NULL)');
}, SLOW);

afterEach(async () => {
  for (const p of processes.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
});

afterAll(async () => {
  await db?.end();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function start(role: '--web' | '--worker'): CliProcess {
  const p = runCli(['start', role], env);
  processes.push(p);
  return p;
}

async function webUrl(p: CliProcess): Promise<string> {
  return `http://127.0.0.1:${await p.port}`;
}

async function startWorker(): Promise<CliProcess> {
  const p = start('--worker');
  await waitFor('the worker started', async () => p.output.some((l) => l.includes('worker started')) || (p.child.exitCode !== null ? Promise.reject(new Error(p.output.join('\n'))) : false), 20_000);
  return p;
}

interface Message {
  id: string;
  body: string;
  deliveryIds: string[];
  status?: number;
}

let serial = 0;
/** `count` callouts of `size` Contacts each, over `distinct` records, each change newer than the last. */
function messages(count: number, size: number, distinct: number): Message[] {
  return Array.from({ length: count }, () => {
    const id = `msg_chaos_${++serial}`;
    const records = Array.from({ length: size }, (_, i) => {
      const n = (serial * size + i) % distinct;
      const recordId = toId18(`003CHAOS${String(n).padStart(7, '0')}`);
      const stamp = new Date(Date.UTC(2026, 10, 20) + serial * 1000 + i).toISOString().replace('Z', '+0000');
      return { attributes: { type: 'Contact', url: `/x/${recordId}` }, Id: recordId, LastName: `change ${serial}.${i}`, SystemModstamp: stamp };
    });
    // One change per record per message: the delivery id is webhook-id + record id.
    const unique = [...new Map(records.map((r) => [r.Id, r])).values()];
    const body = JSON.stringify({ orgId: ORG_18, sobjectType: 'Contact', operation: 'update', new: unique, old: [] });
    return { id, body, deliveryIds: unique.map((r) => `${id}:${r.Id}`) };
  });
}

async function send(base: () => Promise<string> | string, m: Message): Promise<void> {
  try {
    const headers = signedHeaders({ secret: SECRET_A, id: m.id, timestamp: Math.floor(Date.now() / 1000), body: m.body });
    const res = await fetch(`${await base()}/apex/chaos`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: m.body, signal: AbortSignal.timeout(10_000) });
    m.status = res.status;
    await res.arrayBuffer();
  } catch {
    m.status = 0; // no answer: connection refused or reset
  }
}

/** Sends all messages, `concurrency` at a time. */
async function stream(base: () => Promise<string> | string, list: Message[], concurrency = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) await send(base, list[next++]!);
    }),
  );
}

async function storedIds(): Promise<Set<string>> {
  const { rows } = await db.query<{ delivery_id: string }>("SELECT delivery_id FROM forcehook.inbox WHERE flow = 'chaos'");
  return new Set(rows.map((r) => r.delivery_id));
}

/** Acked => stored whole; not acked => stored whole or not at all. Never half a message. */
async function checkNoThirdState(list: Message[]): Promise<void> {
  const stored = await storedIds();
  for (const m of list) {
    const present = m.deliveryIds.filter((d) => stored.has(d)).length;
    if (m.status === 202) expect({ id: m.id, present }).toEqual({ id: m.id, present: m.deliveryIds.length });
    else expect({ id: m.id, whole: present === 0 || present === m.deliveryIds.length }).toEqual({ id: m.id, whole: true });
  }
}

/** Delivers again what was not acknowledged, as the sender would, until every message is acked. */
async function redeliver(base: () => Promise<string> | string, list: Message[]): Promise<void> {
  await waitFor(
    'every message acknowledged',
    async () => {
      const pending = list.filter((m) => m.status !== 202);
      await stream(base, pending, 2);
      return pending.every((m) => m.status === 202);
    },
    60_000,
  );
}

/** Every event handled at least once (effects) and mirrored; each record holds its newest change. */
async function checkConverged(list: Message[]): Promise<void> {
  const all = list.flatMap((m) => m.deliveryIds);
  await waitFor(
    'every event done',
    async () => {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM forcehook.inbox WHERE delivery_id = ANY($1) AND forcehook.event_status(id, status, handlers) = 'done'", [all]);
      return Number(rows[0]?.n) === all.length;
    },
    60_000,
  );
  const { rows: effects } = await db.query<{ delivery_id: string }>('SELECT delivery_id FROM effects WHERE delivery_id = ANY($1)', [all]);
  expect(effects.length).toBe(all.length);
  const { rows } = await db.query<{ record_id: string; last: string; newest: string }>(
    `SELECT r.record_id, r.fields->>'SystemModstamp' AS last,
            (SELECT i.fields->>'SystemModstamp' FROM forcehook.inbox i WHERE i.record_id = r.record_id AND i.flow = 'chaos' ORDER BY i.modstamp DESC LIMIT 1) AS newest
     FROM forcehook.records r WHERE r.record_id LIKE '003CHAOS%'`,
  );
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) expect({ record: r.record_id, last: r.last }).toEqual({ record: r.record_id, last: r.newest });
  // One inbox row per delivery, however often it was sent.
  const { rows: dup } = await db.query<{ n: string }>("SELECT count(*) - count(DISTINCT (org_id, delivery_id)) AS n FROM forcehook.inbox");
  expect(Number(dup[0]?.n)).toBe(0);
}

describe('chaos', () => {
  test('kill -9 the worker mid-batch, start another: the batch is retried after it expires', async () => {
    const web = start('--web');
    const base = await webUrl(web);
    const worker = await startWorker();
    const list = messages(20, 25, 60);
    await stream(() => base, list);
    await waitFor('the worker is mid-way', async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM effects')).rows[0]?.n) > 0);
    worker.child.kill('SIGKILL');
    await worker.exited;
    await checkNoThirdState(list);
    await startWorker();
    await checkConverged(list);
  }, SLOW);

  test('kill -9 the web process mid-stream, start another: nothing half-stored, redelivery completes it', async () => {
    let web = start('--web');
    let base = await webUrl(web);
    await startWorker();
    const list = messages(40, 20, 60);
    const sending = stream(() => base, list, 4);
    await waitFor('some messages stored', async () => (await storedIds()).size > 100);
    web.child.kill('SIGKILL');
    await sending;
    await checkNoThirdState(list);
    web = start('--web');
    base = await webUrl(web);
    await redeliver(() => base, list);
    await checkConverged(list);
  }, SLOW);

  test('restart PostgreSQL during a stream: 503 while it is down, back by itself after', async () => {
    const web = start('--web');
    const base = await webUrl(web);
    await startWorker();
    const list = messages(40, 20, 60);
    const sending = stream(() => base, list, 3);
    await waitFor('some messages stored', async () => (await storedIds()).size > 60);
    await server.restart();
    await sending;
    expect(list.some((m) => m.status !== 202)).toBe(true);
    expect(list.every((m) => m.status === 202 || m.status === 503 || m.status === 0)).toBe(true);
    await checkNoThirdState(list);
    // No forcehook process was restarted.
    await redeliver(() => base, list);
    await checkConverged(list);
    expect(processes.every((p) => p.child.exitCode === null)).toBe(true);
  }, SLOW);

  test('terminate every forcehook backend mid-batch, twice: it reconnects by itself', async () => {
    const web = start('--web');
    const base = await webUrl(web);
    await startWorker();
    const list = messages(30, 20, 60);
    const sending = stream(() => base, list, 3);
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'chaos' AND pid <> pg_backend_pid() AND application_name LIKE 'forcehook%'");
    }
    await sending;
    await checkNoThirdState(list);
    await redeliver(() => base, list);
    await checkConverged(list);
    expect(processes.every((p) => p.child.exitCode === null)).toBe(true);
  }, SLOW);

  test('idle clients take every connection for a while: refused with 503, recovered after', async () => {
    const web = start('--web');
    const base = await webUrl(web);
    await startWorker();
    const hogs: pg.Client[] = [];
    for (;;) {
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => undefined);
      try {
        await c.connect();
        hogs.push(c);
      } catch {
        break; // too many clients: the server is full
      }
    }
    expect(hogs.length).toBeGreaterThan(10);
    const list = messages(10, 10, 30);
    await stream(() => base, list, 2);
    await Promise.all(hogs.map((c) => c.end()));
    await checkNoThirdState(list);
    await redeliver(() => base, list);
    await checkConverged(list);
  }, SLOW);

  test('every message delivered three times, newest first: one row per delivery, newest state wins', async () => {
    const web = start('--web');
    const base = await webUrl(web);
    await startWorker();
    const list = messages(15, 10, 20);
    const reversed = [...list].reverse();
    for (let round = 0; round < 3; round++) {
      const copies = reversed.map((m) => ({ ...m }));
      await stream(() => base, copies, 3);
      expect(copies.every((m) => m.status === 202)).toBe(true);
    }
    await checkConverged(list);
  }, SLOW);
});
