import { sweepRetention } from '../../src/db/retention.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

test('retention deletes finished events and sent writes past their time, and keeps failures', async () => {
  await db.pool.query(`
    INSERT INTO forcehook.inbox (org_id, delivery_id, source, flow, sobject_type, record_id, operation, fields, received_at, status)
    SELECT 'org', 'd' || n, 'apex', 'f', 'Contact', 'r' || n, 'insert', '{}', now() - make_interval(days => n) + interval '1 hour', s
    FROM generate_series(1, 40) n, LATERAL (SELECT CASE WHEN n % 10 = 0 THEN 'failed' WHEN n % 10 = 5 THEN 'dropped' ELSE 'done' END AS s) x;
    INSERT INTO forcehook.salesforce_writes (sobject_type, operation, record_key, fields, handler, status, updated_at)
    SELECT 'Contact', 'update', 'k' || n, '{}', 'h', CASE WHEN n = 9 THEN 'dead' ELSE 'done' END, now() - make_interval(days => n) + interval '1 hour' FROM generate_series(1, 10) n;`);
  const swept = await sweepRetention(db.pool, 30, 7);
  // Each row is an hour younger than its day count. Done and dropped events past 30 days: 31..39 (40 failed) = 9;
  // sent writes past 7 days: 8 and 10 (9 is dead).
  expect(swept).toEqual({ events: 9, writes: 2 });
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM forcehook.inbox WHERE status = 'failed'");
  expect(Number(rows[0]?.n)).toBe(4);
  const dropped = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM forcehook.inbox WHERE status = 'dropped'");
  // 5, 15 and 25 are within 30 days; 35 went.
  expect(Number(dropped.rows[0]?.n)).toBe(3);
});
