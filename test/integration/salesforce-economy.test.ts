import { defineHandler } from '../../src/work/define-handler.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import type { TestDatabase } from '../helpers/database.js';
import type { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { ORG_18, type TestService, startWithFakeOrg, type TestOrg } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/** Writes each change's Description back: 1,000 changes, 1,000 writes before merging. */
const stamp = defineHandler({
  name: 'stamp',
  match: { flow: 'stamps' },
  batchSize: 200,
  async handle(events, ctx) {
    for (const e of events) ctx.salesforce?.update('Contact', e.recordId, { Description: String(e.fields['Description']), Title: `t${String(e.fields['Description'])}` }, { cause: e });
  },
});

let org: TestOrg;
let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;

beforeAll(async () => {
  org = await startWithFakeOrg({
    env: { WEBHOOK_SECRETS: SECRET_A },
    // A window long enough that the whole burst lands in it, as a burst from a data load would.
    salesforceEnv: () => ({ SALESFORCE_WRITE_WINDOW_MS: '3000' }),
    handlers: [stamp],
  });
  ({ db, sf, service } = org);
});
afterAll(async () => {
  await org?.stop();
});

test('1,000 changes to 300 records become at most 2 Collections calls per 200 distinct records, newest values win', async () => {
  const RECORDS = 300;
  const CALLOUTS = 5;
  const newest = new Map<string, string>();
  for (let c = 0; c < CALLOUTS; c++) {
    // Callout c changes records (c*200 .. c*200+199) mod 300: each record 3-4 times in all.
    const records = Array.from({ length: 200 }, (_, i) => {
      const n = (c * 200 + i) % RECORDS;
      const value = `change ${c}`;
      newest.set(String(apexContact(n)['Id']), value);
      return apexContact(n, { Description: value, SystemModstamp: `2026-11-22T10:00:0${c}.000+0000` });
    });
    await sendApex(service.url, 'stamps', { orgId: ORG_18, sobjectType: 'Contact', operation: 'update', new: records, old: [] }).expect(202, { accepted: 200, duplicates: 0 });
  }
  await waitFor(
    'all 1,000 writes done',
    async () => {
      const { rows } = await db.pool.query<{ done: string }>("SELECT count(*) FILTER (WHERE status = 'done') AS done FROM forcehook.salesforce_writes");
      return Number(rows[0]?.done) === CALLOUTS * 200;
    },
    20_000,
  );
  const calls = sf.collectionCalls();
  const distinctPerCall = calls.map((c) => (c.body as { records: unknown[] }).records.length);
  expect(calls.length).toBeLessThanOrEqual(Math.ceil(RECORDS / 200) * 2);
  expect(distinctPerCall.every((n) => n <= 200)).toBe(true);
  for (const [id, value] of newest) expect(sf.get('Contact', id)).toMatchObject({ Description: value, Title: `t${value}` });
  // Every call forcehook made is counted: the login's userinfo and the Collections calls.
  expect(service.apiCalls.count).toBe(sf.requests.filter((r) => r.path !== '/services/oauth2/token').length);
});
