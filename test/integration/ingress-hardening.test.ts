import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { signedHeaders } from '../../src/verification/standard-webhooks.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { countRows } from '../helpers/rows.js';
import { ORG_18, outboundPath, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Hostile senders over real HTTP: what the headers prove wrong is refused before the body is read,
 * the connection is closed after any refusal so the sender cannot keep streaming into us, and the
 * bytes all bodies hold together are capped (503 + Retry-After beyond it).
 */
let db: TestDatabase;
let service: TestService;
let port: number;

const MiB = 1024 * 1024;
/** What one holder sends of its body: 0.9 MiB. */
const HOLD = Math.floor(0.9 * MiB);

beforeAll(async () => {
  db = await createTestDatabase();
  // Web only: nothing here needs a handler. A small cap so a few requests can fill it.
  service = await startTestService(db, { worker: false, env: { WEBHOOK_SECRETS: SECRET_A, MAX_BODY_BYTES: String(MiB), MAX_INFLIGHT_BODY_BYTES: String(2 * MiB) } });
  port = Number(new URL(service.url).port);
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const callout = (n: number) => JSON.stringify({ orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [apexContact(n)], old: [] });
const now = () => Math.floor(Date.now() / 1000);

interface Streamed {
  /** Everything the server answered. */
  response: string;
  /** Body bytes the client managed to hand to its socket before the server closed it. */
  written: number;
  /** From connecting to the close. */
  ms: number;
}

/**
 * A raw client that announces a 10 GB body and writes as fast as the server lets it until the
 * connection closes (or 20 s pass, which fails the tests that expect a prompt close).
 */
function streamBody(path: string, headers: Record<string, string>): Promise<Streamed> {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let written = 0;
  let response = '';
  socket.on('connect', () => {
    const lines = Object.entries({ Host: 'localhost', 'Content-Length': String(10 * 1024 * MiB), ...headers }).map(([k, v]) => `${k}: ${v}`);
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    const pump = (): void => {
      while (!socket.destroyed && socket.writable) {
        written += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
  socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
  // EPIPE / ECONNRESET once the server closes: that is what we wait for.
  socket.on('error', () => undefined);
  const giveUp = setTimeout(() => socket.destroy(), 20_000);
  return new Promise((resolve) =>
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ response, written, ms: Date.now() - started });
    }),
  );
}

/** The refusal came back, said `Connection: close`, and the connection was closed long before REQUEST_TIMEOUT_MS (30 s). */
function expectRefusedAndClosed(streamed: Streamed, status: number): void {
  const [statusLine, ...headerLines] = streamed.response.split('\r\n\r\n')[0]!.split('\r\n');
  expect(statusLine).toBe(`HTTP/1.1 ${status} ${statusLine!.split(' ').slice(2).join(' ')}`);
  expect(headerLines.map((l) => l.toLowerCase())).toContain('connection: close');
  expect(streamed.ms).toBeLessThan(5_000);
  // What sits in the two kernels' socket buffers at most; a server that read on would take gigabytes.
  expect(streamed.written).toBeLessThan(32 * MiB);
}

describe('refused before the body is read, and the connection closed', () => {
  test('an unsigned /apex request that keeps sending its (gzip) body gets 401 and is cut off', async () => {
    const streamed = await streamBody('/apex/contacts', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    expectRefusedAndClosed(streamed, 401);
    expect(streamed.response).toContain('SIGNATURE_INVALID');
  });

  test('a /apex request signed 10 minutes ago is refused from its headers', async () => {
    const old = signedHeaders({ secret: SECRET_A, id: 'msg_stale', timestamp: now() - 600, body: callout(1) });
    const streamed = await streamBody('/apex/contacts', { 'Content-Type': 'application/json', ...old });
    expectRefusedAndClosed(streamed, 401);
    expect(streamed.response).toContain('webhook-timestamp');
  });

  test('a signed /apex request with a Content-Encoding gets 415 saying Apex sends uncompressed, before its body is read', async () => {
    const headers = signedHeaders({ secret: SECRET_A, id: 'msg_gzip', timestamp: now(), body: callout(2) });
    const streamed = await streamBody('/apex/contacts', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...headers });
    expectRefusedAndClosed(streamed, 415);
    expect(streamed.response).toContain('Apex callouts are sent uncompressed');
  });

  test('an Outbound Message with a wrong token that keeps sending gets 403 and is cut off', async () => {
    const streamed = await streamBody(outboundPath('contacts', 'wrong-token-wrong-token-wrong'), { 'Content-Type': 'text/xml' });
    expectRefusedAndClosed(streamed, 403);
    expect(streamed.response).toContain('TOKEN_INVALID');
  });

  test('a declared length over MAX_BODY_BYTES gets 413 without reading', async () => {
    const headers = signedHeaders({ secret: SECRET_A, id: 'msg_big', timestamp: now(), body: callout(3) });
    const streamed = await streamBody('/apex/contacts', { 'Content-Type': 'application/json', ...headers });
    expectRefusedAndClosed(streamed, 413);
  });

  test('a request to no route that keeps sending is cut off too', async () => {
    const streamed = await streamBody('/nowhere', { 'Content-Type': 'application/json' });
    expectRefusedAndClosed(streamed, 404);
  });

  test('an accepted request keeps its connection alive', async () => {
    const body = callout(4);
    const headers = signedHeaders({ secret: SECRET_A, id: 'msg_kept', timestamp: now(), body });
    const res = await fetch(`${service.url}/apex/contacts`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect(res.status).toBe(202);
    expect(res.headers.get('connection')).toBe('keep-alive');
  });
});

describe('Content-Encoding on /outbound', () => {
  test('gzip is still taken, counted decompressed against MAX_BODY_BYTES; other encodings get 415', async () => {
    const before = await countRows(db.pool, 'forcehook.inbox');
    const body = fixture('outbound/contacts-two.xml');
    const ok = await fetch(`${service.url}${outboundPath('contacts')}`, { method: 'POST', headers: { 'content-type': 'text/xml', 'content-encoding': 'gzip' }, body: gzipSync(body) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<Ack>true</Ack>');
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before + 2);

    // 2 MiB of spaces compress to a few kB: refused once the inflated bytes pass 1 MiB.
    const bomb = gzipSync(Buffer.concat([body, Buffer.alloc(2 * MiB, ' ')]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await fetch(`${service.url}${outboundPath('contacts')}`, { method: 'POST', headers: { 'content-type': 'text/xml', 'content-encoding': 'gzip' }, body: bomb });
    expect(big.status).toBe(413);
    expect(await big.text()).toContain('BODY_TOO_LARGE');

    const br = await fetch(`${service.url}${outboundPath('contacts')}`, { method: 'POST', headers: { 'content-type': 'text/xml', 'content-encoding': 'br' }, body });
    expect(br.status).toBe(415);
    expect(await br.text()).toContain('uncompressed');
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before + 2);
  });
});

describe('the bytes all bodies hold together are capped (MAX_INFLIGHT_BODY_BYTES)', () => {
  /** A signed callout announcing `size` bytes that writes `sent` of them, then waits. */
  function openCallout(size: number, sent: number, onResponse: (text: string) => void = () => undefined) {
    const socket = connect(port, '127.0.0.1');
    const headers = signedHeaders({ secret: SECRET_A, id: `msg_hold_${size}_${sent}`, timestamp: now(), body: 'x' });
    let response = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('close', () => onResponse(response));
    socket.on('connect', () => {
      const lines = Object.entries({ Host: 'localhost', 'Content-Type': 'application/json', 'Content-Length': String(size), ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`POST /apex/contacts HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (sent > 0) socket.write(Buffer.alloc(sent, ' '));
    });
    return socket;
  }

  /**
   * Headers only, so it holds nothing itself: the answer if the server refuses it at once, or
   * undefined when the server is waiting for its body (there was room).
   */
  function probe(size: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const socket = openCallout(size, 0, (text) => resolve(text || undefined));
      setTimeout(() => socket.destroy(), 500);
    });
  }

  test('beyond it a request gets 503 with Retry-After instead of being buffered; once bodies are released it is taken again', async () => {
    // Two senders hold 0.9 MiB each of the 2 MiB: a third 0.9 MiB body cannot fit.
    const holders = [openCallout(MiB, HOLD), openCallout(MiB, HOLD)];
    const refused = await waitFor('a request refused for want of room', () => probe(HOLD));
    const [head, body] = refused.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head!.toLowerCase()).toContain('retry-after: 5');
    expect(head!.toLowerCase()).toContain('connection: close');
    expect(body).toContain('SERVER_BUSY');

    for (const socket of holders) socket.destroy();
    await waitFor('the same size accepted once the holders are gone', async () => (await sendApex(service.url, 'contacts', callout(5) + ' '.repeat(HOLD))).status === 202);
  });
});
