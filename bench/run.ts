/**
 * `npm run bench`: forcehook against the ceilings of this machine, in one run. Prints a table and
 * writes bench/results/<time>.json. Not a test: it asserts nothing, it measures.
 *
 *   SOAP ingest      100-notification messages, fixed concurrency -> notifications stored/s, p50/p99
 *                    ceiling: a raw multi-row INSERT of the same rows, one row per notification, into a
 *                    copy of forcehook.inbox (same indexes), 100 rows a statement, same connections
 *   Apex ingest      signed callouts of 1 and 200 records          -> records stored/s, p50/p99
 *                    ceiling (1 record): a bare Express endpoint + one INSERT
 *   fixed rate       1-record callouts at 500 requests/s, evenly spaced (open loop) -> p99 from when each was due;
 *                    beside it, the bare server's p99 under the same paced load; both after VACUUM
 *                    (ANALYZE) and a CHECKPOINT of the run's database
 *   worker           the mirror on a 100,000-event backlog stored through forcehook's ingest just
 *                    before (100 events a call, concurrent, as messages arrive) -> events/s handled
 *                    (forcehook.outcomes done/skipped); ceiling: raw upserts of the same records
 *   2 + 2 vs 1 + 1   sustained SOAP load for BENCH_SECONDS, then the drain, against 1 web + 1 worker
 *                    and against 2 web + 2 worker on fresh databases -> events handled/s and machine
 *                    CPU per event (/proc/stat, every process on the machine)
 *   API economy      1,000 record changes in a burst, fake Salesforce -> API calls
 *   memory           peak RSS (VmHWM) of the web and of the worker processes, separately
 *
 * Every scenario records the CPU seconds of the web process(es), the worker process(es), PostgreSQL
 * (all its processes; and those serving this run's databases plus its background processes) and
 * this process (the load generator), and the machine's busy time: the "bound" column says which
 * was saturated. The machine may be shared: its busy time then includes other work.
 *
 * BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_BACKLOG (100000); BENCH_ANALYZE=pgboss.job
 * analyzes that table after the backlog is stored (see README, Performance: stale statistics).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { adminQuery, canConnect, withDatabase } from '../src/db/admin.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { toId18 } from '../src/events/salesforce-id.js';
import { HandlerRegistry } from '../src/work/registry.js';
import { mirrorHandler } from '../src/work/mirror.js';
import { createLogger } from '../src/log.js';
import { ensureHandlerQueues, startBoss } from '../src/inbox/boss.js';
import { createIngest } from '../src/inbox/ingest.js';
import { signedHeaders } from '../src/verification/standard-webhooks.js';
import { FakeSalesforce } from '../src/testing/fake-salesforce.js';
import { buildOutboundMessage } from '../test/helpers/outbound-builder.js';
import { runCli, type CliProcess } from '../test/helpers/cli-process.js';
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
  /** The scenario whose CPU split says what bounds this figure. */
  scenario?: string;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const rows: Row[] = [];
  const say = (text: string): void => void process.stderr.write(`${text}\n`);
  const cpu: Record<string, CpuSplit> = {};

  // PostgreSQL: the configured one, the machine's, or an embedded one, and a database of our own.
  let serverUrl = [process.env['TEST_DATABASE_URL'], process.env['DATABASE_URL'], 'postgres://postgres@127.0.0.1:5432/postgres'].find(Boolean);
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!serverUrl || !(await canConnect(serverUrl))) {
    const embedded = await startEmbeddedPostgres({ dir: `.forcehook/bench-${process.pid}`, log, persistent: false });
    serverUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const dbName = `fh_bench_${process.pid}`;
  const databases = [dbName];
  await adminQuery(serverUrl, `CREATE DATABASE ${dbName}`);
  const url = withDatabase(serverUrl, dbName);
  const pool = createPool({ connectionString: url, ssl: false, max: 20 }, log);
  const children: ChildProcess[] = [];
  const fake = await new FakeSalesforce().start();
  /** Runs one scenario and keeps its CPU split under `name`; `pids` is read when it ends. */
  const measured = async <T>(name: string, pids: () => { web?: ChildProcess[]; worker?: ChildProcess[] }, run: () => Promise<T>): Promise<T> => {
    const probe = startCpuProbe(databases);
    const result = await run();
    const p = pids();
    cpu[name] = probe.stop(p.web ?? [], p.worker ?? []);
    say(`  cpu: ${describeCpu(cpu[name])} -> ${boundBy(cpu[name])}`);
    return result;
  };
  try {
    await migrate(pool);
    await pool.query(`CREATE SCHEMA bench;
      CREATE TABLE bench.inbox (LIKE forcehook.inbox INCLUDING ALL);
      CREATE TABLE bench.single (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, data jsonb NOT NULL);
      CREATE TABLE bench.records (LIKE forcehook.records INCLUDING ALL);`);
    const pgVersion = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';

    const env = { DATABASE_URL: url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, WEBHOOK_SECRETS: SECRET, LOG_LEVEL: 'info', FORCEHOOK_EXAMPLES: 'contact-match' };
    const web = startRole('web', env);
    children.push(web.child);
    const webOnly = (): { web: ChildProcess[] } => ({ web: [web.child] });
    const base = `http://127.0.0.1:${await web.port}`;

    // --- SOAP ingest, 100 notifications a message ---
    say(`SOAP ingest: 100-notification messages, ${CONNECTIONS} connections, ${SECONDS} s`);
    const soapTemplate = soapMessageTemplate(100);
    const beforeSoap = await count(pool, 'forcehook.inbox');
    const soap = await measured('soap', webOnly, () =>
      load({
        url: `${base}/outbound/bench?token=${OUTBOUND_TOKEN}`,
        connections: CONNECTIONS,
        seconds: SECONDS,
        next: () => ({ headers: { 'content-type': 'text/xml; charset=utf-8' }, body: soapTemplate() }),
      }),
    );
    const soapStored = (await count(pool, 'forcehook.inbox')) - beforeSoap;
    const soapRate = soapStored / soap.seconds;

    say(`ceiling: raw multi-row INSERT of the same rows, one per notification, 100 a statement, ${CONNECTIONS} connections`);
    const rawRate = await measured('raw insert', () => ({}), () => rawInsertCeiling(url, CONNECTIONS, SECONDS));
    rows.push({ figure: 'SOAP ingest: notifications stored/s', value: soapRate, unit: '/s', ceiling: rawRate, target: '>= 50% of ceiling', met: soapRate >= rawRate * 0.5, scenario: 'soap' });
    rows.push({ ...latencyRow('SOAP ingest: ack latency p50 / p99 (100 notifications)', soap), scenario: 'soap' });

    // --- Apex ingest ---
    say('Apex ingest: 1-record signed callouts');
    const apex1 = await measured('apex 1', webOnly, () => load({ url: `${base}/apex/bench`, connections: CONNECTIONS, seconds: SECONDS, next: () => signedApex(1) }));
    say('ceiling: bare Express + one INSERT');
    const bare = spawnNode('dist/bench/bare-server.js', { DATABASE_URL: url, PORT: '0' });
    children.push(bare.child);
    const bareUrl = `http://127.0.0.1:${await bare.port}/ingest`;
    const bareLoad = await measured('bare express', () => ({ web: [bare.child] }), () =>
      load({ url: bareUrl, connections: CONNECTIONS, seconds: SECONDS, next: () => ({ headers: { 'content-type': 'application/json' }, body: signedApex(1).body }) }),
    );
    rows.push({ figure: 'Apex ingest, 1 record: requests/s', value: apex1.rps, unit: '/s', ceiling: bareLoad.rps, target: '>= 100% of bare Express + INSERT', met: apex1.rps >= bareLoad.rps, scenario: 'apex 1' });
    rows.push({ ...latencyRow('Apex ingest, 1 record: p50 / p99', apex1), scenario: 'apex 1' });
    say('Apex ingest: 200-record signed callouts');
    const apex200 = await measured('apex 200', webOnly, () => load({ url: `${base}/apex/bench`, connections: Math.max(2, CONNECTIONS / 2), seconds: SECONDS, next: () => signedApex(200) }));
    rows.push({ figure: 'Apex ingest, 200 records: records stored/s', value: apex200.rps * 200, unit: '/s', ceiling: rawRate, target: 'ratio of the raw insert ceiling', scenario: 'apex 200' });
    rows.push({ ...latencyRow('Apex ingest, 200 records: p50 / p99', apex200), scenario: 'apex 200' });
    say('fixed rate: 1-record callouts at 500 requests/s');
    // The scenarios before wrote about a million rows: both latency runs start on a vacuumed,
    // analyzed and checkpointed database, so neither pays for the writes before it.
    say(`  vacuum, analyze and checkpoint: ${await quiet(pool)} s`);
    const fixed = await measured('fixed 500/s', webOnly, () => load({ url: `${base}/apex/bench`, connections: 20, seconds: SECONDS, rate: 500, next: () => signedApex(1) }));
    // The same paced load on the bare server (parse, one committed INSERT): the tail this machine gives anyway.
    say(`  vacuum, analyze and checkpoint: ${await quiet(pool)} s`);
    const bareFixed = await measured('bare fixed 500/s', () => ({ web: [bare.child] }), () =>
      load({ url: bareUrl, connections: 20, seconds: SECONDS, rate: 500, next: () => ({ headers: { 'content-type': 'application/json' }, body: signedApex(1).body }) }),
    );
    rows.push({ figure: 'p99 ack at 500 requests/s (1-record Apex; ceiling column: bare Express + INSERT, same load)', value: fixed.p99, unit: 'ms', ceiling: bareFixed.p99, target: '<= 25 ms', met: fixed.p99 <= 25 && fixed.non2xx === 0 && fixed.errors === 0, scenario: 'fixed 500/s' });
    const webPeaks: Record<string, number> = { 'ingest scenarios': peakRssMb(web.child.pid) };
    await stopChild(web.child);
    await stopChild(bare.child);

    // --- pre-auth memory: unsigned gzip bombs must be refused before a byte is inflated ---
    say('pre-auth: 200 concurrent unsigned /apex requests, each a gzip bomb of 5 MiB inflated');
    const fresh = startRole('web', env);
    children.push(fresh.child);
    const freshBase = `http://127.0.0.1:${await fresh.port}`;
    const idleRss = currentRssMb(fresh.child.pid);
    const bombs = await unsignedGzipBombs(`${freshBase}/apex/bench`, 200, 5 * 1024 * 1024);
    const bombPeak = peakRssMb(fresh.child.pid);
    webPeaks['gzip bombs'] = bombPeak;
    rows.push({
      figure: 'pre-auth: peak RSS of a fresh web process under 200 unsigned gzip bombs',
      value: bombPeak,
      unit: `MB (idle ${idleRss} MB; ${bombs.refused}/200 refused with 4xx)`,
      target: '<= idle + 64 MB, all refused',
      met: bombPeak <= idleRss + 64 && bombs.refused === 200,
    });
    await stopChild(fresh.child);

    // --- worker: the mirror on a backlog ---
    say(`worker: storing a backlog of ${BACKLOG} events through forcehook's ingest`);
    await pool.query("DELETE FROM pgboss.job WHERE name LIKE 'forcehook.%'");
    await pool.query('TRUNCATE forcehook.inbox CASCADE');
    await fillBacklog(url, BACKLOG);
    if (process.env['BENCH_ANALYZE']) for (const t of process.env['BENCH_ANALYZE'].split(',')) await pool.query(`VACUUM ANALYZE ${t}`);
    const worker = startRole('worker', {
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
    await measured('worker backlog', () => ({ worker: [worker.child] }), () => until(async () => (await handledCount(pool)) >= BACKLOG, 300_000, 250));
    const workerRate = BACKLOG / ((Date.now() - workerStart) / 1000);
    say('ceiling: raw upserts of the same records, 100 a statement, 2 connections');
    const upsertRate = await measured('raw upsert', () => ({}), () => rawUpsertCeiling(url, BACKLOG));
    rows.push({ figure: 'mirror worker on a 100k backlog right after the burst: events/s', value: workerRate, unit: '/s', ceiling: upsertRate, target: '>= 20,000/s', met: workerRate >= 20_000, scenario: 'worker backlog' });

    // --- API economy ---
    say('API economy: 1,000 Contact changes (300 records) in a burst, contact-match writing back');
    const economyWeb = startRole('web', env);
    children.push(economyWeb.child);
    const economyBase = `http://127.0.0.1:${await economyWeb.port}`;
    const callsBefore = fake.requests.filter((r) => r.path !== '/services/oauth2/token').length;
    for (let c = 0; c < 5; c++) {
      const records = Array.from({ length: 200 }, (_, i) => contactRecord((c * 200 + i) % 300, `2026-11-22T10:00:0${c}.000+0000`));
      const { headers, body } = signApex({ orgId: ORG_18, sobjectType: 'Contact', operation: 'update', new: records, old: [] });
      const res = await fetch(`${economyBase}/apex/contacts`, { method: 'POST', headers, body });
      if (res.status !== 202) throw new Error(`economy callout answered ${res.status}`);
    }
    await until(async () => (await countWhere(pool, "forcehook.salesforce_writes WHERE status = 'done'")) >= 1000, 60_000);
    const apiCalls = fake.requests.filter((r) => r.path !== '/services/oauth2/token').length - callsBefore;
    rows.push({ figure: 'Salesforce API calls per 1,000 changes (300 records)', value: apiCalls, unit: 'calls', target: '<= 10', met: apiCalls <= 10 });
    const workerPeaks: Record<string, number> = { 'backlog + economy': peakRssMb(worker.child.pid) };
    await stopChild(economyWeb.child);
    await stopChild(worker.child);

    // --- 2 web + 2 worker against 1 + 1 on the same cores ---
    // In the order 1+1, 2+2, 2+2, 1+1, each on a fresh database after a CHECKPOINT, so that what the
    // earlier scenarios left behind (autovacuum, dirty pages) and drift on a shared machine fall on
    // both alike; each figure sums its two runs.
    const e2eRuns: EndToEnd[] = [];
    for (const [i, n] of ([1, 2, 2, 1] as const).entries()) {
      const label = `e2e ${n}+${n} ${i < 2 ? 'a' : 'b'}`;
      say(`end to end (${label}): ${n} web + ${n} worker, SOAP 100-notification messages for ${SECONDS} s at full speed, then the drain`);
      const db = `${dbName}_e2e${i}`;
      await adminQuery(serverUrl, `CREATE DATABASE ${db}`);
      databases.push(db);
      await pool.query('CHECKPOINT');
      const result = await endToEnd(n, label, withDatabase(serverUrl, db), env, children, measured, (name) => cpu[name]!);
      e2eRuns.push(result);
      webPeaks[label] = result.webPeakMb;
      workerPeaks[label] = result.workerPeakMb;
      say(`  ${Math.round(result.handledPerSecond)} events handled/s (${result.handled} in ${result.seconds.toFixed(1)} s; stored ${Math.round(result.storedPerSecond)}/s while loaded), ${result.machineCpuMsPerEvent.toFixed(3)} ms machine CPU per event`);
    }
    const combined = (n: 1 | 2): { handledPerSecond: number; machineCpuMsPerEvent: number; ownCpuMsPerEvent: number } => {
      const runs = e2eRuns.filter((r) => r.processes === n);
      const handled = runs.reduce((sum, r) => sum + r.handled, 0);
      const split = sumSplits(runs.map((r) => cpu[r.label]!));
      cpu[`e2e ${n}+${n}`] = split;
      return {
        handledPerSecond: handled / runs.reduce((sum, r) => sum + r.seconds, 0),
        machineCpuMsPerEvent: (split.machineBusyS * 1000) / Math.max(1, handled),
        ownCpuMsPerEvent: ((split.webS + split.workerS + split.postgresOursS + split.benchS) * 1000) / Math.max(1, handled),
      };
    };
    const one = combined(1);
    const two = combined(2);
    rows.push({ figure: '2 web + 2 worker: events handled/s (ceiling: 1 + 1)', value: two.handledPerSecond, unit: '/s', ceiling: one.handledPerSecond, target: 'no worse than -10%', met: two.handledPerSecond >= one.handledPerSecond * 0.9, scenario: 'e2e 2+2' });
    /** CPU per event of 2 + 2 against 1 + 1, in µs, its change as the target column. */
    const cpuRow = (figure: string, twoMs: number, oneMs: number): Row => {
      const change = twoMs / oneMs - 1;
      return { figure, value: twoMs * 1000, unit: 'µs', ceiling: oneMs * 1000, target: `${change >= 0 ? '+' : ''}${Math.round(change * 100)}% CPU per event`, scenario: 'e2e 2+2' };
    };
    rows.push(cpuRow('2 web + 2 worker: machine CPU per event (ceiling: 1 + 1)', two.machineCpuMsPerEvent, one.machineCpuMsPerEvent));
    // The machine's busy time includes whatever else runs on it; this run's own processes do not.
    rows.push(cpuRow("2 web + 2 worker: CPU per event of this run's processes (ceiling: 1 + 1)", two.ownCpuMsPerEvent, one.ownCpuMsPerEvent));

    const webPeak = Math.max(...Object.values(webPeaks));
    const workerPeak = Math.max(...Object.values(workerPeaks));
    const peaks = (p: Record<string, number>): string => Object.entries(p).map(([k, v]) => `${k} ${v}`).join(', ');
    rows.push({ figure: 'peak RSS: web process', value: webPeak, unit: `MB (${peaks(webPeaks)})`, target: '<= 150 MB', met: webPeak <= 150 });
    rows.push({ figure: 'peak RSS: worker process', value: workerPeak, unit: `MB (${peaks(workerPeaks)})`, target: '<= 150 MB', met: workerPeak <= 150 });

    const result = {
      date: startedAt.toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, postgres: pgVersion },
      settings: { seconds: SECONDS, connections: CONNECTIONS, backlog: BACKLOG },
      figures: rows,
      cpu,
      raw: { soap, apex1, bareLoad, apex200, fixed, bareFixed, rawInsertRowsPerSecond: rawRate, upsertRate, endToEnd: { '1+1': one, '2+2': two, runs: e2eRuns }, webPeakMb: webPeaks, workerPeakMb: workerPeaks },
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    };
    mkdirSync(resolve('bench/results'), { recursive: true });
    const file = resolve(`bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printTable(rows, cpu, result.machine);
    console.log(`\n${result.durationSeconds} s; results in ${file}`);
  } finally {
    await Promise.all(children.map(stopChild));
    await fake.stop();
    await pool.end();
    for (const db of databases) await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await stopEmbedded?.();
  }
}

interface EndToEnd {
  label: string;
  processes: number;
  /** Events stored (inbox rows) and handled by the mirror (outcomes done or skipped). */
  stored: number;
  handled: number;
  /** From the first request to the last event handled: the load window plus the drain. */
  seconds: number;
  loadSeconds: number;
  handledPerSecond: number;
  storedPerSecond: number;
  machineCpuMsPerEvent: number;
  ownCpuMsPerEvent: number;
  load: LoadResult[];
  webPeakMb: number;
  workerPeakMb: number;
}

type Measured = <T>(name: string, pids: () => { web?: ChildProcess[]; worker?: ChildProcess[] }, run: () => Promise<T>) => Promise<T>;

/**
 * Vacuums and analyzes the run's database, then checkpoints, and returns the seconds it took: a
 * latency run that follows a million written rows must not pay for them in autovacuum or in a
 * checkpoint (autovacuum may only notice the tables up to a minute later, so waiting for it is not enough).
 */
async function quiet(pool: pg.Pool): Promise<number> {
  const started = Date.now();
  await pool.query('VACUUM (ANALYZE)');
  await pool.query('CHECKPOINT');
  return Math.round((Date.now() - started) / 100) / 10;
}

/**
 * `n` web and `n` worker processes (mirror) on a fresh database: SOAP messages of 100 notifications
 * at full speed for SECONDS from two load generators of CONNECTIONS/2 each (one per web process when
 * there are two), then the wait until every stored event is handled. Throughput is events handled
 * over that whole time; CPU per event is the machine's busy CPU time over it divided by the events.
 * Every process gets DATABASE_POOL_MAX=8 in both set-ups (2 + 2 then uses 48 connections).
 */
async function endToEnd(n: 1 | 2, label: string, url: string, baseEnv: Record<string, string>, children: ChildProcess[], measured: Measured, cpuOf: (name: string) => CpuSplit): Promise<EndToEnd> {
  const pool = createPool({ connectionString: url, ssl: false, max: 2 }, log);
  try {
    await migrate(pool);
    const env = { ...baseEnv, DATABASE_URL: url, DATABASE_POOL_MAX: '8' };
    const webs = Array.from({ length: n }, () => startRole('web', env));
    const workers = Array.from({ length: n }, () => startRole('worker', env));
    children.push(...webs.map((w) => w.child), ...workers.map((w) => w.child));
    const ports = await Promise.all(webs.map((w) => w.port));
    await Promise.all(workers.map((w) => waitForLine(w, /worker started/)));
    const template = soapMessageTemplate(100);
    const pids = (): { web: ChildProcess[]; worker: ChildProcess[] } => ({ web: webs.map((w) => w.child), worker: workers.map((w) => w.child) });
    const started = Date.now();
    let loadEnded = 0;
    let stored = 0;
    const loads = await measured(label, pids, async () => {
      const loads = await Promise.all(
        [0, 1].map((i) =>
          load({
            url: `http://127.0.0.1:${ports[i % n]}/outbound/bench?token=${OUTBOUND_TOKEN}`,
            connections: Math.max(1, Math.floor(CONNECTIONS / 2)),
            seconds: SECONDS,
            next: () => ({ headers: { 'content-type': 'text/xml; charset=utf-8' }, body: template() }),
          }),
        ),
      );
      loadEnded = Date.now();
      // Requests still in flight when the load stops are stored a little later: count them too.
      await until(async () => {
        stored = await count(pool, 'forcehook.inbox');
        return (await handledCount(pool)) >= stored;
      }, 600_000, 500);
      return loads;
    });
    const seconds = (Date.now() - started) / 1000;
    const handled = await handledCount(pool);
    const split = cpuOf(label);
    const result: EndToEnd = {
      label,
      processes: n,
      stored,
      handled,
      seconds,
      loadSeconds: (loadEnded - started) / 1000,
      handledPerSecond: handled / seconds,
      storedPerSecond: stored / ((loadEnded - started) / 1000),
      machineCpuMsPerEvent: (split.machineBusyS * 1000) / Math.max(1, handled),
      ownCpuMsPerEvent: ((split.webS + split.workerS + split.postgresOursS + split.benchS) * 1000) / Math.max(1, handled),
      load: loads,
      webPeakMb: Math.max(...webs.map((w) => peakRssMb(w.child.pid))),
      workerPeakMb: Math.max(...workers.map((w) => peakRssMb(w.child.pid))),
    };
    await Promise.all([...webs, ...workers].map((p) => stopChild(p.child)));
    return result;
  } finally {
    await pool.end();
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

/**
 * The SOAP ceiling: the rows our ingest stores for a message, one per notification, as a raw
 * multi-row INSERT (100 rows a statement, its own transaction) into a copy of forcehook.inbox with
 * the same indexes, over the same number of connections. No job rows, no parsing, no verification.
 */
async function rawInsertCeiling(url: string, connections: number, seconds: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  const columns = ['org_id', 'delivery_id', 'source', 'flow', 'sobject_type', 'record_id', 'operation', 'fields', 'modstamp', 'received_at'];
  const sql = `INSERT INTO bench.inbox (${columns.join(', ')}) VALUES ${Array.from({ length: 100 }, (_, r) => `(${columns.map((_c, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ')}`;
  const deadline = Date.now() + seconds * 1000;
  let rows = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < deadline) {
        const at = new Date().toISOString();
        const values: unknown[] = [];
        for (let i = 0; i < 100; i++) {
          values.push(ORG_18, nextId('04l'), 'outbound', 'bench', 'Contact', toId18(nextId('003')), 'upsert',
            JSON.stringify({ Id: 'x', FirstName: 'Ada', LastName: `Lovelace ${i}`, Email: `ada${i}@example.com`, SystemModstamp: '2026-11-20T10:00:00.000Z' }), '2026-11-20T10:00:00.000Z', at);
        }
        await pool.query(sql, values);
        rows += 100;
      }
    }),
  );
  const rate = rows / ((Date.now() - started) / 1000);
  await pool.end();
  return rate;
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

/**
 * Stores `total` events for the mirror through forcehook's own ingest the way traffic arrives: one
 * call per 100-notification message, 8 messages in flight (group commit puts several in one
 * transaction, as it does for concurrent requests).
 */
async function fillBacklog(url: string, total: number): Promise<void> {
  const settings = { connectionString: url, ssl: false as const, max: 10 };
  const pool = createPool(settings, log);
  const boss = await startBoss({ connection: settings, log, supervise: false });
  await ensureHandlerQueues(boss, [mirrorHandler]);
  const ingest = createIngest({ pool, boss, registry: new HandlerRegistry([mirrorHandler]), maxConcurrent: 5 });
  const at = new Date().toISOString();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < total) {
        const done = next;
        next += 100;
        await ingest(
          Array.from({ length: Math.min(100, total - done) }, (_, i) => ({
            deliveryId: `backlog-${done + i}`, source: 'outbound' as const, flow: 'bench', orgId: ORG_18, sobjectType: 'Contact',
            recordId: toId18(`003UPSERT${String(done + i).padStart(6, '0')}`), operation: 'upsert' as const,
            fields: { LastName: `n${done + i}`, Email: 'x@example.com' }, modstamp: '2026-11-20T10:00:00.000Z', receivedAt: at,
          })),
        );
      }
    }),
  );
  await boss.stop({ graceful: false, close: true });
  await pool.end();
}

/** Events the mirror has finished: counted from forcehook.outcomes (the inbox status may not be kept). */
async function handledCount(pool: pg.Pool): Promise<number> {
  return countWhere(pool, "forcehook.outcomes WHERE handler = 'forcehook.mirror' AND outcome IN ('done', 'skipped')");
}

/** SIGTERM, then waits for the exit. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * `forcehook start --web` or `--worker` with the node flags the Procfile gives that role (as
 * NODE_OPTIONS): the benchmark measures the processes a deployment runs.
 */
function startRole(role: 'web' | 'worker', env: Record<string, string>): CliProcess {
  const line = readFileSync(resolve('Procfile'), 'utf8').split('\n').find((l) => l.startsWith(`${role}:`)) ?? '';
  const flags = (/\bnode\s+((?:--\S+\s+)*)/.exec(line)?.[1] ?? '').trim();
  return runCli(['start', `--${role}`], flags ? { ...env, NODE_OPTIONS: flags } : env);
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

async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await new Promise((r) => setTimeout(r, everyMs));
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

function printTable(rows: Row[], cpu: Record<string, CpuSplit>, machine: Record<string, unknown>): void {
  const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 10) / 10));
  console.log(`\nforcehook benchmark — ${JSON.stringify(machine)}\n`);
  const lines = rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    r.ceiling ? `${fmt(r.ceiling)} ${r.unit.split(' ')[0]}` : '',
    r.ceiling ? `${Math.round((r.value / r.ceiling) * 100)}%` : '',
    r.target ? `${r.target}${r.met === undefined ? '' : r.met ? '  ✓' : '  ✗'}` : '',
    r.scenario && cpu[r.scenario] ? boundBy(cpu[r.scenario]!) : '',
  ]);
  const head = ['figure', 'forcehook', 'ceiling', 'ratio', 'target', 'bound (CPU split of the run)'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const out = (cells: string[]): void => console.log(cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  out(head);
  out(widths.map((w) => '-'.repeat(w)));
  lines.forEach(out);
  console.log('\nCPU seconds per scenario (web = forcehook web process(es) or the bare server; pg = this run\'s PostgreSQL backends + background processes; gen = this process, the load generator):');
  for (const [name, c] of Object.entries(cpu)) console.log(`  ${name.padEnd(15)} ${describeCpu(c)}`);
}

// --- CPU accounting from /proc ---

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

interface CpuSplit {
  wallS: number;
  /** Busy time of the whole machine (every process, ours or not), from /proc/stat. */
  machineBusyS: number;
  cores: number;
  webS: number;
  workerS: number;
  /** Every postgres process (utime + stime + cutime + cstime): includes other databases' work. */
  postgresS: number;
  /** Backends of this run's databases and PostgreSQL's background processes, without exited children. */
  postgresOursS: number;
  /** This process: the load generator (autocannon) and the ceilings' clients. */
  benchS: number;
}

/** utime, stime, cutime, cstime of a process, in ticks; 0 once it has gone. */
function procTicks(pid: number | undefined, children = true): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}

/**
 * Every postgres process now: its ticks with its reaped children's (`ticks`: the postmaster's
 * include every backend that exited, of any database) and without (`own`), and whether it serves one
 * of `databases` or is a background process.
 */
function postgresProcesses(databases: readonly string[]): Map<number, { ticks: number; own: number; ours: boolean }> {
  const found = new Map<number, { ticks: number; own: number; ours: boolean }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const backend = /\(\d+\)|\[local\]/.test(title);
      const words = title.split(/\s+/);
      found.set(Number(entry), { ticks: procTicks(Number(entry)), own: procTicks(Number(entry), false), ours: !backend || databases.some((d) => words.includes(d)) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function machineTicks(): { busy: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line;
  void idle;
  void iowait;
  return { busy: user + nice + system + irq + softirq + steal };
}

function startCpuProbe(databases: readonly string[]): { stop(web: ChildProcess[], worker: ChildProcess[]): CpuSplit } {
  const started = Date.now();
  const machine = machineTicks();
  const pg0 = postgresProcesses(databases);
  // This run's backends come and go (pools of the ceilings, of the processes started and stopped):
  // sampled twice a second, each is counted up to when it was last seen.
  const seen = new Map<number, { first: number; last: number; ours: boolean }>();
  for (const [pid, p] of pg0) seen.set(pid, { first: p.own, last: p.own, ours: p.ours });
  const sample = (): Map<number, { ticks: number; own: number; ours: boolean }> => {
    const now = postgresProcesses(databases);
    for (const [pid, p] of now) {
      const known = seen.get(pid);
      if (known) known.last = p.own;
      else seen.set(pid, { first: 0, last: p.own, ours: p.ours });
    }
    return now;
  };
  const sampler = setInterval(sample, 500);
  const self = process.cpuUsage();
  // Children started before the probe: their ticks so far are not this scenario's.
  const before = new Map<number, number>();
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) before.set(Number(entry), procTicks(Number(entry), false));
  return {
    stop(web, worker) {
      clearInterval(sampler);
      const pg1 = sample();
      let all = 0;
      for (const [pid, p] of pg1) all += p.ticks - (pg0.get(pid)?.ticks ?? 0);
      // A backend that exited meanwhile came back whole in the postmaster's cutime: take off what
      // it had used before the scenario.
      for (const [pid, p] of pg0) if (!pg1.has(pid)) all -= p.ticks;
      let ours = 0;
      for (const p of seen.values()) if (p.ours) ours += p.last - p.first;
      const ticksOf = (list: ChildProcess[]): number => list.reduce((sum, c) => sum + procTicks(c.pid, false) - (before.get(c.pid ?? 0) ?? 0), 0);
      const own = process.cpuUsage(self);
      return {
        wallS: (Date.now() - started) / 1000,
        machineBusyS: (machineTicks().busy - machine.busy) / TICKS_PER_SECOND,
        cores: cpus().length,
        webS: ticksOf(web) / TICKS_PER_SECOND,
        workerS: ticksOf(worker) / TICKS_PER_SECOND,
        postgresS: all / TICKS_PER_SECOND,
        postgresOursS: ours / TICKS_PER_SECOND,
        benchS: (own.user + own.system) / 1e6,
      };
    },
  };
}

function sumSplits(splits: CpuSplit[]): CpuSplit {
  const total: CpuSplit = { wallS: 0, machineBusyS: 0, cores: cpus().length, webS: 0, workerS: 0, postgresS: 0, postgresOursS: 0, benchS: 0 };
  for (const c of splits) for (const k of ['wallS', 'machineBusyS', 'webS', 'workerS', 'postgresS', 'postgresOursS', 'benchS'] as const) total[k] += c[k];
  return total;
}

function describeCpu(c: CpuSplit): string {
  const s = (n: number): string => `${n.toFixed(1)} s`;
  const others = Math.max(0, c.machineBusyS - c.webS - c.workerS - c.postgresOursS - c.benchS);
  return `${s(c.wallS)} wall, machine ${Math.round((c.machineBusyS / (c.wallS * c.cores)) * 100)}% busy (${s(c.machineBusyS)}): web ${s(c.webS)}, worker ${s(c.workerS)}, pg ${s(c.postgresOursS)} (all postgres ${s(c.postgresS)}), gen ${s(c.benchS)}, others ${s(others)}`;
}

/** Which resource a scenario ran out of, read from its CPU split. */
function boundBy(c: CpuSplit): string {
  const busy = c.machineBusyS / (c.wallS * c.cores);
  const parts: [string, number][] = [
    ['web', c.webS],
    ['worker', c.workerS],
    ['pg', c.postgresOursS],
    ['gen', c.benchS],
  ];
  // Whatever else ran on the machine meanwhile (other databases, other people's processes).
  parts.push(['others', Math.max(0, c.machineBusyS - c.webS - c.workerS - c.postgresOursS - c.benchS)]);
  const used = parts.filter(([, v]) => v > 0.05 * c.wallS).sort((a, b) => b[1] - a[1]);
  const shares = used.map(([k, v]) => `${k} ${Math.round((v / c.wallS) * 100)}%`).join(', ');
  if (busy >= 0.9) return `CPU: machine ${Math.round(busy * 100)}% busy (${shares} of a core)`;
  const oneCore = used.find(([k, v]) => k !== 'pg' && k !== 'others' && v / c.wallS >= 0.9);
  if (oneCore) return `one core: ${oneCore[0]} ${Math.round((oneCore[1] / c.wallS) * 100)}% (machine ${Math.round(busy * 100)}%; ${shares})`;
  return `waits, not CPU: machine ${Math.round(busy * 100)}% busy (${shares} of a core)`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
