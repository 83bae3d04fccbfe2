import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { apexContact, SECRET_A, SECRET_B, sendApex } from '../helpers/apex-callout.js';
import { countRows, inboxRows, recordRows } from '../helpers/rows.js';
import { ORG_18, STRANGER_ORG, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

let db: TestDatabase;
let service: TestService;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestService(db, { env: { WEBHOOK_SECRETS: `${SECRET_A} ${SECRET_B}` } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const callout = (operation: string, records: Record<string, unknown>[], old: Record<string, unknown>[] = []) => ({
  orgId: ORG_18,
  userId: '0055g00000Usr01AAB',
  sobjectType: 'Contact',
  operation,
  new: records,
  old,
  apiVersion: '62.0',
});

async function settled(prefix: string, count: number): Promise<void> {
  await waitFor(`${count} events of ${prefix} done`, async () => (await inboxRows(db.pool)).filter((r) => r.delivery_id.startsWith(prefix) && r.status === 'done').length === count);
}

describe('POST /apex/:flow', () => {
  test('one record: 202 after commit, stored with its delivery id, mirrored with the Apex modstamp', async () => {
    const res = await sendApex(service.url, 'contacts', callout('insert', [apexContact(1)]), { id: 'msg_one' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, duplicates: 0 });
    const [row] = (await inboxRows(db.pool)).filter((r) => r.delivery_id.startsWith('msg_one:'));
    expect(row).toMatchObject({ source: 'apex', flow: 'contacts', operation: 'insert', org_id: ORG_18, sobject_type: 'Contact', delivery_id: `msg_one:${apexContact(1)['Id']}` });
    expect(row?.fields).not.toHaveProperty('attributes');
    expect(row?.modstamp?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
    await settled('msg_one:', 1);
    const record = (await recordRows(db.pool)).find((r) => r.record_id === apexContact(1)['Id']);
    expect(record?.fields).toMatchObject({ LastName: 'Contact 1', Email: 'c1@example.com' });
  });

  test('200 records in one callout are stored in one transaction and mirrored', async () => {
    const records = Array.from({ length: 200 }, (_, i) => apexContact(1000 + i));
    const res = await sendApex(service.url, 'contacts', callout('insert', records), { id: 'msg_bulk' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 200, duplicates: 0 });
    const xids = await db.pool.query("SELECT DISTINCT xmin::text FROM forcehook.inbox WHERE delivery_id LIKE 'msg_bulk:%'");
    expect(xids.rowCount).toBe(1);
    await settled('msg_bulk:', 200);
    expect((await recordRows(db.pool)).filter((r) => r.last_delivery_id.startsWith('msg_bulk:'))).toHaveLength(200);
  });

  test('201 records are refused with the path of the issue', async () => {
    const records = Array.from({ length: 201 }, (_, i) => apexContact(3000 + i));
    const res = await sendApex(service.url, 'contacts', callout('insert', records));
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'new', message: 'at most 200 records per callout' }]);
  });

  test('a retried callout (same webhook-id, within the tolerance) is deduplicated', async () => {
    const payload = callout('update', [apexContact(2, { LastName: 'Again' })], [apexContact(2)]);
    await sendApex(service.url, 'contacts', payload, { id: 'msg_retry' }).expect(202, { accepted: 1, duplicates: 0 });
    await sendApex(service.url, 'contacts', payload, { id: 'msg_retry' }).expect(202, { accepted: 0, duplicates: 1 });
    expect((await inboxRows(db.pool)).filter((r) => r.delivery_id.startsWith('msg_retry:'))).toHaveLength(1);
  });

  test('the same callout ten times at once is stored once, and every copy is answered', async () => {
    const payload = callout('insert', [apexContact(30), apexContact(31)]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => sendApex(service.url, 'contacts', payload, { id: 'msg_burst' })));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(202));
    const totals = replies.reduce((t, r) => ({ accepted: t.accepted + r.body.accepted, duplicates: t.duplicates + r.body.duplicates }), { accepted: 0, duplicates: 0 });
    expect(totals).toEqual({ accepted: 2, duplicates: 18 });
    expect((await inboxRows(db.pool)).filter((r) => r.delivery_id.startsWith('msg_burst:'))).toHaveLength(2);
  });

  test('an update keeps the old record as `previous`', async () => {
    await sendApex(service.url, 'contacts', callout('update', [apexContact(3, { LastName: 'New' })], [apexContact(3, { LastName: 'Old' })]), { id: 'msg_prev' }).expect(202);
    const { rows } = await db.pool.query<{ previous: Record<string, unknown> }>("SELECT previous FROM forcehook.inbox WHERE delivery_id LIKE 'msg_prev:%'");
    expect(rows[0]?.previous).toMatchObject({ LastName: 'Old' });
    expect(rows[0]?.previous).not.toHaveProperty('attributes');
    // An insert has no previous record: SQL NULL, not a JSON null.
    await sendApex(service.url, 'contacts', callout('insert', [apexContact(4)]), { id: 'msg_no_prev' }).expect(202);
    const { rows: inserted } = await db.pool.query<{ no_previous: boolean }>("SELECT previous IS NULL AS no_previous FROM forcehook.inbox WHERE delivery_id LIKE 'msg_no_prev:%'");
    expect(inserted).toEqual([{ no_previous: true }]);
  });

  test('a delete carries the record in `old` and the mirror marks it deleted', async () => {
    await sendApex(service.url, 'contacts', callout('insert', [apexContact(4)]), { id: 'msg_ins4' }).expect(202);
    await settled('msg_ins4:', 1);
    const deletion = callout('delete', [], [apexContact(4, { SystemModstamp: '2026-11-20T11:00:00.000+0000' })]);
    await sendApex(service.url, 'contacts', deletion, { id: 'msg_del4' }).expect(202, { accepted: 1, duplicates: 0 });
    await settled('msg_del4:', 1);
    const record = (await recordRows(db.pool)).find((r) => r.record_id === apexContact(4)['Id']);
    expect(record).toMatchObject({ deleted: true, last_delivery_id: `msg_del4:${apexContact(4)['Id']}` });
  });

  test('a SystemModstamp more than 5 minutes ahead is refused with 400 and nothing stored; 4 minutes ahead is clock skew', async () => {
    const before = (await inboxRows(db.pool)).length;
    const ahead = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const forged = callout('update', [apexContact(40, { SystemModstamp: '2026-11-20T10:00:00.000+0000' }), apexContact(41, { SystemModstamp: ahead(60 * 24 * 365) })]);
    const res = await sendApex(service.url, 'contacts', forged, { id: 'msg_future' }).expect(400);
    expect(res.body.error.code).toBe('MODSTAMP_IN_FUTURE');
    expect((await inboxRows(db.pool)).length).toBe(before);
    await sendApex(service.url, 'contacts', callout('update', [apexContact(42, { SystemModstamp: ahead(4) })]), { id: 'msg_skew' }).expect(202);
  });

  test('both secrets of a rotation are accepted', async () => {
    await sendApex(service.url, 'contacts', callout('insert', [apexContact(5)]), { secret: SECRET_A }).expect(202);
    await sendApex(service.url, 'contacts', callout('insert', [apexContact(6)]), { secret: SECRET_B }).expect(202);
  });

  test.each([
    ['a tampered body', { tamper: (b: string) => b.replace('Contact 7', 'Contact 8') }],
    ['an old timestamp', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 }],
    ['a timestamp from the future', { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 }],
    ['an unknown secret', { secret: 'whsec_ZmFrZS1zZWNyZXQtdGhhdC1pcy1ub3QtY29uZmlndXJlZA==' }],
  ])('%s gets 401 and nothing is stored', async (_name, options) => {
    const before = await countRows(db.pool, 'forcehook.inbox');
    const res = await sendApex(service.url, 'contacts', callout('insert', [apexContact(7)]), options);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('SIGNATURE_INVALID');
    expect(JSON.stringify(res.body)).not.toMatch(/whsec_/);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before);
  });

  test('an unsigned request gets 401', async () => {
    const res = await fetch(`${service.url}/apex/contacts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(callout('insert', [apexContact(9)])) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
  });

  test('an invalid body gets 400 with the zod issue paths, and nothing is stored', async () => {
    const before = await countRows(db.pool, 'forcehook.inbox');
    const res = await sendApex(service.url, 'contacts', { ...callout('merge', [{ ...apexContact(10), Id: 'nope' }]) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_MESSAGE');
    expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['new.0.Id', 'operation']);
    const notJson = await sendApex(service.url, 'contacts', '{"orgId": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('BODY_MALFORMED');
    const nul = await sendApex(service.url, 'contacts', callout('insert', [apexContact(12, { LastName: 'a\u0000b' })]));
    expect(nul.status).toBe(400);
    expect(nul.body.error.issues).toEqual([{ path: 'new.0.LastName', message: 'contains the NUL character (\\u0000)' }]);
    // A lone surrogate (JSON.stringify writes it escaped): jsonb refuses it, so it is the sender's 400, not a 500 retried for ever.
    const half = await sendApex(service.url, 'contacts', callout('insert', [apexContact(12, { LastName: 'a\ud800b' })]));
    expect({ status: half.status, issues: half.body.error.issues }).toEqual({ status: 400, issues: [{ path: 'new.0.LastName', message: 'contains half of a UTF-16 surrogate pair' }] });
    const mismatch = await sendApex(service.url, 'contacts', callout('insert', [{ ...apexContact(11), attributes: { type: 'Account' } }]));
    expect(mismatch.body.error.issues).toEqual([{ path: 'new.0.attributes.type', message: 'is Account, but sobjectType is Contact' }]);
    expect(await countRows(db.pool, 'forcehook.inbox')).toBe(before);
    // A whole surrogate pair (an emoji) is text like any other.
    const pair = await sendApex(service.url, 'contacts', callout('insert', [apexContact(13, { LastName: 'a\ud83d\ude00b' })]));
    expect(pair.status).toBe(202);
  });

  test('an org that is not allowed gets 403', async () => {
    const res = await sendApex(service.url, 'contacts', { ...callout('insert', [apexContact(12)]), orgId: STRANGER_ORG });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('ORG_NOT_ALLOWED');
  });

  test('a wrong content type gets 415 and a body over the limit 413', async () => {
    const wrongType = await sendApex(service.url, 'contacts', callout('insert', [apexContact(13)]), { contentType: 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await sendApex(service.url, 'contacts', callout('insert', [apexContact(14, { Description: 'x'.repeat(6 * 1024 * 1024) })]));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('BODY_TOO_LARGE');
  });
});
