import { connect } from 'node:net';
import fc from 'fast-check';
import { parseApexCallout } from '../../src/events/apex-callout.js';
import { parseOutboundMessage } from '../../src/events/outbound-message.js';
import { signedHeaders } from '../../src/verification/standard-webhooks.js';
import { apexContact, SECRET_A } from '../helpers/apex-callout.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { countRows } from '../helpers/rows.js';
import { outboundPath, ORG_15, ORG_18, startTestService, type TestService } from '../helpers/service.js';

/**
 * Generated and mutated bodies through the real HTTP app and a real database: never a 5xx, never a
 * crash, never a row for anything invalid, every reply within a second. 5,000 SOAP + 5,000 JSON.
 */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 5_000);
const SLOW = 240_000;

let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestService(db, { worker: false, env: { WEBHOOK_SECRETS: SECRET_A, MAX_BODY_BYTES: '1048576', REQUEST_TIMEOUT_MS: '2000' } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

interface Reply {
  status: number;
  ms: number;
}

async function post(path: string, body: Buffer | string, headers: Record<string, string>): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`${service.url}${path}`, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

function valid(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

let n = 0;
function soapBase(): string {
  n++;
  return buildOutboundMessage({
    orgId: ORG_15,
    notifications: [0, 1, 2].map((i) => ({ id: fakeId('04l', n * 10 + i), sobjectType: 'Contact', fields: { Id: fakeId('003', n * 10 + i), LastName: `Name ${i} & co`, Email: null } })),
  });
}

/** Edits that keep a body almost right, which is where parsers break. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string(), fc.constantFrom('<', '>', '&', '&#', '&#0;', ']]>', '<![CDATA[', '<!DOCTYPE x>', '<!ENTITY e "x">', '\u0000', '\uFFFF', '<a b="', '"', "'", '</notifications>', '<Notification>', 'xsi:nil="true"', '&lt;', '&amp;#233;')) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }), text: fc.string({ unit: 'binary', maxLength: 20 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    if (e.kind === 'insert') out = out.slice(0, at) + e.text + out.slice(at);
    else if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + e.length);
    else if (e.kind === 'replace') out = out.slice(0, at) + e.text + out.slice(at + e.length);
    else out = out.slice(0, at);
  }
  return out;
}

describe('fuzzing the ingress parsers through HTTP', () => {
  test(`${RUNS} mutated and generated SOAP bodies`, async () => {
    const body = fc.oneof(
      { weight: 6, arbitrary: fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => applyEdits(soapBase(), edits)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2000 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('latin1')) },
    );
    await fc.assert(
      fc.asyncProperty(body, async (xml) => {
        const bytes = Buffer.from(xml, 'utf8');
        const before = await countRows(db.pool, 'forcehook.inbox');
        const reply = await post(outboundPath('fuzz'), bytes, { 'content-type': 'text/xml; charset=utf-8' });
        const after = await countRows(db.pool, 'forcehook.inbox');
        expect(reply.status).toBeLessThan(500);
        expect(reply.ms).toBeLessThan(1_000);
        if (reply.status === 200) expect(valid(() => parseOutboundMessage(bytes))).toBe(true);
        else expect(after).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, SLOW);

  test(`${RUNS} generated and mutated JSON callouts, correctly signed`, async () => {
    const record = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({
        orgId: fc.oneof(fc.constant(ORG_18), fc.string({ maxLength: 20 })),
        sobjectType: fc.oneof(fc.constant('Contact'), fc.string({ maxLength: 12 })),
        operation: fc.constantFrom('insert', 'update', 'delete', 'undelete', 'merge', ''),
        new: fc.oneof(fc.array(fc.constant(null).map(() => apexContact(++n)), { maxLength: 3 }), fc.array(record, { maxLength: 3 })),
        old: fc.oneof(fc.constant([]), fc.array(record, { maxLength: 2 })),
      }),
    );
    await fc.assert(
      fc.asyncProperty(payload, fc.boolean(), async (value, breakUtf8) => {
        const text = JSON.stringify(value) ?? 'null';
        const bytes = breakUtf8 ? Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from([0xc3, 0x28]), Buffer.from(text.slice(-1))]) : Buffer.from(text);
        const headers = signedHeaders({ secret: SECRET_A, id: `msg_fuzz_${++n}`, timestamp: Math.floor(Date.now() / 1000), body: bytes });
        const before = await countRows(db.pool, 'forcehook.inbox');
        const reply = await post('/apex/fuzz', bytes, { 'content-type': 'application/json', ...headers });
        const after = await countRows(db.pool, 'forcehook.inbox');
        expect(reply.status).toBeLessThan(500);
        expect(reply.ms).toBeLessThan(1_000);
        if (reply.status === 202) expect(!breakUtf8 && valid(() => parseApexCallout(value))).toBe(true);
        else expect(after).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, SLOW);

  test('hostile bodies: entity bomb, deep nesting, 10 MB, invalid UTF-8 — refused fast, nothing stored; a huge attribute is accepted as fast', async () => {
    const base = soapBase();
    const before = await countRows(db.pool, 'forcehook.inbox');
    const cases: [string, Buffer][] = [
      ['entity bomb', Buffer.from(`<!DOCTYPE b [<!ENTITY a "${'a'.repeat(1000)}"><!ENTITY b "${'&a;'.repeat(1000)}">]>${base.replace('<?xml version="1.0" encoding="UTF-8"?>', '').replace('Name 0', '&b;&b;&b;')}`)],
      ['deep nesting', Buffer.from(base.replace('<sf:LastName>', `${'<x>'.repeat(20_000)}${'</x>'.repeat(20_000)}<sf:LastName>`))],
      ['10 MB', Buffer.alloc(10 * 1024 * 1024, 'a')],
      ['invalid UTF-8', Buffer.concat([Buffer.from(base.slice(0, 500)), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(base.slice(500))])],
      ['unclosed everything', Buffer.from('<soapenv:Envelope><soapenv:Body><notifications>'.repeat(1000))],
    ];
    for (const [name, bytes] of cases) {
      const reply = await post(outboundPath('fuzz'), bytes, { 'content-type': 'text/xml' });
      expect({ name, status: reply.status >= 400 && reply.status < 500, fast: reply.ms < 1_000 }).toEqual({ name, status: true, fast: true });
    }
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before);
    // A 900 kB attribute is well-formed XML: accepted, and no slower for it.
    const attribute = await post(outboundPath('fuzz'), Buffer.from(soapBase().replace('<Notification>', `<Notification a="${'x'.repeat(900_000)}">`)), { 'content-type': 'text/xml' });
    expect(attribute.status).toBe(200);
    expect(attribute.ms).toBeLessThan(1_000);
    // Signed, since an unsigned callout is refused (401) from its headers before its size matters.
    const tenMb = Buffer.alloc(10 * 1024 * 1024, '[');
    const huge = await post('/apex/fuzz', tenMb, { 'content-type': 'application/json', ...signedHeaders({ secret: SECRET_A, id: 'msg_huge', timestamp: Math.floor(Date.now() / 1000), body: tenMb }) });
    expect(huge.status).toBe(413);
    const unsigned = await post('/apex/fuzz', tenMb, { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
  }, SLOW);

  test('a body trickled in (slow-loris) is cut off after REQUEST_TIMEOUT_MS while others are served', async () => {
    const before = await countRows(db.pool, 'forcehook.inbox');
    const { port } = new URL(service.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('close', () => resolve(answer));
    });
    const body = soapBase();
    socket.write(`POST ${outboundPath('fuzz')} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
    }, 100);
    // Meanwhile the server answers others at once.
    const other = await post(outboundPath('fuzz'), soapBase(), { 'content-type': 'text/xml' });
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(1_000);
    const answer = await closed;
    clearInterval(trickle);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before + 3);
  }, 30_000);
});
