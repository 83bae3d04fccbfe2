import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../src/log.js';
import { startForcehook, type Running } from '../../src/runtime.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { ORG_15, ORG_18 } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const ADMIN = 'admin-password-for-tests';
const TOKEN = 'outbound-token-for-tests-123456';
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let db: TestDatabase;
let running: Running;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase();
  running = await startForcehook({
    web: true,
    worker: true,
    env: { DATABASE_URL: db.url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, WEBHOOK_SECRETS: SECRET_A, ADMIN_PASSWORD: ADMIN, OUTBOUND_TOKEN: TOKEN },
    // The most talkative level: nothing secret may appear even here.
    log: createLogger('trace', sink),
  });
  url = `http://127.0.0.1:${running.port}`;
});
afterAll(async () => {
  await running?.stop();
  await db?.drop();
});

describe('metrics and logs', () => {
  test('/metrics counts requests, accepted and duplicate events, refusals, handler work and queues; it needs the admin password', async () => {
    const body = fixture('outbound/contacts-two.xml');
    await request(url).post(`/outbound/contacts?token=${TOKEN}`).set('Content-Type', 'text/xml').send(body).expect(200);
    await request(url).post(`/outbound/contacts?token=${TOKEN}`).set('Content-Type', 'text/xml').send(body).expect(200);
    await request(url).post('/outbound/contacts?token=wrong-token-xxxxxxxxxx').set('Content-Type', 'text/xml').send(body).expect(403);
    await sendApex(url, 'contacts', { orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [apexContact(1)], old: [] }).expect(202);
    await waitFor('handlers done', async () => (await db.pool.query("SELECT count(*) FILTER (WHERE forcehook.event_status(id, status, handlers) <> 'done') AS n FROM forcehook.inbox")).rows[0].n === '0');

    await request(url).get('/metrics').expect(401);
    // The worker counts a batch's events just after their outcomes commit: the rows may be seen first.
    const text = await waitFor('the handled events counted', async () => {
      const res = await request(url).get('/metrics').auth('prometheus', ADMIN).expect(200);
      const counted = /^forcehook_handler_events_total\{handler="mirror",outcome="done"\} (\d+)$/m.exec(res.text);
      return Number(counted?.[1] ?? 0) >= 3 && res.text;
    });
    expect(text).toContain('forcehook_events_total{source="outbound",result="accepted"} 2');
    expect(text).toContain('forcehook_events_total{source="outbound",result="duplicate"} 2');
    expect(text).toContain('forcehook_events_total{source="apex",result="accepted"} 1');
    expect(text).toContain('forcehook_requests_refused_total{source="outbound",reason="TOKEN_INVALID"} 1');
    expect(text).toContain('forcehook_http_requests_total{route="/outbound/:flow",status="200"} 2');
    expect(text).toMatch(/forcehook_ingest_duration_seconds_count\{source="outbound"\} 3/);
    expect(text).toMatch(/^forcehook_handler_events_total\{handler="mirror",outcome="done"\} 3$/m);
    expect(text).toMatch(/forcehook_queue_jobs\{handler="mirror",state="ready"\} 0/);
    expect(text).toContain('forcehook_salesforce_api_calls 0');
  });

  test('logs are JSON with request ids, and carry no session id, signature, secret, token or password', async () => {
    const logged = lines.join('\n');
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    expect(lines.some((l) => /"reqId":"[\w-]{36}"/.test(l))).toBe(true);
    for (const secret of ['FAKE.SESSION', SECRET_A, SECRET_A.slice(6), TOKEN, ADMIN, 'v1,', 'wrong-token']) {
      expect(logged).not.toContain(secret);
    }
  });
});
