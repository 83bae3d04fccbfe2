import { contactMatchHandler } from '../../examples/contact-match/handlers/contact-match.js';
import { defineHandler, type Handler } from '../../src/work/define-handler.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { setOutcomes } from '../../src/db/outcomes.js';
import { replayEvent } from '../../src/ops/dead-letters.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import type { TestDatabase } from '../helpers/database.js';
import type { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { inboxRows } from '../helpers/rows.js';
import { ORG_18, type TestService, startWithFakeOrg, type TestOrg } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/** Writes one field back per event, so the tests control exactly what goes to Salesforce. */
const stamp = defineHandler({
  name: 'stamp',
  match: { flow: 'stamps' },
  // One worker: the events of one callout are one batch, so their writes go in one flush.
  concurrency: 1,
  async handle(events, ctx) {
    for (const e of events) ctx.salesforce?.update(e.sobjectType, e.recordId, { Description: String(e.fields['Description']) }, { cause: e });
  },
});

let org: TestOrg;
let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;

let handlers: Handler[];

beforeAll(async () => {
  handlers = [mirrorHandler, contactMatchHandler, stamp];
  org = await startWithFakeOrg({
    // The example's own table (forcehook.app_users) comes with it: FORCEHOOK_EXAMPLES applies its migrations.
    env: { WEBHOOK_SECRETS: SECRET_A, FORCEHOOK_EXAMPLES: 'contact-match' },
    handlers,
  });
  ({ db, sf, service } = org);
});
afterAll(async () => {
  await org?.stop();
});

interface WriteRow {
  record_key: string;
  status: string;
  attempts: number;
  last_error: string | null;
  handler: string;
}

async function writes(handler: string): Promise<WriteRow[]> {
  const { rows } = await db.pool.query<WriteRow>('SELECT record_key, status, attempts, last_error, handler FROM forcehook.salesforce_writes WHERE handler = $1 ORDER BY id', [handler]);
  return rows;
}

async function settledWrites(handler: string, count: number): Promise<WriteRow[]> {
  return waitFor(`${count} ${handler} writes settled`, async () => {
    const rows = await writes(handler);
    return rows.length === count && rows.every((r) => r.status === 'done' || r.status === 'dead') ? rows : undefined;
  });
}

const callout = (records: Record<string, unknown>[], operation = 'update') => ({ orgId: ORG_18, sobjectType: 'Contact', operation, new: records, old: [] });
let seq = 0;
const contact = (n: number, fields: Record<string, unknown> = {}) => apexContact(n, { SystemModstamp: `2026-11-21T10:00:${String(seq++ % 60).padStart(2, '0')}.000+0000`, ...fields });

describe('the contact-match example', () => {
  beforeAll(async () => {
    await db.pool.query(
      `INSERT INTO forcehook.app_users (id, email, name) VALUES
       ('user-ada', 'Ada.Lovelace@Example.com', 'Ada'), ('user-dup-1', 'dup@example.com', 'One'), ('user-dup-2', 'DUP@example.com', 'Two')`,
    );
  });

  test('matches by email case-insensitively, flags no match and ambiguity, locally and in Salesforce', async () => {
    const records = [
      contact(1, { Email: 'ada.lovelace@example.COM' }),
      contact(2, { Email: 'nobody@example.com' }),
      contact(3, { Email: 'dup@example.com' }),
      contact(4, { Email: null }),
    ];
    await sendApex(service.url, 'contacts', callout(records, 'insert')).expect(202);
    await settledWrites('contact-match', 4);
    expect(sf.get('Contact', String(records[0]!['Id']))).toMatchObject({ External_Id__c: 'user-ada', Sync_Status__c: 'Matched' });
    expect(sf.get('Contact', String(records[1]!['Id']))).toMatchObject({ External_Id__c: null, Sync_Status__c: 'No match' });
    expect(sf.get('Contact', String(records[2]!['Id']))).toMatchObject({ External_Id__c: null, Sync_Status__c: 'Ambiguous' });
    expect(sf.get('Contact', String(records[3]!['Id']))).toMatchObject({ Sync_Status__c: 'No match' });
    const { rows } = await db.pool.query<{ id: string; salesforce_contact_id: string | null }>('SELECT id, salesforce_contact_id FROM forcehook.app_users ORDER BY id');
    expect(rows).toEqual([
      { id: 'user-ada', salesforce_contact_id: records[0]!['Id'] },
      { id: 'user-dup-1', salesforce_contact_id: null },
      { id: 'user-dup-2', salesforce_contact_id: null },
    ]);
  });

  test('its own write-back coming round again is not handled again (no ping-pong)', async () => {
    const before = (await writes('contact-match')).length;
    const calls = sf.collectionCalls().length;
    // Salesforce fires the trigger for our write: LastModifiedById is the integration user.
    const echo = contact(1, { Email: 'ada.lovelace@example.com', LastModifiedById: sf.integrationUserId, Sync_Status__c: 'Matched' });
    await sendApex(service.url, 'contacts', callout([echo]), { id: 'msg_echo' }).expect(202);
    await waitFor('the echo settled', async () => {
      const row = (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_echo:'));
      return row?.status === 'done' ? row : undefined;
    });
    const row = (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_echo:'));
    expect(row?.outcomes).toEqual({ 'forcehook.mirror': 'done', 'forcehook.contact-match': 'skipped' });
    expect((await writes('contact-match')).length).toBe(before);
    expect(sf.collectionCalls().length).toBe(calls);
  });

  test('an unchanged Contact is not written again', async () => {
    const before = (await writes('contact-match')).length;
    const same = contact(2, { Email: 'nobody@example.com', Sync_Status__c: 'No match', External_Id__c: null });
    await sendApex(service.url, 'contacts', callout([same]), { id: 'msg_same' }).expect(202);
    await waitFor('settled', async () => (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_same:'))?.status === 'done');
    expect((await writes('contact-match')).length).toBe(before);
  });
});

describe('the writer', () => {
  test('an expired session is renewed once and the write goes through', async () => {
    const logins = () => sf.requests.filter((r) => r.path === '/services/oauth2/token').length;
    const before = logins();
    sf.expireSessions();
    await sendApex(service.url, 'stamps', callout([contact(10, { Description: 'after expiry' })])).expect(202);
    const [row] = await settledWrites('stamp', 1);
    expect(row).toMatchObject({ status: 'done', attempts: 1 });
    expect(logins()).toBe(before + 1);
    expect(sf.get('Contact', String(apexContact(10)['Id']))?.['Description']).toBe('after expiry');
  });

  test('a lock error, a limit error and an unavailable server are retried and succeed', async () => {
    const locked = String(apexContact(11)['Id']);
    sf.failRecord(locked, { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' }, 1);
    sf.failNext({ method: 'PATCH', pathIncludes: '/composite/sobjects', status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] });
    sf.failNext({ method: 'PATCH', pathIncludes: '/composite/sobjects', status: 503, body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Server unavailable' }] });
    await sendApex(service.url, 'stamps', callout([contact(11, { Description: 'locked once' }), contact(12, { Description: 'plain' })])).expect(202);
    const rows = await waitFor('both stamps done', async () => {
      const r = (await writes('stamp')).filter((w) => w.record_key !== String(apexContact(10)['Id']));
      return r.length === 2 && r.every((w) => w.status === 'done') ? r : undefined;
    });
    expect(rows.find((r) => r.record_key === locked)?.attempts).toBe(4);
    expect(sf.get('Contact', locked)?.['Description']).toBe('locked once');
    expect(sf.get('Contact', String(apexContact(12)['Id']))?.['Description']).toBe('plain');
  });

  test("a validation error dead-letters that write with Salesforce's message; the rest of the call succeeds", async () => {
    const bad = String(apexContact(20)['Id']);
    sf.failRecord(bad, { statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Description must not say bad', fields: ['Description'] });
    const calls = sf.collectionCalls().length;
    await sendApex(service.url, 'stamps', callout([contact(20, { Description: 'bad' }), contact(21, { Description: 'good' }), contact(22, { Description: 'good too' })]), { id: 'msg_validation' }).expect(202);
    const rows = await waitFor('three settled', async () => {
      const r = (await writes('stamp')).filter((w) => [20, 21, 22].map((n) => String(apexContact(n)['Id'])).includes(w.record_key));
      return r.length === 3 && r.every((w) => w.status !== 'pending' && w.status !== 'sending') ? r : undefined;
    });
    expect(rows.find((r) => r.record_key === bad)).toMatchObject({
      status: 'dead',
      attempts: 1,
      last_error: 'Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Description must not say bad (fields: Description)',
    });
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(2);
    expect(sf.collectionCalls().length).toBe(calls + 1);
    // The event that caused the dead write shows why, for `forcehook events`.
    const event = (await inboxRows(db.pool)).find((r) => r.delivery_id === `msg_validation:${bad}`);
    expect(event).toMatchObject({ status: 'failed', last_error: 'Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Description must not say bad (fields: Description)' });
    // A handler outcome written after the write died (the mirror finishing late, a dead letter sent
    // back) refreshes the row's status from its outcomes: the dead write still fails it.
    await setOutcomes(db.pool, mirrorHandler.queue, [Number(event!.id)], 'done');
    expect((await inboxRows(db.pool)).find((r) => r.delivery_id === `msg_validation:${bad}`)).toMatchObject({ status: 'failed', last_error: expect.stringContaining('FIELD_CUSTOM_VALIDATION_EXCEPTION') });
    // A replay starts the event over: the old dead write goes, the handler stages the write again,
    // and Salesforce (still refusing it) leaves exactly one dead write.
    const writesOf = async (): Promise<{ id: string; status: string }[]> =>
      (await db.pool.query<{ id: string; status: string }>("SELECT id, status FROM forcehook.salesforce_writes WHERE handler = 'stamp' AND record_key = $1 ORDER BY id", [bad])).rows;
    const [before] = await writesOf();
    await replayEvent(service.boss, db.pool, handlers, `msg_validation:${bad}`);
    await waitFor('the write staged again and refused', async () => {
      const now = await writesOf();
      return now.some((w) => w.id !== before!.id && w.status === 'dead');
    });
    expect((await writesOf()).map((w) => w.id === before!.id)).toEqual([false]);
  });

  test('every REST call is counted and stored per day', async () => {
    await service.apiCalls.flush(db.pool);
    // The flusher may have been storing the count itself, in a statement still in flight.
    const rows = await waitFor('every counted call stored', async () => {
      const { rows: stored } = await db.pool.query<{ calls: string }>('SELECT calls FROM forcehook.api_calls');
      return Number(stored[0]?.calls) === service.apiCalls.count && stored;
    });
    const restCalls = sf.requests.filter((r) => r.path !== '/services/oauth2/token').length;
    // A call retried by jsforce after renewing the session reaches Salesforce twice but is one call of ours.
    expect(Number(rows[0]?.calls)).toBeGreaterThanOrEqual(restCalls - 1);
    expect(Number(rows[0]?.calls)).toBeLessThanOrEqual(restCalls);
    expect(service.apiCalls.count).toBe(Number(rows[0]?.calls));
  });
});
