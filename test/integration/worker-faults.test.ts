import request from 'supertest';
import { defineHandler } from '../../src/work/define-handler.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { findEvents } from '../../src/db/reports.js';
import { listDeadLetters } from '../../src/ops/dead-letters.js';
import { startWorkers } from '../../src/work/worker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { outboundPath, ORG_15, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The worker under faults (issue 11): a handler that hangs, handlers racing on the same events, a
 * database connection that breaks under a handler, a worker killed with jobs in hand.
 */

const handledTimes = new Map<string, number>();
const count = (deliveryId: string): void => void handledTimes.set(deliveryId, (handledTimes.get(deliveryId) ?? 0) + 1);
let abortsSeen = 0;
let lateFinishes = 0;

/** Hangs on any batch holding a "hang" record, ignoring its signal, and returns late. */
const hangs = defineHandler({
  name: 'hangs',
  match: { flow: 'hangs' },
  batchSize: 10,
  timeoutSeconds: 1,
  retryLimit: 1,
  retryDelaySeconds: 1,
  retryBackoff: false,
  async handle(events, ctx) {
    if (events.some((e) => e.fields['LastName'] === 'hang')) {
      ctx.signal.addEventListener('abort', () => abortsSeen++);
      await new Promise((r) => setTimeout(r, 2_500));
      lateFinishes++;
      return;
    }
    for (const e of events) count(e.deliveryId);
  },
});

/** Routed the same events as the mirror, handles each batch in reverse order, many batches at once. */
const reversed = defineHandler({
  name: 'reversed',
  match: { flow: 'busy' },
  batchSize: 7,
  concurrency: 4,
  async handle(events) {
    for (const e of [...events].reverse()) count(`reversed:${e.deliveryId}`);
  },
});

/** Its first two calls break their own database connection; no retry may be counted (retryLimit 0). */
let connectionsBroken = 0;
const fragile = defineHandler({
  name: 'fragile',
  match: { flow: 'fragile' },
  retryLimit: 0,
  async handle(events, ctx) {
    if (connectionsBroken < 2) {
      connectionsBroken++;
      await ctx.db.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }
    for (const e of events) count(e.deliveryId);
  },
});

/** Their jobs are claimed by a worker that is then "killed" (below). */
const orphan = defineHandler({ name: 'orphan', match: { flow: 'orphan' }, retryLimit: 0, handle: async (events) => events.forEach((e) => count(e.deliveryId)) });
const revived = defineHandler({ name: 'revived', match: { flow: 'revived' }, retryLimit: 2, handle: async (events) => events.forEach((e) => count(e.deliveryId)) });

const handlers = [mirrorHandler, hangs, reversed, fragile];
let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestService(db, { handlers, env: { QUEUE_SUPERVISE_SECONDS: '1' } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

function post(target: string, flow: string, notifications: { id: string; sobjectType: string; fields: Record<string, string | null> }[]) {
  const body = buildOutboundMessage({ orgId: ORG_15, notifications });
  return request(target).post(outboundPath(flow)).set('Content-Type', 'text/xml').send(Buffer.from(body));
}

const contact = (n: number, fields: Record<string, string>, delivery = n) => ({ id: fakeId('04l', delivery), sobjectType: 'Contact', fields: { Id: fakeId('003', n), ...fields } });

async function rowOf(deliveryId: string) {
  return (await inboxRows(db.pool)).find((r) => r.delivery_id === deliveryId);
}

describe('the worker under faults', () => {
  test('a handler that hangs fails alone with a timeout reason; its batch mates are handled exactly once; it ends dead-lettered', async () => {
    const ids = [100, 101, 102, 103, 104];
    await post(service.url, 'hangs', ids.map((n) => contact(n, { LastName: n === 102 ? 'hang' : 'fine' }))).expect(200);
    const stuck = fakeId('04l', 102);
    await waitFor('the healthy events done', async () => {
      const rows = await inboxRows(db.pool);
      return ids.filter((n) => n !== 102).every((n) => rows.find((r) => r.delivery_id === fakeId('04l', n))?.status === 'done');
    });
    await waitFor('the hanging event failed for good', async () => (await rowOf(stuck))?.status === 'failed', 15_000);
    for (const n of ids.filter((n) => n !== 102)) expect(handledTimes.get(fakeId('04l', n))).toBe(1);
    expect((await rowOf(stuck))?.last_error).toMatch(/^handler timed out after 1 s/);
    expect((await rowOf(stuck))?.outcomes).toEqual({ 'forcehook.hangs': 'failed', 'forcehook.mirror': 'done' });
    // The batch, its one-by-one retry and the one retry pg-boss allows: each call saw its signal aborted.
    expect(abortsSeen).toBeGreaterThanOrEqual(3);

    // The outcome is written before pg-boss moves the job to the dead-letter queue, in its own commit.
    const letters = await waitFor('the hanging event dead-lettered', async () => {
      const hanging = (await listDeadLetters(service.boss, db.pool, handlers)).filter((l) => l.handler === 'hangs');
      return hanging.length > 0 && hanging;
    });
    expect(letters).toEqual([expect.objectContaining({ subject: stuck, error: expect.stringMatching(/^handler timed out after 1 s/) })]);
    // The abandoned calls return late; that must not mark the dead event done.
    await waitFor('the abandoned calls returned', async () => lateFinishes >= 3, 10_000);
    expect((await rowOf(stuck))?.status).toBe('failed');
    expect((await findEvents(db.pool, { flow: 'hangs', status: 'failed' })).map((e) => e.deliveryId)).toEqual([stuck]);
  });

  test('two handlers settling the same events in many concurrent batches: each event done once per handler, no batch re-run', async () => {
    const messages = 12;
    const perMessage = 20;
    const posts = [];
    for (let m = 0; m < messages; m++) {
      // Every message touches the same 15 records, in a different order each time.
      const notifications = Array.from({ length: perMessage }, (_, i) => {
        const record = (i * 7 + m * 3) % 15;
        const second = String(m * perMessage + i).padStart(4, '0');
        return contact(2000 + record, { LastName: `v${m}-${i}`, SystemModstamp: `2026-11-23T10:${second.slice(0, 2)}:${second.slice(2)}.000Z` }, 3000 + m * perMessage + i);
      });
      posts.push(post(service.url, 'busy', notifications).expect(200));
    }
    await Promise.all(posts);
    const total = messages * perMessage;
    await waitFor(
      'every event done by both handlers',
      async () => (await inboxRows(db.pool)).filter((r) => r.flow === 'busy' && r.status === 'done').length === total,
      30_000,
    );
    // attempts = 1: no batch failed (a deadlock fails the batch) and none ran twice.
    const { rows } = await db.pool.query<{ handler: string; outcome: string; attempts: number; n: string }>(
      `SELECT o.handler, o.outcome, o.attempts, count(*) AS n FROM forcehook.outcomes o JOIN forcehook.inbox i ON i.id = o.inbox_id
       WHERE i.flow = 'busy' GROUP BY 1, 2, 3 ORDER BY 1, 2`,
    );
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(rows.filter((r) => r.handler === 'forcehook.reversed')).toEqual([{ handler: 'forcehook.reversed', outcome: 'done', attempts: 1, n: String(total) }]);
    expect(rows.filter((r) => r.handler === 'forcehook.mirror').reduce((sum, r) => sum + Number(r.n), 0)).toBe(total);
    const busy = (await inboxRows(db.pool)).filter((r) => r.flow === 'busy');
    for (const r of busy) expect(handledTimes.get(`reversed:${r.delivery_id}`)).toBe(1);
    // The mirror holds each record's newest change.
    const newest = new Map<string, string>();
    for (const r of busy) if (!newest.has(r.record_id) || r.modstamp! > new Date(newest.get(r.record_id)!)) newest.set(r.record_id, r.modstamp!.toISOString());
    const records = (await recordRows(db.pool)).filter((r) => newest.has(r.record_id));
    expect(records).toHaveLength(15);
    for (const r of records) expect(r.modstamp?.toISOString()).toBe(newest.get(r.record_id));
  });

  test('a database connection that breaks under a handler does not use up its retries', async () => {
    const delivery = fakeId('04l', 5000);
    await post(service.url, 'fragile', [contact(5000, { LastName: 'fragile' })]).expect(200);
    await waitFor('put back with the reason', async () => /^database unavailable/.test((await rowOf(delivery))?.last_error ?? ''));
    expect((await rowOf(delivery))?.status).toBe('retrying');
    // retryLimit is 0: a counted failure would have dead-lettered it at once.
    await waitFor('done after the connection came back', async () => (await rowOf(delivery))?.status === 'done', 20_000);
    expect(connectionsBroken).toBe(2);
    expect(handledTimes.get(delivery)).toBe(1);
    expect((await listDeadLetters(service.boss, db.pool, handlers)).filter((l) => l.handler === 'fragile')).toEqual([]);
  });

  test("a killed worker's jobs come back within heartbeat + supervise seconds, and its last failure shows in the inbox", async () => {
    const orphaned = fakeId('04l', 6000);
    const comeback = fakeId('04l', 6001);
    // A web process that routes to two handlers no worker runs yet.
    const web = await startTestService(db, { worker: false, handlers: [orphan, revived] });
    try {
      await post(web.url, 'orphan', [contact(6000, { LastName: 'orphan' })]).expect(200);
      await post(web.url, 'revived', [contact(6001, { LastName: 'revived' })]).expect(200);
      // A worker claims the jobs and is killed: no heartbeat, no result.
      const claimed = [...(await web.boss.fetch('forcehook.orphan', { batchSize: 10 })), ...(await web.boss.fetch('forcehook.revived', { batchSize: 10 }))];
      expect(claimed).toHaveLength(2);
    } finally {
      await web.stop();
    }
    const killedAt = Date.now();
    // The live worker process takes the two queues on.
    const stopped = new AbortController();
    await startWorkers([orphan, revived], { boss: service.boss, db: service.pool, log: service.log, signal: stopped.signal, salesforce: null, superviseSeconds: 1 });
    await waitFor('the revived job handled by the live worker', async () => (await rowOf(comeback))?.status === 'done', 30_000);
    await waitFor('the orphaned job failed in the inbox', async () => (await rowOf(orphaned))?.status === 'failed', 30_000);
    // Heartbeat 10 s, supervise 1 s here (10 s by default), a little slack for the 2-core machine.
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    expect(handledTimes.get(comeback)).toBe(1);
    expect(handledTimes.get(orphaned)).toBeUndefined();
    const reason = (await rowOf(orphaned))?.last_error;
    expect(reason).toMatch(/worker running it stopped/);
    // forcehook status, dead-letter list and the inbox agree.
    const letters = await listDeadLetters(service.boss, db.pool, [orphan, revived]);
    expect(letters).toEqual([expect.objectContaining({ subject: orphaned, error: reason })]);
    expect((await findEvents(db.pool, { flow: 'orphan' }))[0]).toMatchObject({ status: 'failed', outcomes: { 'forcehook.orphan': 'failed' } });
    stopped.abort();
  });
});
