import pg from 'pg';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { countRows } from '../helpers/rows.js';
import { outboundPath, ORG_15, startTestService, type TestService } from '../helpers/service.js';
import { createApp } from '../../src/http/app.js';
import { createIngest } from '../../src/inbox/ingest.js';
import { HandlerRegistry } from '../../src/work/registry.js';
import { defineHandler } from '../../src/work/define-handler.js';
import { createLogger } from '../../src/log.js';

const body = (n: number) =>
  Buffer.from(
    buildOutboundMessage({
      orgId: ORG_15,
      notifications: [0, 1, 2].map((i) => ({ id: fakeId('04l', n + i), sobjectType: 'Contact', fields: { Id: fakeId('003', n + i) } })),
    }),
  );

function post(target: Parameters<typeof request>[0], flow: string, payload: Buffer) {
  return request(target).post(outboundPath(flow)).set('Content-Type', 'text/xml').send(payload);
}

let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestService(db, { worker: false });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

describe('when the database is in trouble', () => {
  test('a connection that dies mid-transaction gets a Server fault with 503, leaves no rows, and the next request succeeds', async () => {
    // The backend kills itself after the inbox insert and before the jobs: the worst moment.
    await db.pool.query(`
      CREATE FUNCTION forcehook.die() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
      CREATE TRIGGER die AFTER INSERT ON forcehook.inbox FOR EACH ROW WHEN (NEW.flow = 'doomed') EXECUTE FUNCTION forcehook.die();`);
    try {
      const res = await post(service.url, 'doomed', body(100));
      expect(res.status).toBe(503);
      expect(res.text).toContain('<faultcode>soapenv:Server</faultcode>');
      expect(res.text).toContain('DATABASE_UNAVAILABLE');
      expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
      expect(await countRows(db.pool, 'pgboss.job')).toBe(0);
      await post(service.url, 'contacts', body(200)).expect(200);
      expect(await countRows(db.pool, 'forcehook.inbox')).toBe(3);
    } finally {
      await db.pool.query('DROP TRIGGER die ON forcehook.inbox; DROP FUNCTION forcehook.die()');
    }
  });

  test('a failure after the inbox insert rolls the inbox rows back too (one transaction)', async () => {
    await db.pool.query('TRUNCATE forcehook.inbox CASCADE');
    // A handler whose queue was never created: pg-boss refuses the jobs after the inbox insert.
    const ghost = defineHandler({ name: 'ghost', match: {}, handle: async () => undefined });
    const app = createApp({
      config: { allowedOrgPrefixes: new Set([ORG_15]), outboundToken: undefined, outboundFlowTokens: {}, outboundTokenRequired: false, maxBodyBytes: 1e6, webhookSecrets: [] },
      log: createLogger('silent'),
      ingest: createIngest({ pool: service.pool, boss: service.boss, registry: new HandlerRegistry([ghost]) }),
      checkDatabase: async () => undefined,
    });
    const res = await post(app, 'contacts', body(300));
    expect(res.status).toBe(500);
    expect(res.text).toContain('<faultcode>soapenv:Server</faultcode>');
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(0);
  });

  test('an unreachable database gets 503 on ingest and on /readyz, and the process keeps serving', async () => {
    const deadPool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    deadPool.on('error', () => undefined);
    const app = createApp({
      config: { allowedOrgPrefixes: new Set([ORG_15]), outboundToken: undefined, outboundFlowTokens: {}, outboundTokenRequired: false, maxBodyBytes: 1e6, webhookSecrets: [] },
      log: createLogger('silent'),
      ingest: createIngest({ pool: deadPool, boss: service.boss, registry: new HandlerRegistry([]) }),
      checkDatabase: async () => void (await deadPool.query('SELECT 1')),
    });
    const res = await post(app, 'contacts', body(400));
    expect(res.status).toBe(503);
    expect(res.text).toContain('Retry later');
    await request(app).get('/readyz').expect(503);
    await request(app).get('/healthz').expect(200);
    await deadPool.end();
  });
});
