/**
 * `npm run bench`: forcehook against the ceilings of this machine, in one run. Prints a table and
 * writes bench/results/<time>.json. Not a test: it asserts nothing, it measures.
 *
 *   SOAP ingest      100-notification messages, fixed concurrency -> notifications stored/s, p50/p99
 *   Apex ingest      signed callouts of 1 and 200 records          -> records stored/s, p50/p99
 *   fixed rate       1-record callouts at 500 requests/s            -> p99
 *   ceilings         raw pg inserts of the same rows per message; a bare Express + one INSERT
 *   worker           the mirror on a 100,000-event backlog          -> events/s; raw upsert ceiling
 *   API economy      1,000 record changes in a burst, fake Salesforce -> API calls
 *   memory           peak RSS of the forcehook processes
 *
 * BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_BACKLOG (100000); BENCH_ANALYZE=pgboss.job
 * analyzes that table after the backlog is stored (see README, Performance: stale statistics).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { adminQuery, canConnect, withDatabase } from '../src/db/admin.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { toId18 } from '../src/events/salesforce-id.js';
import { HandlerRegistry } from '../src/handlers/registry.js';
import { mirrorHandler } from '../src/handlers/mirror.js';
import { createLogger } from '../src/log.js';
import { ensureHandlerQueues, startBoss } from '../src/queue/boss.js';
import { createIngest } from '../src/queue/ingest.js';
import { signedHeaders } from '../src/verification/standard-webhooks.js';
import { FakeSalesforce } from '../test/helpers/fake-salesforce.js';
import { buildOutboundMessage } from '../test/helpers/outbound-builder.js';
import { runCli } from '../test/helpers/cli-process.js';
import { load, type LoadResult } from './load.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const BACKLOG = Number(process.env['BENCH_BACKLOG'] ?? 100_000);
const ORG_15 = '00D5g00000BENCH';
const ORG_18 = toId18(ORG_15);
/** A real database requires the Outbound Message token; a throwaway value for the run. */
const OUTBOUND_TOKEN = randomBytes(24).toString('hex');
const SECRET = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const log = createLogger('silent');

let counter = 0;
/** A fresh, well-formed 15-character id: the benchmark never sends the same delivery twice. */
const nextId = (prefix: string): string => `${prefix}${(counter++).toString(36).padStart(12, '0')}`;

interface Row {
  figure: string;
  value: number;
  unit: string;
  ceiling?: number;
  target?: string;
  met?: boolean;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const rows: Row[] = [];
  const say = (text: string): void => void process.stderr.write(`${text}\n`);

  // PostgreSQL: the configured one, the machine's, or an embedded one, and a database of our own.
  let serverUrl = [process.env['TEST_DATABASE_URL'], process.env['DATABASE_URL'], 'postgres://postgres@127.0.0.1:5432/postgres'].find(Boolean);
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!serverUrl || !(await canConnect(serverUrl))) {
    const embedded = await startEmbeddedPostgres({ dir: `.forcehook/bench-${process.pid}`, log, persistent: false });
    serverUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const dbName = `fh_bench_${process.pid}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${dbName}`);
  const url = withDatabase(serverUrl, dbName);
  const pool = createPool({ connectionString: url, ssl: false, max: 20 }, log);
  const children: ChildProcess[] = [];
  const fake = await new FakeSalesforce().start();
  try {
    await migrate(pool);
    await pool.query(`CREATE SCHEMA bench;
      CREATE TABLE bench.inbox (LIKE forcehook.inbox INCLUDING ALL);
      CREATE TABLE bench.jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, data jsonb NOT NULL);
      CREATE TABLE bench.single (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, data jsonb NOT NULL);
      CREATE TABLE bench.records (LIKE forcehook.records INCLUDING ALL);`);
    const pgVersion = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';

    const env = { DATABASE_URL: url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, WEBHOOK_SECRETS: SECRET, LOG_LEVEL: 'info', FORCEHOOK_EXAMPLES: 'contact-match' };
    const web = runCli(['start', '--web'], env);
    children.push(web.child);
    const base = `http://127.0.0.1:${await web.port}`;

    // --- SOAP ingest, 100 notifications a message ---
    say(`SOAP ingest: 100-notification messages, ${CONNECTIONS} connections, ${SECONDS} s`);
    const soapTemplate = soapMessageTemplate(100);
    const beforeSoap = await count(pool, 'forcehook.inbox');
    const soap = await load({
      url: `${base}/outbound/bench?token=${OUTBOUND_TOKEN}`,
      connections: CONNECTIONS,
      seconds: SECONDS,
      next: () => ({ headers: { 'content-type': 'text/xml; charset=utf-8' }, body: soapTemplate() }),
    });
    const soapStored = (await count(pool, 'forcehook.inbox')) - beforeSoap;
    const rssAfter: Record<string, number> = { soap: peakRssMb(web.child.pid) };
    const soapRate = soapStored / soap.seconds;

    say('ceiling: raw pg, the same 100 rows + 100 job rows per transaction');
    const rawRate = await rawInsertCeiling(url, CONNECTIONS, SECONDS);
    rows.push({ figure: 'SOAP ingest: notifications stored/s', value: soapRate, unit: '/s', ceiling: rawRate, target: '>= 10,000/s and >= 50% of ceiling', met: soapRate >= 10_000 && soapRate >= rawRate * 0.5 });
    rows.push(latencyRow('SOAP ingest: ack latency p50 / p99 (100 notifications)', soap));

    // --- Apex ingest ---
    say('Apex ingest: 1-record signed callouts');
    const apex1 = await load({ url: `${base}/apex/bench`, connections: CONNECTIONS, seconds: SECONDS, next: () => signedApex(1) });
    say('ceiling: bare Express + one INSERT');
    const bare = spawnNode('dist/bench/bare-server.js', { DATABASE_URL: url, PORT: '0' });
    children.push(bare.child);
    const bareLoad = await load({ url: `http://127.0.0.1:${await bare.port}/ingest`, connections: CONNECTIONS, seconds: SECONDS, next: () => ({ headers: { 'content-type': 'application/json' }, body: signedApex(1).body }) });
    rows.push({ figure: 'Apex ingest, 1 record: requests/s', value: apex1.rps, unit: '/s', ceiling: bareLoad.rps, target: '>= 70% of bare Express + INSERT', met: apex1.rps >= bareLoad.rps * 0.7 });
    rows.push(latencyRow('Apex ingest, 1 record: p50 / p99', apex1));
    rssAfter['apex1'] = peakRssMb(web.child.pid);
    say('Apex ingest: 200-record signed callouts');
    const apex200 = await load({ url: `${base}/apex/bench`, connections: Math.max(2, CONNECTIONS / 2), seconds: SECONDS, next: () => signedApex(200) });
    rows.push({ figure: 'Apex ingest, 200 records: records stored/s', value: apex200.rps * 200, unit: '/s', ceiling: rawRate, target: 'ratio of the raw insert ceiling' });
    rows.push(latencyRow('Apex ingest, 200 records: p50 / p99', apex200));
    rssAfter['apex200'] = peakRssMb(web.child.pid);
    say('fixed rate: 1-record callouts at 500 requests/s');
    const fixed = await load({ url: `${base}/apex/bench`, connections: 20, seconds: SECONDS, rate: 500, next: () => signedApex(1) });
    rows.push({ figure: 'p99 ack at 500 requests/s (1-record Apex)', value: fixed.p99, unit: 'ms', target: '<= 25 ms', met: fixed.p99 <= 25 && fixed.non2xx === 0 });
    const webPeak = peakRssMb(web.child.pid);

    // --- pre-auth memory: unsigned gzip bombs must be refused before a byte is inflated ---
    say('pre-auth: 200 concurrent unsigned /apex requests, each a gzip bomb of 5 MiB inflated');
    const fresh = runCli(['start', '--web'], env);
    children.push(fresh.child);
    const freshBase = `http://127.0.0.1:${await fresh.port}`;
    const idleRss = currentRssMb(fresh.child.pid);
    const bombs = await unsignedGzipBombs(`${freshBase}/apex/bench`, 200, 5 * 1024 * 1024);
    const bombPeak = peakRssMb(fresh.child.pid);
    rows.push({
      figure: 'pre-auth: peak RSS of a fresh web process under 200 unsigned gzip bombs',
      value: bombPeak,
      unit: `MB (idle ${idleRss} MB; ${bombs.refused}/200 refused with 4xx)`,
      target: '<= idle + 64 MB, all refused',
      met: bombPeak <= idleRss + 64 && bombs.refused === 200,
    });

    // --- worker: the mirror on a backlog ---
    say(`worker: storing a backlog of ${BACKLOG} events`);
    await pool.query("DELETE FROM pgboss.job WHERE name LIKE 'forcehook.%'");
    await pool.query('TRUNCATE forcehook.inbox CASCADE');
    await fillBacklog(url, BACKLOG);
    if (process.env['BENCH_ANALYZE']) for (const t of process.env['BENCH_ANALYZE'].split(',')) await pool.query(`VACUUM ANALYZE ${t}`);
    const worker = runCli(['start', '--worker'], {
      ...env,
      SALESFORCE_LOGIN_URL: fake.url,
      SALESFORCE_CLIENT_ID: 'bench',
      SALESFORCE_CLIENT_SECRET: 'bench',
      SALESFORCE_USERNAME: 'integration@example.com',
      SALESFORCE_PASSWORD: 'secret-password',
      SALESFORCE_SECURITY_TOKEN: 'TOKEN',
      SALESFORCE_WRITE_WINDOW_MS: '2000',
    });
    children.push(worker.child);
    await waitForLine(worker, /worker started/);
    const workerStart = Date.now();
    await until(async () => (await countWhere(pool, "forcehook.inbox WHERE status = 'done'")) >= BACKLOG, 240_000);
    const workerRate = BACKLOG / ((Date.now() - workerStart) / 1000);
    say('ceiling: raw upserts of the same records, 100 a statement, 2 connections');
    const upsertRate = await rawUpsertCeiling(url, BACKLOG);
    rows.push({ figure: 'mirror worker on a backlog: events/s', value: workerRate, unit: '/s', ceiling: upsertRate, target: '>= 5,000/s', met: workerRate >= 5_000 });

    // --- API economy ---
    say('API economy: 1,000 Contact changes (300 records) in a burst, contact-match writing back');
    const callsBefore = fake.requests.filter((r) => r.path !== '/services/oauth2/token').length;
    for (let c = 0; c < 5; c++) {
      const records = Array.from({ length: 200 }, (_, i) => contactRecord((c * 200 + i) % 300, `2026-11-22T10:00:0${c}.000+0000`));
      const { headers, body } = signApex({ orgId: ORG_18, sobjectType: 'Contact', operation: 'update', new: records, old: [] });
      const res = await fetch(`${base}/apex/contacts`, { method: 'POST', headers, body });
      if (res.status !== 202) throw new Error(`economy callout answered ${res.status}`);
    }
    await until(async () => (await countWhere(pool, "forcehook.salesforce_writes WHERE status = 'done'")) >= 1000, 60_000);
    const apiCalls = fake.requests.filter((r) => r.path !== '/services/oauth2/token').length - callsBefore;
    rows.push({ figure: 'Salesforce API calls per 1,000 changes (300 records)', value: apiCalls, unit: 'calls', target: '<= 10', met: apiCalls <= 10 });
    const workerPeak = peakRssMb(worker.child.pid);
    rows.push({ figure: 'peak RSS: web / worker process', value: Math.max(webPeak, workerPeak), unit: 'MB', target: '<= 200 MB', met: Math.max(webPeak, workerPeak) <= 200 });

    const result = {
      date: startedAt.toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, postgres: pgVersion },
      settings: { seconds: SECONDS, connections: CONNECTIONS, backlog: BACKLOG },
      figures: rows,
      raw: { soap, apex1, bareLoad, apex200, fixed, rawInsertRowsPerSecond: rawRate, upsertRate, webPeakMb: webPeak, workerPeakMb: workerPeak, webPeakMbAfter: rssAfter },
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    };
    mkdirSync(resolve('bench/results'), { recursive: true });
    const file = resolve(`bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printTable(rows, result.machine);
    console.log(`\n${result.durationSeconds} s; results in ${file}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await fake.stop();
    await pool.end();
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await stopEmbedded?.();
  }
}

/** A 100-notification message whose ids are fresh on every call (split once, joined per request). */
function soapMessageTemplate(notifications: number): () => string {
  const xml = buildOutboundMessage({
    orgId: ORG_15,
    notifications: Array.from({ length: notifications }, (_, i) => ({
      id: `NOTE${i}ID`,
      sobjectType: 'Contact',
      fields: { Id: `RECORD${i}ID`, FirstName: 'Ada', LastName: `Lovelace ${i}`, Email: `ada${i}@example.com`, SystemModstamp: '2026-11-20T10:00:00.000Z' },
    })),
  });
  const parts = xml.split(/(NOTE\d+ID|RECORD\d+ID)/);
  return () => parts.map((p) => (/^NOTE\d+ID$/.test(p) ? nextId('04l') : /^RECORD\d+ID$/.test(p) ? nextId('003') : p)).join('');
}

function contactRecord(n: number, modstamp: string): Record<string, unknown> {
  const id = toId18(`003BENCH${String(n).padStart(7, '0')}`);
  return { attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` }, Id: id, LastName: `Contact ${n}`, Email: `c${n}@example.com`, SystemModstamp: modstamp };
}

function signedApex(records: number): { headers: Record<string, string>; body: string } {
  const recs = Array.from({ length: records }, () => {
    const id = toId18(nextId('003'));
    return { attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` }, Id: id, FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com', SystemModstamp: '2026-11-20T10:00:00.000+0000' };
  });
  return signApex({ orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: recs, old: [] });
}

function signApex(payload: unknown): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify(payload);
  return { headers: { 'content-type': 'application/json', ...signedHeaders({ secret: SECRET, id: `msg_${randomUUID()}`, timestamp: Math.floor(Date.now() / 1000), body }) }, body };
}

/** The same rows our ingest writes per message, without forcehook around them: one transaction each. */
async function rawInsertCeiling(url: string, connections: number, seconds: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  const deadline = Date.now() + seconds * 1000;
  let rows = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < deadline) {
        const batch = Array.from({ length: 100 }, () => ({
          org_id: ORG_18, delivery_id: nextId('04l'), source: 'outbound', flow: 'bench', sobject_type: 'Contact', record_id: toId18(nextId('003')),
          operation: 'upsert', fields: { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' }, modstamp: '2026-11-20T10:00:00.000Z', received_at: new Date().toISOString(),
        }));
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows: ids } = await client.query<{ id: string }>(
            `INSERT INTO bench.inbox (org_id, delivery_id, source, flow, sobject_type, record_id, operation, fields, modstamp, received_at)
             SELECT * FROM json_to_recordset($1::json) AS r(org_id text, delivery_id text, source text, flow text, sobject_type text, record_id text,
               operation text, fields jsonb, modstamp timestamptz, received_at timestamptz) RETURNING id`,
            [JSON.stringify(batch)],
          );
          await client.query(`INSERT INTO bench.jobs (name, data) SELECT 'bench', jsonb_build_object('inboxId', id) FROM unnest($1::bigint[]) AS id`, [ids.map((r) => r.id)]);
          await client.query('COMMIT');
          rows += batch.length;
        } finally {
          client.release();
        }
      }
    }),
  );
  await pool.end();
  return rows / ((Date.now() - started) / 1000);
}

/** Upserts of the backlog's records straight into a copy of forcehook.records. */
async function rawUpsertCeiling(url: string, total: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const started = Date.now();
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < total) {
        const from = next;
        next += 100;
        const batch = Array.from({ length: Math.min(100, total - from) }, (_, i) => ({
          org_id: ORG_18, sobject_type: 'Contact', record_id: toId18(`003UPSERT${String(from + i).padStart(6, '0')}`), fields: { LastName: 'x' }, modstamp: '2026-11-20T10:00:00.000Z', deleted: false, delivery_id: String(from + i),
        }));
        await pool.query(
          `INSERT INTO bench.records AS r (org_id, sobject_type, record_id, fields, modstamp, deleted, last_delivery_id)
           SELECT * FROM json_to_recordset($1::json) AS w(org_id text, sobject_type text, record_id text, fields jsonb, modstamp timestamptz, deleted boolean, delivery_id text)
           ON CONFLICT (org_id, sobject_type, record_id) DO UPDATE SET fields = excluded.fields, modstamp = excluded.modstamp, last_delivery_id = excluded.last_delivery_id
           WHERE r.modstamp IS NULL OR excluded.modstamp >= r.modstamp`,
          [JSON.stringify(batch)],
        );
      }
    }),
  );
  await pool.end();
  return total / ((Date.now() - started) / 1000);
}

/** Stores `total` events for the mirror through forcehook's own ingest, 1,000 per transaction. */
async function fillBacklog(url: string, total: number): Promise<void> {
  const settings = { connectionString: url, ssl: false as const, max: 4 };
  const pool = createPool(settings, log);
  const boss = await startBoss({ connection: settings, log, supervise: false });
  await ensureHandlerQueues(boss, [mirrorHandler]);
  const ingest = createIngest({ pool, boss, registry: new HandlerRegistry([mirrorHandler]) });
  const at = new Date().toISOString();
  for (let done = 0; done < total; done += 1000) {
    await ingest(
      Array.from({ length: Math.min(1000, total - done) }, (_, i) => ({
        deliveryId: `backlog-${done + i}`, source: 'outbound' as const, flow: 'bench', orgId: ORG_18, sobjectType: 'Contact',
        recordId: toId18(`003UPSERT${String(done + i).padStart(6, '0')}`), operation: 'upsert' as const,
        fields: { LastName: `n${done + i}`, Email: 'x@example.com' }, modstamp: '2026-11-20T10:00:00.000Z', receivedAt: at,
      })),
    );
  }
  await boss.stop({ graceful: false, close: true });
  await pool.end();
}

function spawnNode(script: string, env: Record<string, string>): { child: ChildProcess; port: Promise<number> } {
  const child = spawn(process.execPath, [resolve(script)], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = new Promise<number>((res, rej) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const m = /listening on port (\d+)/.exec(chunk.toString());
      if (m) res(Number(m[1]));
    });
    child.once('exit', () => rej(new Error(`${script} exited`)));
  });
  return { child, port };
}

async function waitForLine(p: { output: string[] }, pattern: RegExp): Promise<void> {
  await until(async () => p.output.some((l) => pattern.test(l)), 30_000);
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function count(pool: pg.Pool, table: string): Promise<number> {
  return countWhere(pool, table);
}

async function countWhere(pool: pg.Pool, from: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${from}`);
  return Number(rows[0]?.n ?? 0);
}

/** Resident set of a process now (VmRSS), in MB. */
function currentRssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Sends `count` unsigned gzip bodies that inflate to `inflated` bytes each, all at once; counts the 4xx answers. */
async function unsignedGzipBombs(url: string, count: number, inflated: number): Promise<{ refused: number }> {
  const body = gzipSync(Buffer.alloc(inflated, 0x20));
  const answers = await Promise.all(
    Array.from({ length: count }, () =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body }).then(
        async (res) => {
          await res.arrayBuffer().catch(() => undefined);
          return res.status;
        },
        () => 0,
      ),
    ),
  );
  return { refused: answers.filter((s) => s >= 400 && s < 500).length };
}

/** Peak resident set of a process (VmHWM), in MB. */
function peakRssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

function latencyRow(figure: string, r: LoadResult): Row {
  return { figure, value: r.p99, unit: `ms (p50 ${r.p50} ms, ${r.non2xx} non-2xx, ${r.errors} errors)` };
}

function printTable(rows: Row[], machine: Record<string, unknown>): void {
  const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 10) / 10));
  console.log(`\nforcehook benchmark — ${JSON.stringify(machine)}\n`);
  const lines = rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    r.ceiling ? `${fmt(r.ceiling)} ${r.unit}` : '',
    r.ceiling ? `${Math.round((r.value / r.ceiling) * 100)}%` : '',
    r.target ? `${r.target}${r.met === undefined ? '' : r.met ? '  ✓' : '  ✗'}` : '',
  ]);
  const head = ['figure', 'forcehook', 'ceiling', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const out = (cells: string[]): void => console.log(cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  out(head);
  out(widths.map((w) => '-'.repeat(w)));
  lines.forEach(out);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
