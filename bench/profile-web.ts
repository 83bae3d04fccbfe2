/**
 * The web process's CPU per request, measured where a shared machine cannot blur it: a fresh
 * `forcehook start --web` (optionally under --cpu-prof) is loaded with one kind of request, and its
 * own user+system CPU time (from /proc) is divided by the requests it answered. Throughput and
 * latency are printed too, but on shared cores they move with the neighbours; CPU per request does not.
 *
 *   npm run build && tsc -p tsconfig.bench.json && node dist/bench/profile-web.js soap apex rate500
 *
 * Modes: soap (100-notification Outbound Messages), apex (1-record signed callouts), rate500 (1-record
 * callouts at 500/s, 20 connections). PROFILE_SECONDS (10), PROFILE_CONNECTIONS (16), PROFILE_CPU=1
 * writes a .cpuprofile per mode into PROFILE_DIR (.forcehook/profiles) and prints its top functions.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { adminQuery, withDatabase } from '../src/db/admin.js';
import { toId18 } from '../src/events/salesforce-id.js';
import { signedHeaders } from '../src/verification/standard-webhooks.js';
import { buildOutboundMessage } from '../test/helpers/outbound-builder.js';
import { load } from './load.js';

const SECONDS = Number(process.env['PROFILE_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['PROFILE_CONNECTIONS'] ?? 16);
const CPU_PROFILE = process.env['PROFILE_CPU'] === '1';
const PROFILE_DIR = resolve(process.env['PROFILE_DIR'] ?? '.forcehook/profiles');
const SERVER = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ORG_15 = '00D5g00000BENCH';
const ORG_18 = toId18(ORG_15);
const TOKEN = randomBytes(24).toString('hex');
const SECRET = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const TICKS = 100; // USER_HZ

let counter = 0;
const nextId = (prefix: string): string => `${prefix}${(counter++).toString(36).padStart(12, '0')}`;

function soapTemplate(): () => string {
  const xml = buildOutboundMessage({
    orgId: ORG_15,
    notifications: Array.from({ length: 100 }, (_, i) => ({
      id: `NOTE${i}ID`,
      sobjectType: 'Contact',
      fields: { Id: `RECORD${i}ID`, FirstName: 'Ada', LastName: `Lovelace ${i}`, Email: `ada${i}@example.com`, SystemModstamp: '2026-11-20T10:00:00.000Z' },
    })),
  });
  const parts = xml.split(/(NOTE\d+ID|RECORD\d+ID)/);
  return () => parts.map((p) => (/^NOTE\d+ID$/.test(p) ? nextId('04l') : /^RECORD\d+ID$/.test(p) ? nextId('003') : p)).join('');
}

function signedApex(): { headers: Record<string, string>; body: string } {
  const id = toId18(nextId('003'));
  const record = { attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` }, Id: id, FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com', SystemModstamp: '2026-11-20T10:00:00.000+0000' };
  const body = JSON.stringify({ orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [record], old: [] });
  return { headers: { 'content-type': 'application/json', ...signedHeaders({ secret: SECRET, id: `msg_${randomUUID()}`, timestamp: Math.floor(Date.now() / 1000), body }) }, body };
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function runMode(mode: string, url: string): Promise<void> {
  const dir = join(PROFILE_DIR, `${mode}-${Date.now()}`);
  if (CPU_PROFILE) mkdirSync(dir, { recursive: true });
  const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', DATABASE_URL: url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN: TOKEN, WEBHOOK_SECRETS: SECRET, LOG_LEVEL: 'info', ...(process.env['NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['NODE_OPTIONS'] } : {}) };
  const args = [...(CPU_PROFILE ? ['--inspect=127.0.0.1:0'] : []), resolve('dist/src/cli/main.js'), 'start', '--web'];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logBytes = 0;
  let inspectorUrl: string | undefined;
  const port = await new Promise<number>((res, rej) => {
    child.stdout.on('data', (chunk: Buffer) => {
      logBytes += chunk.length;
      const m = /listening on port (\d+)/.exec(chunk.toString());
      if (m) res(Number(m[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(chunk.toString());
      if (m) inspectorUrl = m[1];
      else if (!/For help, see|Debugger attached|Waiting for the debugger/.test(chunk.toString())) process.stderr.write(chunk);
    });
    child.once('exit', () => rej(new Error('web process exited')));
  });
  const base = `http://127.0.0.1:${port}`;
  const soap = soapTemplate();
  const next =
    mode === 'soap'
      ? () => ({ headers: { 'content-type': 'text/xml; charset=utf-8' }, body: soap() })
      : signedApex;
  const target = mode === 'soap' ? `${base}/outbound/bench?token=${TOKEN}` : `${base}/apex/bench`;
  // Warm-up: JIT and pools, not counted.
  await load({ url: target, connections: 4, seconds: 2, next });
  const inspector = CPU_PROFILE && inspectorUrl ? await Inspector.connect(inspectorUrl) : undefined;
  if (inspector) {
    await inspector.send('Profiler.enable');
    await inspector.send('Profiler.setSamplingInterval', { interval: 200 });
    await inspector.send('Profiler.start');
  }
  const ticks0 = cpuTicks(child.pid!);
  const logBytes0 = logBytes;
  const r = await load({ url: target, connections: mode === 'rate500' ? 20 : CONNECTIONS, seconds: SECONDS, next, ...(mode === 'rate500' ? { rate: 500 } : {}) });
  const cpuMs = ((cpuTicks(child.pid!) - ticks0) / TICKS) * 1000;
  let profileFile: string | undefined;
  if (inspector) {
    const { profile } = (await inspector.send('Profiler.stop')) as { profile: unknown };
    profileFile = join(dir, `${mode}.cpuprofile`);
    writeFileSync(profileFile, JSON.stringify(profile));
    inspector.close();
  }
  const perRequest = cpuMs / Math.max(1, r.requests);
  const notes = mode === 'soap' ? `${Math.round(r.rps * 100)} notifications/s` : `${Math.round(r.rps)} req/s`;
  console.log(
    `${mode.padEnd(8)} ${notes.padEnd(22)} ok ${r.ok} non2xx ${r.non2xx} err ${r.errors}  p50 ${r.p50} ms p99 ${r.p99} ms  ` +
      `web CPU ${(cpuMs / r.seconds / 10).toFixed(0)}% of a core, ${perRequest.toFixed(3)} ms/request` +
      `${mode === 'soap' ? ` (${((perRequest / 100) * 1000).toFixed(1)} µs/notification)` : ''}, log ${Math.round((logBytes - logBytes0) / Math.max(1, r.requests))} B/request`,
  );
  child.kill('SIGTERM');
  await new Promise((res) => (child.exitCode !== null ? res(null) : child.once('exit', res)));
  if (profileFile) summarize(profileFile);
}

/** Just enough of the DevTools protocol to start and stop the CPU profiler over the inspector's WebSocket. */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e: MessageEvent) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
    });
  }
  static connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    return new Promise((res, rej) => {
      ws.addEventListener('open', () => res(new Inspector(ws)));
      ws.addEventListener('error', () => rej(new Error('inspector connection failed')));
    });
  }
  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((res) => {
      this.pending.set(id, res);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close(): void {
    this.ws.close();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time by function and by module, from a V8 .cpuprofile. */
export function summarize(file: string, top = 15): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The nearest ancestor with a script: who called a native function. */
  const caller = (id: number): string => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      if (f.url) return `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}`;
    }
    return '?';
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, t]) => a + t, 0);
  const busy = total - [...self.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const short = url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^file:\/\/\S*\/wt-[^/]+\//, '');
    const key = url ? `${functionName || '(anon)'} ${short}:${lineNumber + 1}` : `${functionName} <- ${caller(id)}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const module = m ? m[1]! : url.startsWith('node:') ? 'node:' + url.slice(5).split('/')[0] : url.includes('/dist/src/') ? 'forcehook ' + url.split('/dist/src/')[1] : functionName.startsWith('(') ? functionName : '(native/builtin)';
    mod.set(module, (mod.get(module) ?? 0) + t);
  }
  const pct = (t: number): string => `${((t / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(`  profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(((total - busy) / total) * 100).toFixed(0)}% idle, (program)+(idle) ${(idle / 1e6).toFixed(1)} s; shares below are of busy time`);
  console.log('  top functions (self):');
  for (const [k, t] of [...fn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`   ${pct(t)}  ${k}`);
  console.log('  by module (self):');
  for (const [k, t] of [...mod.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`   ${pct(t)}  ${k}`);
}

async function main(): Promise<void> {
  const modes = process.argv.slice(2);
  if (modes[0] === 'summarize') {
    for (const f of modes.slice(1)) summarize(f, 25);
    return;
  }
  const name = `fh_profile_${process.pid}`;
  await adminQuery(SERVER, `CREATE DATABASE ${name}`);
  try {
    const url = withDatabase(SERVER, name);
    for (const mode of modes.length > 0 ? modes : ['soap', 'apex', 'rate500']) {
      await runMode(mode, url);
      // Each mode starts from an empty inbox and queue.
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      await pool.query("TRUNCATE forcehook.inbox CASCADE; DELETE FROM pgboss.job WHERE name LIKE 'forcehook.%'").catch(() => undefined);
      await pool.end();
    }
  } finally {
    await adminQuery(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
