import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { countRows, inboxRows, jobsByQueue } from '../helpers/rows.js';
import { OUTBOUND_TOKEN, ORG_15, ORG_18, STRANGER_ORG, startTestService, type TestService } from '../helpers/service.js';

const ACK =
  /^<\?xml version="1.0" encoding="UTF-8"\?><soapenv:Envelope xmlns:soapenv="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"><soapenv:Body><notificationsResponse xmlns="http:\/\/soap.sforce.com\/2005\/09\/outbound"><Ack>true<\/Ack><\/notificationsResponse><\/soapenv:Body><\/soapenv:Envelope>$/;
const TOKEN = 'token-for-tests-0123456789abcdef';

let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  // Web only: these tests look at what is stored, before any handler touches it.
  // The contact-match example runs too, loaded as a deployment opts into it, so routing to several handlers shows.
  service = await startTestService(db, { worker: false, env: { OUTBOUND_FLOW_TOKENS: `secured=${TOKEN}`, FORCEHOOK_EXAMPLES: 'contact-match' } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query('TRUNCATE forcehook.inbox CASCADE');
  await db.pool.query('DELETE FROM pgboss.job');
});

/** Posts with the service's token unless the path brings its own `?token=` (or none, by `?`). */
function post(path: string, body: string | Buffer, contentType = 'text/xml; charset=utf-8') {
  const url = path.includes('?') ? path : `${path}?token=${OUTBOUND_TOKEN}`;
  return request(service.url).post(url).set('Content-Type', contentType).send(typeof body === 'string' ? Buffer.from(body) : body);
}

function message(count: number, offset = 0): string {
  return buildOutboundMessage({
    orgId: ORG_15,
    notifications: Array.from({ length: count }, (_, i) => ({
      id: fakeId('04l', offset + i),
      sobjectType: 'Contact',
      fields: { Id: fakeId('003', offset + i), LastName: `Name ${i}`, SystemModstamp: '2026-11-20T10:00:00.000Z' },
    })),
  });
}

function faultOf(text: string): { faultcode: string; faultstring: string } {
  const code = /<faultcode>([^<]*)<\/faultcode>/.exec(text)?.[1] ?? '';
  const str = /<faultstring>([^<]*)<\/faultstring>/.exec(text)?.[1] ?? '';
  return { faultcode: code, faultstring: str };
}

describe('POST /outbound/:flow', () => {
  test('acknowledges a message and stores one inbox row and one job per notification', async () => {
    const res = await post('/outbound/contacts', fixture('outbound/contacts-two.xml'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.text).toMatch(ACK);
    const rows = await inboxRows(db.pool);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      org_id: ORG_18,
      delivery_id: '04l5g00000Ab1CdAAJ',
      source: 'outbound',
      flow: 'contacts',
      sobject_type: 'Contact',
      record_id: '0035g00000XyZ01AAF',
      operation: 'upsert',
      status: 'received',
      fields: { Id: '0035g00000XyZ01AAF', Email: 'ada.lovelace@example.com', FirstName: 'Ada', LastName: 'Lovelace' },
    });
    expect(rows[0]?.modstamp?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    // Every handler whose match fits gets a job: the mirror, and the example for the contacts flow.
    expect(await jobsByQueue(db.pool)).toEqual({ 'forcehook.mirror': 2, 'forcehook.contact-match': 2 });
    expect(rows[0]?.outcomes).toEqual({});
  });

  test('never stores the SessionId', async () => {
    await post('/outbound/contacts', fixture('outbound/contacts-two.xml')).expect(200);
    const dump = await db.pool.query("SELECT row_to_json(i)::text AS t FROM forcehook.inbox i UNION ALL SELECT data::text FROM pgboss.job");
    for (const row of dump.rows as { t: string }[]) expect(row.t).not.toContain('FAKE.SESSION');
  });

  test('a redelivered message is acknowledged again but stored once', async () => {
    const body = fixture('outbound/contacts-two.xml');
    await post('/outbound/contacts', body).expect(200);
    const again = await post('/outbound/contacts', body);
    expect(again.status).toBe(200);
    expect(again.text).toMatch(ACK);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(2);
    expect(await jobsByQueue(db.pool)).toEqual({ 'forcehook.mirror': 2, 'forcehook.contact-match': 2 });
  });

  test('a message that repeats some notifications stores only the new ones', async () => {
    await post('/outbound/contacts', message(3)).expect(200);
    await post('/outbound/contacts', message(5)).expect(200);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(5);
    expect(await jobsByQueue(db.pool)).toEqual({ 'forcehook.mirror': 5, 'forcehook.contact-match': 5 });
  });

  test('100 notifications in one message are stored together', async () => {
    const res = await post('/outbound/contacts', message(100));
    expect(res.status).toBe(200);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(100);
    // One transaction: every row carries the same transaction id.
    const xids = await db.pool.query('SELECT DISTINCT xmin::text FROM forcehook.inbox');
    expect(xids.rowCount).toBe(1);
  });

  test.each(['custom-object', 'single-line'])('accepts our %s fixture', async (name) => {
    const file = name === 'custom-object' ? 'outbound/invoice-custom-object.xml' : 'outbound/account-id-only-single-line.xml';
    await post('/outbound/things', fixture(file)).expect(200);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(1);
  });

  test('an org that is not allowed gets a Client fault with 403 and nothing is stored', async () => {
    const res = await post('/outbound/contacts', buildOutboundMessage({ orgId: STRANGER_ORG, notifications: [{ id: fakeId('04l', 1), sobjectType: 'Contact', fields: { Id: fakeId('003', 1) } }] }));
    expect(res.status).toBe(403);
    expect(faultOf(res.text)).toEqual({ faultcode: 'soapenv:Client', faultstring: expect.stringContaining('ORG_NOT_ALLOWED') });
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
  });

  test('the 18-character form of an allowed 15-character org id is allowed', async () => {
    const body = buildOutboundMessage({ orgId: ORG_18, notifications: [{ id: fakeId('04l', 1), sobjectType: 'Contact', fields: { Id: fakeId('003', 1) } }] });
    await post('/outbound/contacts', body).expect(200);
  });

  test('a flow with a token refuses a missing or wrong token and accepts the right one', async () => {
    const body = message(1);
    const missing = await post('/outbound/secured?', body);
    expect(missing.status).toBe(401);
    expect(faultOf(missing.text).faultstring).toContain('TOKEN_INVALID');
    const wrong = await post('/outbound/secured?token=not-the-token-at-all', body);
    expect(wrong.status).toBe(403);
    expect(wrong.text).not.toContain(TOKEN);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
    await post(`/outbound/secured?token=${TOKEN}`, body).expect(200);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(1);
  });

  test('on a real database every flow needs a token: without OUTBOUND_TOKEN a flow with none of its own is refused', async () => {
    expect((await post('/outbound/contacts?', message(1))).status).toBe(401);
    const strict = await startTestService(db, { worker: false, env: { OUTBOUND_TOKEN: '', OUTBOUND_FLOW_TOKENS: `secured=${TOKEN}` } });
    try {
      const res = await request(strict.url).post(`/outbound/contacts?token=${OUTBOUND_TOKEN}`).set('Content-Type', 'text/xml').send(Buffer.from(message(1)));
      expect(res.status).toBe(403);
      expect(faultOf(res.text).faultstring).toContain('TOKEN_NOT_CONFIGURED');
      expect(faultOf(res.text).faultstring).toContain('OUTBOUND_FLOW_TOKENS');
      expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
      await request(strict.url).post(`/outbound/secured?token=${TOKEN}`).set('Content-Type', 'text/xml').send(Buffer.from(message(1))).expect(200);
    } finally {
      await strict.stop();
    }
  });

  test.each([
    ['application/json', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['text/xml; charset=iso-8859-1', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('Content-Type %s gets %i', async (type, status, code) => {
    const res = await post('/outbound/contacts', message(1), type);
    expect(res.status).toBe(status);
    expect(faultOf(res.text).faultstring).toContain(code);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
  });

  test.each([
    ['empty', '', 'BODY_EMPTY'],
    ['truncated', message(2).slice(0, -40), 'BODY_MALFORMED'],
    ['not XML', 'hello', 'BODY_MALFORMED'],
    ['not SOAP', '<a/>', 'NOT_SOAP'],
    ['a SOAP body that is not notifications', '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><ping/></e:Body></e:Envelope>', 'NOT_NOTIFICATIONS'],
    ['an external entity', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${message(1).replace('<?xml version="1.0" encoding="UTF-8"?>', '')}`, 'DTD_FORBIDDEN'],
  ])('%s gets a Client fault with 400 and nothing is stored', async (_name, body, code) => {
    const res = await post('/outbound/contacts', body);
    expect(res.status).toBe(400);
    expect(faultOf(res.text)).toEqual({ faultcode: 'soapenv:Client', faultstring: expect.stringContaining(code) });
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
  });

  test('an entity bomb is refused within a second and the server keeps serving', async () => {
    const entities = Array.from({ length: 10 }, (_, i) => `<!ENTITY e${i + 1} "${`&e${i};`.repeat(10)}">`).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE b [<!ENTITY e0 "boom">${entities}]>${message(1).replace('<?xml version="1.0" encoding="UTF-8"?>', '').replace('Name 0', '&e10;')}`;
    const started = Date.now();
    const res = await post('/outbound/contacts', bomb);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(400);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
    await request(service.url).get('/healthz').expect(200);
  });

  test('a body over MAX_BODY_BYTES gets 413', async () => {
    const big = message(1).replace('Name 0', 'x'.repeat(6 * 1024 * 1024));
    const res = await post('/outbound/contacts', big);
    expect(res.status).toBe(413);
    expect(faultOf(res.text).faultstring).toContain('BODY_TOO_LARGE');
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
  });

  test('a flow name that cannot be a flow gets 404', async () => {
    const res = await post('/outbound/..%2F..%2Fetc', message(1));
    expect(res.status).toBe(404);
  });

  test('health and readiness', async () => {
    await request(service.url).get('/healthz').expect(200, { status: 'ok' });
    await request(service.url).get('/readyz').expect(200, { status: 'ready' });
  });
});
