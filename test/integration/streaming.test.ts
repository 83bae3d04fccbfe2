import { toId18 } from '../../src/events/salesforce-id.js';
import { HandlerRegistry } from '../../src/work/registry.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { createLogger } from '../../src/log.js';
import { createIngest } from '../../src/inbox/ingest.js';
import type { SalesforceConnector } from '../../src/writeback/connection.js';
import { StreamSubscriber } from '../../src/ingress/streaming.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { fakeConnector, fakeSalesforceEnv, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;
let connector: SalesforceConnector;
const reconciled: string[] = [];

const CDC = '/data/ContactChangeEvent';
const id = (n: number): string => toId18(`003STREAM${String(n).padStart(6, '0')}`);
let stamp = 0;
const change = (changeType: string, n: number, fields: Record<string, unknown>) =>
  sf.publish(CDC, {
    ChangeEventHeader: { entityName: 'Contact', changeType, recordIds: [id(n)], commitTimestamp: Date.UTC(2026, 10, 24, 12, 0, 0) + ++stamp * 1000, commitUser: '0055g00000Usr01AAB' },
    ...fields,
  });

function subscriber(faults: { connection?: number; ingest?: number } = {}): StreamSubscriber {
  const realIngest = createIngest({ pool: service.pool, boss: service.boss, registry: new HandlerRegistry([mirrorHandler]) });
  let connectionFaults = faults.connection ?? 0;
  let ingestFaults = faults.ingest ?? 0;
  const s = new StreamSubscriber(
    {
      db: service.pool,
      connection: () => (connectionFaults-- > 0 ? Promise.reject(new Error('Salesforce unreachable')) : connector.connection()),
      orgId: () => connector.orgId(),
      ingest: (events) => (ingestFaults-- > 0 ? Promise.reject(new Error('database unavailable')) : realIngest(events)),
      log: createLogger('silent'),
      reconcile: async (sobjectType, flow) => void reconciled.push(`${sobjectType} -> ${flow}`),
    },
    [
      { channel: CDC, flow: 'contacts' },
      { channel: '/event/Order_Placed__e', flow: 'orders' },
    ],
    100,
  );
  running.add(s);
  return s;
}

// A test that fails midway must not leave its subscriber storing the next test's events.
const running = new Set<StreamSubscriber>();
afterEach(async () => {
  await Promise.all([...running].map((s) => s.stop()));
  running.clear();
});

async function savedReplayIds(): Promise<{ channel: string; replay_id: string }[]> {
  return (await db.pool.query<{ channel: string; replay_id: string }>('SELECT channel, replay_id FROM forcehook.replay_ids ORDER BY channel')).rows;
}

async function savedReplayId(channel: string): Promise<number | undefined> {
  const row = (await savedReplayIds()).find((r) => r.channel === channel);
  return row ? Number(row.replay_id) : undefined;
}

async function streamedRows(): Promise<{ delivery_id: string; status: string; operation: string; record_id: string; sobject_type: string }[]> {
  return (await inboxRows(db.pool)).filter((r) => r.source === 'streaming');
}

beforeAll(async () => {
  db = await createTestDatabase();
  sf = await new FakeSalesforce().start();
  service = await startTestService(db, { handlers: [mirrorHandler] });
  connector = fakeConnector(sf.url);
});
afterAll(async () => {
  await service?.stop();
  await sf?.stop();
  await db?.drop();
});

describe('Change Data Capture and Platform Events', () => {
  test('CDC events become events per record; partial updates merge into the mirror; the replay id is saved', async () => {
    const s = subscriber();
    await s.start();
    expect(sf.subscriptions()).toEqual([
      { channel: CDC, replayId: -1 },
      { channel: '/event/Order_Placed__e', replayId: -1 },
    ]);
    change('CREATE', 1, { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' });
    const last = change('UPDATE', 1, { Email: 'ada@new.example.com' });
    sf.publish('/event/Order_Placed__e', { EventUuid: 'e-1', Order_Number__c: 'A-100', CreatedDate: '2026-11-24T12:00:00.000Z' });
    await waitFor('three streamed events done', async () => (await streamedRows()).filter((r) => r.status === 'done').length === 3);
    const record = (await recordRows(db.pool)).find((r) => r.record_id === id(1));
    expect(record?.fields).toMatchObject({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@new.example.com', LastModifiedById: '0055g00000Usr01AAB' });
    expect((await recordRows(db.pool)).some((r) => r.sobject_type === 'Order_Placed__e')).toBe(false);
    // The replay id is saved just after the events commit, so it may trail their rows by a moment.
    await waitFor('both replay ids saved', async () => (await savedReplayId(CDC)) === last && (await savedReplayId('/event/Order_Placed__e')) === last + 1);
    expect(await savedReplayIds()).toEqual([
      { channel: CDC, replay_id: String(last) },
      { channel: '/event/Order_Placed__e', replay_id: String(last + 1) },
    ]);
    await s.stop();
  }, 30_000);

  test('a stream interrupted and resumed delivers every event exactly once in effect', async () => {
    const before = (await streamedRows()).length;
    change('UPDATE', 1, { LastName: 'While down 1' });
    change('CREATE', 2, { LastName: 'Two' });
    change('UPDATE', 1, { LastName: 'While down 2' });
    const s = subscriber();
    await s.start();
    expect(sf.subscriptions().at(-2)?.replayId).toBeGreaterThan(0);
    await waitFor('the missed events stored', async () => (await streamedRows()).length === before + 3);
    const deleted = change('DELETE', 2, {});
    await waitFor('the delete mirrored', async () => (await recordRows(db.pool)).find((r) => r.record_id === id(2))?.deleted === true);
    await waitFor('its replay id saved', async () => (await savedReplayId(CDC)) === deleted);
    await s.stop();
    // Resubscribing again asks only for what came after the saved replay id: nothing twice.
    const again = subscriber();
    await again.start();
    expect(sf.subscriptions().filter((x) => x.channel === CDC).at(-1)?.replayId).toBe(deleted);
    await again.stop();
    expect((await streamedRows()).length).toBe(before + 4);
    await waitFor('the newest name mirrored', async () => (await recordRows(db.pool)).find((r) => r.record_id === id(1))?.fields['LastName'] === 'While down 2');
  }, 30_000);

  test('the worker subscribes to STREAM_CHANNELS by itself', async () => {
    const db2 = await createTestDatabase();
    const worker = await startTestService(db2, { web: false, handlers: [mirrorHandler], env: { ...fakeSalesforceEnv(sf.url), STREAM_CHANNELS: '/data/AccountChangeEvent=accounts', STREAM_TRANSPORT: 'cometd' } });
    try {
      expect(sf.subscriptions().at(-1)).toEqual({ channel: '/data/AccountChangeEvent', replayId: -1 });
      sf.publish('/data/AccountChangeEvent', { ChangeEventHeader: { entityName: 'Account', changeType: 'CREATE', recordIds: [toId18('001STREAM000001')], commitTimestamp: Date.now() }, Name: 'Acme' });
      await waitFor('the Account mirrored', async () => (await recordRows(db2.pool)).find((r) => r.sobject_type === 'Account')?.fields['Name'] === 'Acme');
    } finally {
      await worker.stop();
      await db2.drop();
    }
  }, 30_000);

  test('Salesforce unreachable at start: the worker starts anyway and subscribes when it can', async () => {
    const before = sf.subscriptions().length;
    const s = subscriber({ connection: 2 });
    await s.start();
    expect(sf.subscriptions().length).toBe(before);
    await waitFor('both channels subscribed after the retry', async () => sf.subscriptions().length === before + 2);
    await s.stop();
  }, 30_000);

  test('an event that cannot be stored is not skipped: the channel replays from the saved replay id', async () => {
    const s = subscriber();
    await s.start();
    // A saved replay id to come back to (without one the channel would resubscribe at new events only).
    const saved = change('UPDATE', 3, { LastName: 'Before the failure' });
    await waitFor('a replay id saved', async () => (await savedReplayId(CDC)) === saved);
    const before = (await streamedRows()).length;
    const s2 = subscriber({ ingest: 1 });
    await s.stop();
    await s2.start();
    const failing = change('UPDATE', 3, { LastName: 'Stored after a retry' });
    change('UPDATE', 3, { LastName: 'And the next one' });
    await waitFor('both events stored', async () => (await streamedRows()).length === before + 2);
    const ids = (await streamedRows()).map((r) => r.delivery_id);
    expect(ids).toContain(`stream:${CDC}:${failing}:${id(3)}`);
    await waitFor('the replay id moved past both', async () => (await savedReplayId(CDC)) === failing + 1);
    await s2.stop();
  }, 30_000);

  test('a replay id Salesforce no longer has: resubscribe at new events and reconcile the sObject', async () => {
    const missed = change('UPDATE', 1, { LastName: 'Lost' });
    sf.expireEventsThrough(missed);
    const s = subscriber();
    await s.start();
    expect(reconciled).toEqual(['Contact -> contacts']);
    expect(sf.subscriptions().filter((x) => x.channel === CDC).at(-1)?.replayId).toBe(-1);
    await s.stop();
  }, 30_000);
});
