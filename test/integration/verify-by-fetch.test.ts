import request from 'supertest';
import { toId18 } from '../../src/events/salesforce-id.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import type { TestDatabase } from '../helpers/database.js';
import type { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { outboundPath, ORG_18, type TestService, startWithFakeOrg, type TestOrg } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Outbound Messages carry no session since February 2026: with OUTBOUND_VERIFY_BY_FETCH the worker
 * reads the notified records back from the (fake) org before any handler sees them.
 */
let org: TestOrg;
let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;

const STAMP = '2026-11-20T10:00:00.000Z';
const contact = (n: number) => toId18(fakeId('003', n));

beforeAll(async () => {
  org = await startWithFakeOrg({ env: { OUTBOUND_VERIFY_BY_FETCH: 'verified' }, handlers: [mirrorHandler] });
  ({ db, sf, service } = org);
});
afterAll(async () => {
  await org?.stop();
});

const queryRequests = () => sf.apiRequests((r) => r.method === 'GET' && /\/query\?/.test(r.path));
const queries = () => queryRequests().length;

async function send(flow: string, notifications: { n: number; type?: string; fields: Record<string, string> }[]) {
  const xml = buildOutboundMessage({
    orgId: ORG_18,
    notifications: notifications.map(({ n, type, fields }) => ({ id: fakeId('04l', n), sobjectType: type ?? 'Contact', fields: { Id: fakeId(type === 'Account' ? '001' : '003', n), ...fields } })),
  });
  const res = await request(service.url).post(outboundPath(flow)).set('Content-Type', 'text/xml').send(Buffer.from(xml));
  expect(res.text).toContain('<Ack>true</Ack>');
}

async function settled(ids: readonly string[]) {
  return waitFor('the notifications settled', async () => {
    const rows = (await inboxRows(db.pool)).filter((r) => ids.includes(r.delivery_id));
    return rows.length === ids.length && rows.every((r) => r.status === 'done' || r.status === 'dropped') ? rows : undefined;
  });
}

describe('verify-by-fetch', () => {
  test('a forged notification for a record the org does not have is dropped; the others get the org values, in one query', async () => {
    sf.put('Contact', { Id: contact(1), LastName: 'Lovelace', Email: 'ada@example.com', SystemModstamp: STAMP });
    sf.put('Contact', { Id: contact(2), LastName: 'Hopper', Email: 'grace@example.com', SystemModstamp: STAMP });
    const before = queries();
    await send('verified', [
      { n: 1, fields: { LastName: 'Lovelace', Email: 'forged@attacker.example', SystemModstamp: STAMP } },
      { n: 2, fields: { LastName: 'Hopper', Email: 'grace@example.com', SystemModstamp: STAMP } },
      { n: 3, fields: { LastName: 'Nobody', Email: 'ghost@attacker.example', SystemModstamp: STAMP } },
    ]);
    const rows = await settled([fakeId('04l', 1), fakeId('04l', 2), fakeId('04l', 3)]);
    expect(Object.fromEntries(rows.map((r) => [r.record_id, r.status]))).toEqual({ [contact(1)]: 'done', [contact(2)]: 'done', [contact(3)]: 'dropped' });
    expect(rows.find((r) => r.record_id === contact(3))?.last_error).toContain('the org has no such record');

    const mirrored = await recordRows(db.pool);
    expect(mirrored.map((r) => r.record_id).sort()).toEqual([contact(1), contact(2)]);
    expect(mirrored.find((r) => r.record_id === contact(1))?.fields).toMatchObject({ Email: 'ada@example.com', LastName: 'Lovelace' });
    // Three notifications, one SOQL query with exactly the fields the message carried.
    expect(queries() - before).toBe(1);
    const soql = new URL(`http://x${queryRequests().at(-1)?.path ?? ''}`).searchParams.get('q');
    expect(soql).toMatch(/SELECT Id, Email, LastName, SystemModstamp FROM Contact WHERE Id IN \(/);
  });

  test('a forged notification naming a field the org does not have fails alone, not its batch mates', async () => {
    sf.put('Contact', { Id: contact(42), LastName: 'Genuine', SystemModstamp: STAMP });
    sf.missingFields.add('Forged_Field__c');
    const before = queries();
    await send('verified', [
      { n: 41, fields: { LastName: 'Forged', Forged_Field__c: 'x', SystemModstamp: STAMP } },
      { n: 42, fields: { LastName: 'Genuine', SystemModstamp: STAMP } },
    ]);
    const rows = await waitFor('both settled', async () => {
      const found = (await inboxRows(db.pool)).filter((r) => [contact(41), contact(42)].includes(r.record_id));
      return found.length === 2 && found.every((r) => r.status === 'done' || r.status === 'failed') ? found : undefined;
    });
    expect(Object.fromEntries(rows.map((r) => [r.record_id, r.status]))).toEqual({ [contact(41)]: 'failed', [contact(42)]: 'done' });
    expect(rows.find((r) => r.record_id === contact(41))?.last_error).toContain('INVALID_FIELD');
    expect((await recordRows(db.pool)).some((r) => r.record_id === contact(41))).toBe(false);
    expect(queries() - before).toBe(2);
  });

  test('two sObject types in one message cost one query each', async () => {
    sf.put('Contact', { Id: contact(11), LastName: 'Ride', SystemModstamp: STAMP });
    sf.put('Account', { Id: toId18(fakeId('001', 12)), Name: 'Acme', SystemModstamp: STAMP });
    const before = queries();
    await send('verified', [
      { n: 11, fields: { LastName: 'Ride' } },
      { n: 12, type: 'Account', fields: { Name: 'Acme' } },
    ]);
    await settled([fakeId('04l', 11), fakeId('04l', 12)]);
    expect(queries() - before).toBe(2);
  });

  test('a flow without verify-by-fetch costs no API call and takes the message as sent', async () => {
    const before = queries();
    await send('unverified', [{ n: 21, fields: { LastName: 'Unchecked', SystemModstamp: STAMP } }]);
    await settled([fakeId('04l', 21)]);
    expect((await recordRows(db.pool)).some((r) => r.record_id === contact(21))).toBe(true);
    expect(queries() - before).toBe(0);
  });

  test('Salesforce unavailable: the notification waits and is verified on a retry, never handled unverified', async () => {
    sf.put('Contact', { Id: contact(31), LastName: 'Later', SystemModstamp: STAMP });
    const before = queries();
    sf.failNext({ method: 'GET', pathIncludes: '/query', status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down for maintenance' }], times: 1 });
    await send('verified', [{ n: 31, fields: { LastName: 'Later', SystemModstamp: STAMP } }]);
    const [row] = await settled([fakeId('04l', 31)]);
    expect(row?.status).toBe('done');
    expect((await recordRows(db.pool)).find((r) => r.record_id === contact(31))?.fields).toMatchObject({ LastName: 'Later' });
    expect(queries() - before).toBe(2);
  });
});
