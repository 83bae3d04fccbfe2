import { toId18 } from '../../src/events/salesforce-id.js';
import type { SalesforceEvent } from '../../src/events/salesforce-event.js';
import { HandlerRegistry } from '../../src/work/registry.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { createLogger } from '../../src/log.js';
import { createIngest } from '../../src/inbox/ingest.js';
import type { SalesforceConnector } from '../../src/writeback/connection.js';
import { connectorCredentials, PubSubSubscriber, pubSubReplayKey } from '../../src/ingress/pubsub-subscriber.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { FakePubSub } from '../helpers/fake-pubsub.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { fakeConnector, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

let db: TestDatabase;
let sf: FakeSalesforce;
let pubsub: FakePubSub;
let service: TestService;
let connector: SalesforceConnector;
const running = new Set<PubSubSubscriber>();
const reconciled: string[] = [];
/** Per ingest call: the replay id stored at that moment, and the events handed over. */
const ingested: { storedReplayId: number | undefined; events: SalesforceEvent[] }[] = [];

const CDC = '/data/ContactChangeEvent';
const id = (n: number): string => toId18(`003PUBSB${String(n).padStart(7, '0')}`);
let clock = Date.UTC(2026, 11, 1, 12, 0, 0);
const at = (): number => (clock += 1_000);

async function storedReplayId(): Promise<number | undefined> {
  const { rows } = await db.pool.query<{ replay_id: string }>('SELECT replay_id FROM forcehook.replay_ids WHERE channel = $1', [pubSubReplayKey(CDC)]);
  return rows[0] ? Number(rows[0].replay_id) : undefined;
}

function subscriber(options: { batchSize?: number; keepaliveTimeoutMs?: number } = {}): PubSubSubscriber {
  const realIngest = createIngest({ pool: service.pool, boss: service.boss, registry: new HandlerRegistry([mirrorHandler]) });
  const credentials = connectorCredentials(connector);
  const s = new PubSubSubscriber(
    {
      db: service.pool,
      connection: () => connector.connection(),
      orgId: () => connector.orgId(),
      ingest: async (events) => {
        ingested.push({ storedReplayId: await storedReplayId(), events: [...events] });
        return realIngest(events);
      },
      log: createLogger(process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent'),
      reconcile: async (sobjectType, flow) => void reconciled.push(`${sobjectType} -> ${flow}`),
      // The client refuses an instance URL that is not https://; the fake org serves plain HTTP on
      // 127.0.0.1 and the stand-in only checks that the header is there.
      credentials: async (renew) => {
        const c = await credentials(renew);
        return { ...c, instanceUrl: c.instanceUrl.replace(/^http:/, 'https:') };
      },
    },
    [{ channel: CDC, flow: 'contacts' }],
    { endpoint: pubsub.endpoint, batchSize: options.batchSize ?? 100, keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 30_000, retryMs: 100, rejectUnauthorizedSsl: false },
  );
  running.add(s);
  return s;
}

async function stop(s: PubSubSubscriber): Promise<void> {
  running.delete(s);
  await s.stop();
}

async function mirrored(n: number): Promise<Record<string, unknown> | undefined> {
  return (await recordRows(db.pool)).find((r) => r.record_id === id(n))?.fields;
}

const pubsubRows = async (): Promise<{ delivery_id: string; status: string; record_id: string; source: string }[]> =>
  (await inboxRows(db.pool)).filter((r) => r.delivery_id.startsWith('pubsub:'));

beforeAll(async () => {
  db = await createTestDatabase();
  sf = await new FakeSalesforce().start();
  pubsub = await new FakePubSub({ acceptsToken: (token) => sf.acceptsToken(token), keepaliveMs: 150 }).start();
  service = await startTestService(db, { handlers: [mirrorHandler] });
  connector = fakeConnector(sf.url);
});
// A test that fails midway must not leave its subscriber storing the next test's events.
afterEach(async () => {
  for (const s of running) await stop(s);
});
afterAll(async () => {
  await pubsub?.stop();
  await service?.stop();
  await sf?.stop();
  await db?.drop();
});

describe('Pub/Sub API subscriber', () => {
  test('events are stored in batches of numRequested, and the replay id is saved only after each is committed', async () => {
    const s = subscriber({ batchSize: 2 });
    await s.start();
    await waitFor('the subscription', async () => pubsub.subscribes.length === 1);
    expect(pubsub.subscribes[0]).toEqual({ topic: CDC, replayPreset: 'LATEST', replayId: undefined, numRequested: 2 });
    const replayIds = [1, 2, 3, 4, 5].map((n) =>
      pubsub.publish({ changeType: 'CREATE', recordIds: [id(n)], commitTimestamp: at(), fields: { Name: { FirstName: 'Ada', LastName: `Lovelace ${n}` }, Email: `ada${n}@example.com` } }),
    );
    await waitFor('five events stored', async () => (await pubsubRows()).length === 5);
    // Flow control: 2 asked for at subscribe, 2 more after each stored batch.
    await waitFor('more asked for after each batch', async () => pubsub.moreRequested.length >= 2);
    expect(pubsub.moreRequested.every((n) => n === 2)).toBe(true);
    // Each event reached ingest while the stored replay id still pointed before it.
    expect(ingested.map((i) => i.storedReplayId)).toEqual([undefined, ...replayIds.slice(0, 4)]);
    // The replay id is saved just after its events commit, so it may trail their rows by a moment.
    await waitFor('the last replay id saved', async () => (await storedReplayId()) === replayIds[4]);
    expect((await pubsubRows()).map((r) => r.delivery_id)).toEqual(replayIds.map((r, i) => `pubsub:${CDC}:${r}:${id(i + 1)}`));
    await waitFor('the mirror has the new contacts', async () => (await mirrored(5))?.['Name.LastName'] === 'Lovelace 5');
    expect(await mirrored(5)).toMatchObject({ Email: 'ada5@example.com', 'Name.FirstName': 'Ada', LastModifiedById: '0055g00000Usr01AAB' });
    await stop(s);
  }, 30_000);

  test('a restart resumes from the stored replay id (ReplayPreset CUSTOM): only later events come', async () => {
    const resumeFrom = await storedReplayId();
    expect(resumeFrom).toBeDefined();
    const later = [6, 7].map((n) => pubsub.publish({ changeType: 'CREATE', recordIds: [id(n)], commitTimestamp: at(), fields: { Name: { LastName: `While down ${n}` } } }));
    const calls = ingested.length;
    const s = subscriber();
    await s.start();
    await waitFor('the two missed events stored', async () => (await storedReplayId()) === later[1]);
    expect(pubsub.subscribes.at(-1)).toEqual({ topic: CDC, replayPreset: 'CUSTOM', replayId: resumeFrom, numRequested: 100 });
    expect(ingested.slice(calls).flatMap((i) => i.events.map((e) => e.recordId))).toEqual([id(6), id(7)]);
    expect((await pubsubRows()).length).toBe(7);
    await stop(s);
  }, 30_000);

  test('a gap event reads exactly the records it names with one query, through the handlers', async () => {
    for (const n of [8, 9]) sf.put('Contact', { Id: id(n), LastName: `Read back ${n}`, Email: `gap${n}@example.com`, SystemModstamp: new Date(at()).toISOString(), IsDeleted: false });
    sf.put('Contact', { Id: id(99), LastName: 'Not named', SystemModstamp: new Date(at()).toISOString(), IsDeleted: false });
    const s = subscriber();
    await s.start();
    const queriesBefore = sf.apiRequests((r) => r.path.includes('/query')).length;
    const replayId = pubsub.publish({ changeType: 'GAP_UPDATE', recordIds: [id(8), id(9)], commitTimestamp: at() });
    await waitFor('the gap event handled', async () => (await storedReplayId()) === replayId);
    const queries = sf.apiRequests((r) => r.path.includes('/query')).slice(queriesBefore);
    expect(queries).toHaveLength(1);
    expect(decodeURIComponent(queries[0]!.path)).toContain(`WHERE Id IN ('${id(8)}', '${id(9)}')`);
    await waitFor('both records mirrored', async () => (await mirrored(8))?.['LastName'] === 'Read back 8' && (await mirrored(9))?.['Email'] === 'gap9@example.com');
    expect(await mirrored(99)).toBeUndefined();
    expect(reconciled).toEqual([]);
    await stop(s);
  }, 30_000);

  test('a stream gone silent (no event, no keepalive) is torn down and subscribed again from the stored replay id', async () => {
    const s = subscriber({ keepaliveTimeoutMs: 1_000 });
    await s.start();
    const first = pubsub.publish({ changeType: 'UPDATE', recordIds: [id(1)], commitTimestamp: at(), fields: { Title: 'Countess' }, changedFields: ['Title'] });
    await waitFor('the event stored', async () => (await storedReplayId()) === first);
    const subscribes = pubsub.subscribes.length;
    pubsub.goSilent();
    await waitFor('a new subscription from the stored replay id', async () => pubsub.subscribes.length > subscribes && pubsub.openStreams() === 1);
    expect(pubsub.subscribes.at(-1)).toMatchObject({ replayPreset: 'CUSTOM', replayId: first });
    const next = pubsub.publish({ changeType: 'UPDATE', recordIds: [id(1)], commitTimestamp: at(), fields: { Title: 'Analyst' }, changedFields: ['Title'] });
    await waitFor('the next event stored through the new stream', async () => (await storedReplayId()) === next);
    await stop(s);
  }, 30_000);

  test('an update merges only changedFields (and nulledFields as null): untouched fields stay', async () => {
    const s = subscriber();
    await s.start();
    pubsub.publish({ changeType: 'CREATE', recordIds: [id(20)], commitTimestamp: at(), fields: { Name: { FirstName: 'Grace', LastName: 'Hopper' }, Email: 'grace@example.com', Phone: '555-0100', Title: 'Rear Admiral' } });
    pubsub.publish({ changeType: 'UPDATE', recordIds: [id(20)], commitTimestamp: at(), fields: { Title: 'Commodore' }, changedFields: ['Title'] });
    const last = pubsub.publish({ changeType: 'UPDATE', recordIds: [id(20)], commitTimestamp: at(), fields: {}, nulledFields: ['Phone'] });
    await waitFor('the three events stored', async () => (await storedReplayId()) === last);
    await waitFor('the mirror updated', async () => (await mirrored(20))?.['Title'] === 'Commodore' && (await mirrored(20))?.['Phone'] === null);
    expect(await mirrored(20)).toMatchObject({ 'Name.FirstName': 'Grace', 'Name.LastName': 'Hopper', Email: 'grace@example.com', Title: 'Commodore', Phone: null });
    // The update event itself carried only the field it changed.
    const update = ingested.flatMap((i) => i.events).find((e) => e.recordId === id(20) && e.operation === 'update');
    expect(Object.keys(update?.fields ?? {}).sort()).toEqual(['Id', 'LastModifiedById', 'Title']);
    await stop(s);
  }, 30_000);

  test('a refused session is renewed through the connector and the stream subscribed again', async () => {
    const s = subscriber({ keepaliveTimeoutMs: 1_000 });
    await s.start();
    const subscribes = pubsub.subscribes.length;
    sf.expireSessions();
    pubsub.goSilent();
    await waitFor('subscribed again with a renewed session', async () => pubsub.subscribes.length >= subscribes + 2 && pubsub.openStreams() === 1);
    const next = pubsub.publish({ changeType: 'UPDATE', recordIds: [id(1)], commitTimestamp: at(), fields: { Title: 'Renewed' }, changedFields: ['Title'] });
    await waitFor('the event stored after renewal', async () => (await storedReplayId()) === next);
    await stop(s);
  }, 30_000);
});
