import request from 'supertest';
import { PermanentError } from '../../src/errors.js';
import { defineHandler } from '../../src/work/define-handler.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { listDeadLetters, retryDeadLetter } from '../../src/ops/dead-letters.js';
import type { SalesforceEvent } from '../../src/events/salesforce-event.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fixture } from '../helpers/fixtures.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { outboundPath, ORG_15, ORG_18, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/** A handler that fails on purpose for records whose LastName says so. */
const seen: string[] = [];
const flaky = defineHandler({
  name: 'flaky',
  match: { flow: 'flaky' },
  batchSize: 10,
  retryLimit: 1,
  retryDelaySeconds: 1,
  retryBackoff: false,
  async handle(events: SalesforceEvent[]) {
    for (const e of events) {
      seen.push(e.deliveryId);
      if (e.fields['LastName'] === 'permanent') throw new PermanentError('LastName says this can never work');
      if (e.fields['LastName'] === 'always') throw new Error('temporary trouble that never ends');
    }
  },
});

let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestService(db, { handlers: [mirrorHandler, flaky] });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

function post(flow: string, body: string | Buffer) {
  return request(service.url).post(outboundPath(flow)).set('Content-Type', 'text/xml').send(Buffer.from(body));
}

function contact(n: number, fields: Record<string, string | null>, deliveryOffset = 0) {
  return { id: fakeId('04l', n + deliveryOffset), sobjectType: 'Contact', fields: { Id: fakeId('003', n), ...fields } };
}

async function statusOf(deliveryId: string): Promise<string | undefined> {
  return (await inboxRows(db.pool)).find((r) => r.delivery_id === deliveryId)?.status;
}

describe('worker and the mirror handler', () => {
  test('mirrors each record and marks the inbox rows done', async () => {
    await post('contacts', fixture('outbound/contacts-two.xml')).expect(200);
    await waitFor('both inbox rows done', async () => (await inboxRows(db.pool)).filter((r) => r.status === 'done').length === 2);
    const records = (await recordRows(db.pool)).filter((r) => r.sobject_type === 'Contact');
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      org_id: ORG_18,
      record_id: '0035g00000XyZ01AAF',
      deleted: false,
      last_delivery_id: '04l5g00000Ab1CdAAJ',
      fields: { Id: '0035g00000XyZ01AAF', Email: 'ada.lovelace@example.com', FirstName: 'Ada', LastName: 'Lovelace', LastModifiedById: '0055g00000Int01AAB', SystemModstamp: '2026-11-20T10:00:00.000Z' },
    });
    expect(records[0]?.modstamp?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    const outcomes = (await inboxRows(db.pool)).map((r) => r.outcomes);
    expect(outcomes).toEqual([{ 'forcehook.mirror': 'done' }, { 'forcehook.mirror': 'done' }]);
  });

  test('an older update delivered after a newer one is skipped, not failed; the newest state wins', async () => {
    const newer = buildOutboundMessage({ orgId: ORG_15, notifications: [contact(500, { LastName: 'Newer', SystemModstamp: '2026-11-22T10:00:05.000Z' }, 0)] });
    const older = buildOutboundMessage({ orgId: ORG_15, notifications: [contact(500, { LastName: 'Older', SystemModstamp: '2026-11-22T10:00:01.000Z' }, 1)] });
    await post('contacts', newer).expect(200);
    await waitFor('newer applied', async () => (await statusOf(fakeId('04l', 500))) === 'done');
    await post('contacts', older).expect(200);
    await waitFor('older settled', async () => (await statusOf(fakeId('04l', 501))) === 'done');
    const rows = await inboxRows(db.pool);
    expect(rows.find((r) => r.delivery_id === fakeId('04l', 501))?.outcomes).toEqual({ 'forcehook.mirror': 'skipped' });
    const record = (await recordRows(db.pool)).find((r) => r.record_id.startsWith(fakeId('003', 500)));
    expect(record?.fields['LastName']).toBe('Newer');
    expect(record?.last_delivery_id).toBe(fakeId('04l', 500));
  });

  test('out-of-order updates in one message converge on the newest', async () => {
    const body = buildOutboundMessage({
      orgId: ORG_15,
      notifications: [
        contact(600, { LastName: 'Third', SystemModstamp: '2026-11-22T11:00:03.000Z' }, 0),
        contact(600, { LastName: 'First', SystemModstamp: '2026-11-22T11:00:01.000Z' }, 1),
        contact(600, { LastName: 'Second', SystemModstamp: '2026-11-22T11:00:02.000Z' }, 2),
      ],
    });
    await post('contacts', body).expect(200);
    await waitFor('all three settled', async () => {
      const rows = (await inboxRows(db.pool)).filter((r) => r.record_id.startsWith(fakeId('003', 600)));
      return rows.length === 3 && rows.every((r) => r.status === 'done');
    });
    const record = (await recordRows(db.pool)).find((r) => r.record_id.startsWith(fakeId('003', 600)));
    expect(record?.fields['LastName']).toBe('Third');
  });

  test('IsDeleted=true marks the mirrored record deleted', async () => {
    const body = buildOutboundMessage({ orgId: ORG_15, notifications: [contact(700, { IsDeleted: 'true', SystemModstamp: '2026-11-22T12:00:00.000Z' })] });
    await post('contacts', body).expect(200);
    await waitFor('deleted', async () => (await recordRows(db.pool)).find((r) => r.record_id.startsWith(fakeId('003', 700)))?.deleted);
  });

  test('a failing event is retried, then dead-lettered with its reason, without failing its batch mates', async () => {
    seen.length = 0;
    const body = buildOutboundMessage({
      orgId: ORG_15,
      notifications: [contact(800, { LastName: 'fine' }), contact(801, { LastName: 'always' }), contact(802, { LastName: 'permanent' })],
    });
    await post('flaky', body).expect(200);
    const flakyStatus = async (n: number) => (await inboxRows(db.pool)).find((r) => r.delivery_id === fakeId('04l', n) && r.flow === 'flaky');
    await waitFor('the good event done', async () => (await flakyStatus(800))?.status === 'done');
    await waitFor('the permanent failure failed', async () => (await flakyStatus(802))?.status === 'failed');
    await waitFor('the retried failure failed', async () => (await flakyStatus(801))?.status === 'failed', 20_000);
    expect((await flakyStatus(801))?.last_error).toBe('temporary trouble that never ends');
    expect((await flakyStatus(802))?.last_error).toBe('LastName says this can never work');
    // The permanent one ran once; the temporary one ran once plus its one retry.
    expect(seen.filter((d) => d === fakeId('04l', 802)).length).toBeGreaterThanOrEqual(1);
    expect(seen.filter((d) => d === fakeId('04l', 801)).length).toBeGreaterThanOrEqual(2);
    const dead = await waitFor('two jobs in the dead-letter queue', async () => {
      const { rows } = await db.pool.query<{ data: { inboxIds: number[] } }>("SELECT data FROM pgboss.job WHERE name = 'forcehook.flaky.dead'");
      return rows.length === 2 ? rows : undefined;
    });
    // A dead letter names its one event: the batch job was split before its events were dead-lettered.
    const deadIds = dead.flatMap((r) => r.data.inboxIds).sort();
    const expected = (await inboxRows(db.pool)).filter((r) => r.flow === 'flaky' && r.delivery_id !== fakeId('04l', 800)).map((r) => Number(r.id)).sort();
    expect(deadIds).toEqual(expected);
  });

  test('a message is one job per handler and batch, not one per event', async () => {
    const body = buildOutboundMessage({ orgId: ORG_15, notifications: Array.from({ length: 25 }, (_, i) => contact(900 + i, { LastName: `fine ${i}` })) });
    await post('flaky', body).expect(200);
    const mine = new Set(Array.from({ length: 25 }, (_, i) => fakeId('04l', 900 + i)));
    const ids = await waitFor('all 25 done', async () => {
      const rows = (await inboxRows(db.pool)).filter((r) => r.flow === 'flaky' && mine.has(r.delivery_id));
      return rows.length === 25 && rows.every((r) => r.status === 'done') ? rows.map((r) => Number(r.id)) : undefined;
    });
    const { rows: jobs } = await db.pool.query<{ n: number }>(
      `SELECT jsonb_array_length(data->'inboxIds') AS n FROM pgboss.job
       WHERE name = 'forcehook.flaky' AND EXISTS (SELECT 1 FROM forcehook.job_inbox_ids(data) AS j(id) WHERE j.id = ANY($1::bigint[]))`,
      [ids],
    );
    // flaky's batchSize is 10: 10 + 10 + 5.
    expect(jobs.map((j) => j.n).sort((a, b) => a - b)).toEqual([5, 10, 10]);
    // Succeeding did not rewrite the wide inbox rows: they read as done through their outcomes.
    const { rows: raw } = await db.pool.query<{ status: string }>('SELECT DISTINCT status FROM forcehook.inbox WHERE id = ANY($1::bigint[])', [ids]);
    expect(raw).toEqual([{ status: 'received' }]);
  });

  test('when every event of a job fails, the job is retried as one, then each event is dead-lettered', async () => {
    const body = buildOutboundMessage({ orgId: ORG_15, notifications: [contact(950, { LastName: 'always' }), contact(951, { LastName: 'always' }), contact(952, { LastName: 'always' })] });
    await post('flaky', body).expect(200);
    const rows = await waitFor('all three failed', async () => {
      const found = (await inboxRows(db.pool)).filter((r) => r.flow === 'flaky' && [950, 951, 952].some((n) => r.delivery_id === fakeId('04l', n)));
      return found.length === 3 && found.every((r) => r.status === 'failed') ? found : undefined;
    }, 20_000);
    const ids = rows.map((r) => Number(r.id));
    const { rows: jobs } = await db.pool.query<{ retry_count: number; n: number }>(
      `SELECT retry_count, jsonb_array_length(data->'inboxIds') AS n FROM pgboss.job
       WHERE name = 'forcehook.flaky' AND EXISTS (SELECT 1 FROM forcehook.job_inbox_ids(data) AS j(id) WHERE j.id = ANY($1::bigint[]))`,
      [ids],
    );
    // One job of three, tried twice (retryLimit 1); no job per event was split out to retry.
    expect(jobs).toEqual([{ retry_count: 1, n: 3 }]);
    const { rows: dead } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pgboss.job d, forcehook.job_inbox_ids(d.data) AS j(id) WHERE d.name = 'forcehook.flaky.dead' AND j.id = ANY($1::bigint[])`,
      [ids],
    );
    expect(Number(dead[0]?.n)).toBe(3);
  });

  test('a batch job pg-boss dead-lettered whole is listed once, naming how many events it holds, and retried whole', async () => {
    const body = buildOutboundMessage({ orgId: ORG_15, notifications: [contact(960, { LastName: 'fine' }), contact(961, { LastName: 'fine' }), contact(962, { LastName: 'fine' })] });
    await post('flaky', body).expect(200);
    const ids = await waitFor('all three done', async () => {
      const rows = (await inboxRows(db.pool)).filter((r) => r.flow === 'flaky' && [960, 961, 962].some((n) => r.delivery_id === fakeId('04l', n)));
      return rows.length === 3 && rows.every((r) => r.status === 'done') ? rows.map((r) => Number(r.id)) : undefined;
    });
    // What pg-boss does on its own when a batch job's last attempt expires (its worker was killed).
    await service.boss.insert(flaky.deadLetterQueue, [{ data: { inboxIds: ids } }]);
    const letters = (await listDeadLetters(service.boss, db.pool, [flaky])).filter((l) => l.subject.startsWith(fakeId('04l', 960)));
    expect(letters.map((l) => l.subject)).toEqual([`${fakeId('04l', 960)} (+2 more events of its batch)`]);
    seen.length = 0;
    expect(await retryDeadLetter(service.boss, db.pool, [flaky], letters[0]!.id)).toBe(true);
    await waitFor('all three handled again', async () => [960, 961, 962].every((n) => seen.includes(fakeId('04l', n))));
  });
});
