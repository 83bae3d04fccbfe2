import { defineHandler } from '../../src/work/define-handler.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { StagedWrites } from '../../src/writeback/writer.js';
import type { SalesforceEvent } from '../../src/events/salesforce-event.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import type { TestDatabase } from '../helpers/database.js';
import type { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { inboxRows } from '../helpers/rows.js';
import { runCli } from '../helpers/cli-process.js';
import { fakeSalesforceEnv, ORG_18, serviceEnv, type TestService, startWithFakeOrg, type TestOrg } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/** Each Contact update publishes `Description` Platform Events (a number) of the type in `Title` (default Order_Approved__e). */
const announce = defineHandler({
  name: 'announce',
  match: { flow: 'approvals-in' },
  concurrency: 1,
  async handle(events, ctx) {
    for (const e of events) {
      const count = Number(e.fields['Description']);
      const type = typeof e.fields['Title'] === 'string' ? e.fields['Title'] : 'Order_Approved__e';
      for (let n = 0; n < count; n++) ctx.salesforce?.publish(type, { Order_Key__c: `${e.recordId}-${n}`, Line__c: n }, { cause: e });
    }
  },
});

/** Listens to the Platform Event channel: forcehook's own events must not reach it. */
const heard: SalesforceEvent[] = [];
const listener = defineHandler({
  name: 'approval-listener',
  match: { flow: 'shipments', sobjectType: 'Shipment__e' },
  async handle(events) {
    heard.push(...events);
  },
});

let org: TestOrg;
let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;

beforeAll(async () => {
  org = await startWithFakeOrg({
    env: { WEBHOOK_SECRETS: SECRET_A },
    salesforceEnv: (fake) => ({
      // Known up front, so the API calls below are the publishes alone (no userinfo call).
      SALESFORCE_INTEGRATION_USER_ID: fake.integrationUserId,
      SALESFORCE_WRITE_WINDOW_MS: '300',
      STREAM_CHANNELS: '/event/Shipment__e=shipments',
      STREAM_TRANSPORT: 'cometd',
    }),
    handlers: [mirrorHandler, announce, listener],
  });
  ({ db, sf, service } = org);
  // The subscriber asks userinfo which org it is in before it subscribes: done before we count.
  await waitFor('subscribed to the event channel', async () => sf.subscriptions().some((s) => s.channel === '/event/Shipment__e'));
});
afterAll(async () => {
  await org?.stop();
});

interface EventWrite {
  status: string;
  attempts: number;
  last_error: string | null;
  fields: Record<string, unknown>;
}

async function eventWrites(): Promise<EventWrite[]> {
  const { rows } = await db.pool.query<EventWrite>("SELECT status, attempts, last_error, fields FROM forcehook.salesforce_writes WHERE operation = 'create' ORDER BY id");
  return rows;
}

async function settled(count: number): Promise<EventWrite[]> {
  return waitFor(`${count} publishes settled`, async () => {
    const rows = await eventWrites();
    return rows.length === count && rows.every((r) => r.status === 'done' || r.status === 'dead') ? rows : undefined;
  }, 20_000);
}

const callout = (records: Record<string, unknown>[]) => ({ orgId: ORG_18, sobjectType: 'Contact', operation: 'update', new: records, old: [] });

test('a handler publishing 1,000 Platform Events spends 5 API calls: Collections create, 200 a call', async () => {
  const before = service.apiCalls.count;
  const calls = (): typeof sf.requests => sf.requests.filter((r) => r.path !== '/services/oauth2/token');
  const requestsBefore = calls().length;
  await sendApex(service.url, 'approvals-in', callout([apexContact(1, { Description: '1000' })])).expect(202);
  const rows = await settled(1000);
  expect(rows.every((r) => r.status === 'done')).toBe(true);
  expect(sf.createCalls()).toHaveLength(5);
  for (const call of sf.createCalls()) expect((call.body as { allOrNone: boolean; records: unknown[] }).records).toHaveLength(200);
  expect(sf.publishedEvents).toHaveLength(1000);
  expect(new Set(sf.publishedEvents.map((e) => e.fields['Order_Key__c'])).size).toBe(1000);
  expect(sf.publishedEvents[0]).toMatchObject({ type: 'Order_Approved__e', fields: { Line__c: 0 } });
  // Every call is counted. Besides the 5 publishes, the only call is the stream subscriber asking
  // userinfo for its org id when the first echo arrives (once per process; not the publisher's).
  const made = calls().slice(requestsBefore);
  expect(service.apiCalls.count - before).toBe(made.length);
  expect(made.filter((r) => r.path.endsWith('/composite/sobjects'))).toHaveLength(5);
  expect(made.filter((r) => !r.path.endsWith('/composite/sobjects')).every((r) => r.path.endsWith('/oauth2/userinfo'))).toBe(true);
  // The count is stored by the flusher just after it settles the writes, in a statement of its own.
  await waitFor('the calls stored', async () => {
    const { rows: counted } = await db.pool.query<{ calls: number }>('SELECT calls FROM forcehook.api_calls');
    return counted.reduce((n, r) => n + Number(r.calls), 0) >= 5;
  });
});

test('our own events come back on the channel and are not handled again; one published by someone else is', async () => {
  // Published by forcehook, delivered on /event/Shipment__e with CreatedById = forcehook's user.
  await sendApex(service.url, 'approvals-in', callout([apexContact(3, { Description: '3', Title: 'Shipment__e' })])).expect(202);
  const echoes = await waitFor('the echoes handled', async () => {
    const rows = (await inboxRows(db.pool)).filter((r) => r.flow === 'shipments' && r.status === 'done');
    return rows.length === 3 ? rows : undefined;
  }, 20_000);
  expect(echoes.map((r) => r.outcomes['forcehook.approval-listener'])).toEqual(['skipped', 'skipped', 'skipped']);
  expect(echoes[0]!.fields).toMatchObject({ CreatedById: sf.integrationUserId, LastModifiedById: sf.integrationUserId });
  expect(heard).toHaveLength(0);
  // An event someone else published (a Flow, another integration) is handled.
  sf.publish('/event/Shipment__e', { Order_Key__c: 'from-flow', CreatedById: '0055g00000Other', EventUuid: 'c0ffee00-0000-4000-8000-000000000001', CreatedDate: new Date().toISOString() });
  await waitFor('the foreign event handled', async () => heard.length === 1);
  expect(heard[0]!.fields).toMatchObject({ Order_Key__c: 'from-flow' });
});

test('each event keeps its own result: a refused one is dead-lettered with the reason, a locked one retried, the rest published', async () => {
  sf.failEvent((f) => f['Line__c'] === 3, { statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', message: 'Line__c: bad value', fields: ['Line__c'] });
  sf.failEvent((f) => f['Line__c'] === 5, { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'try again' }, 1);
  const published = sf.publishedEvents.length;
  await sendApex(service.url, 'approvals-in', callout([apexContact(2, { Description: '8' })])).expect(202);
  const rows = (await settled(1011)).slice(1003);
  expect(rows.map((r) => r.status)).toEqual(['done', 'done', 'done', 'dead', 'done', 'done', 'done', 'done']);
  expect(rows[3]!.last_error).toMatch(/INVALID_FIELD_FOR_INSERT_UPDATE.*Line__c/);
  expect(rows[5]).toMatchObject({ status: 'done', attempts: 2 });
  expect(sf.publishedEvents.length - published).toBe(7);
  // The event that caused the refused publish shows why.
  const cause = (await inboxRows(db.pool)).find((r) => r.flow === 'approvals-in' && r.record_id === String(apexContact(2)['Id']))!;
  expect(cause).toMatchObject({ status: 'failed' });
  expect(cause.last_error).toMatch(/INVALID_FIELD_FOR_INSERT_UPDATE/);
});

test('a name that is not a Platform Event is refused at once; two equal events stay two', () => {
  const writes = new StagedWrites('unit', () => Promise.reject(new Error('not used')));
  expect(() => writes.publish('Contact', { Name: 'x' })).toThrow(TypeError);
  expect(() => writes.publish('Order_Approved__c', {})).toThrow(/ends in __e/);
  expect(writes.staged).toHaveLength(0);
  writes.publish('Order_Approved__e', { Order_Key__c: 'same' });
  writes.publish('Order_Approved__e', { Order_Key__c: 'same' });
  expect(writes.staged).toHaveLength(2);
  expect(writes.staged[0]!.recordKey).not.toBe(writes.staged[1]!.recordKey);
  expect(writes.staged[0]).toMatchObject({ operation: 'create', sobjectType: 'Order_Approved__e', externalIdField: '' });
});

test('forcehook publish sends events now, 200 a call, and prints each result', async () => {
  const env = serviceEnv(db, fakeSalesforceEnv(sf.url, { SALESFORCE_INTEGRATION_USER_ID: sf.integrationUserId }));
  sf.failEvent((f) => f['Order_Key__c'] === 'cli-250', { statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Amount__c]', fields: ['Amount__c'] });
  const creates = sf.createCalls().length;
  const events = Array.from({ length: 300 }, (_, n) => ({ Order_Key__c: `cli-${n}` }));
  const run = runCli(['publish', 'Order_Approved__e', '--json', JSON.stringify(events), '--output-json'], env);
  const { code } = await run.exited;
  expect(code).toBe(1);
  const report = JSON.parse(run.output.filter((l) => !l.startsWith('{"level"')).join('\n')) as { published: number; failed: number; apiCalls: number; results: { index: number; success: boolean; error?: string; eventUuid?: string }[] };
  expect(report).toMatchObject({ published: 299, failed: 1 });
  expect(report.results.find((r) => !r.success)).toMatchObject({ index: 250, error: 'Salesforce REQUIRED_FIELD_MISSING: Required fields are missing: [Amount__c] (fields: Amount__c)' });
  expect(report.results[0]!.eventUuid).toMatch(/^[0-9a-f-]{36}$/);
  expect(sf.createCalls().length - creates).toBe(2);
  const refused = runCli(['publish', 'Contact', '--json', '{}'], env);
  expect((await refused.exited).code).toBe(1);
  expect(refused.output.join('\n')).toContain('Contact is not a Platform Event');
}, 60_000);
