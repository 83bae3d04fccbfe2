import { mirrorHandler } from '../../src/work/mirror.js';
import { toId18 } from '../../src/events/salesforce-id.js';
import { HandlerRegistry } from '../../src/work/registry.js';
import { createIngest } from '../../src/inbox/ingest.js';
import type { SalesforceConnector } from '../../src/writeback/connection.js';
import { reconcile } from '../../src/ingress/reconcile.js';
import { runCli } from '../helpers/cli-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { fakeConnector, fakeSalesforceEnv, ORG_15, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

let db: TestDatabase;
let sf: FakeSalesforce;
let service: TestService;
let connector: SalesforceConnector;

const id = (n: number): string => toId18(`003RECON${String(n).padStart(7, '0')}`);
const T = (s: number): string => new Date(Date.UTC(2026, 10, 20, 10, 0, s)).toISOString();

// Once a year (noon on 1 January): the scheduled run never takes the records these tests reconcile by hand.
const RARE_CRON = '0 12 1 1 *';

beforeAll(async () => {
  db = await createTestDatabase();
  sf = await new FakeSalesforce().start();
  service = await startTestService(db, { env: { ...fakeSalesforceEnv(sf.url), RECONCILE: 'Contact=contacts', RECONCILE_CRON: RARE_CRON }, handlers: [mirrorHandler] });
  connector = fakeConnector(sf.url);
  // Changed while forcehook heard nothing: two share a SystemModstamp, one is in the recycle bin.
  sf.put('Contact', { Id: id(1), LastName: 'One', SystemModstamp: T(1), IsDeleted: false });
  sf.put('Contact', { Id: id(2), LastName: 'Two', SystemModstamp: T(2), IsDeleted: false });
  sf.put('Contact', { Id: id(3), LastName: 'Three', SystemModstamp: T(2), IsDeleted: false });
  sf.put('Contact', { Id: id(4), LastName: 'Four', SystemModstamp: T(3), IsDeleted: false });
  sf.put('Contact', { Id: id(5), LastName: 'Five', SystemModstamp: T(4), IsDeleted: true });
});
afterAll(async () => {
  await service?.stop();
  await sf?.stop();
  await db?.drop();
});

function run(options: { since?: Date } = {}) {
  const ingest = createIngest({ pool: service.pool, boss: service.boss, registry: new HandlerRegistry([mirrorHandler]) });
  // Pages of two: the page boundary falls between the two records that share a SystemModstamp.
  return reconcile({ db: service.pool, connection: () => connector.connection(), orgId: () => connector.orgId(), ingest, pageSize: 2 }, { sobjectType: 'Contact', flow: 'contacts' }, options);
}

describe('reconciliation', () => {
  test('is scheduled on the worker when RECONCILE is set', async () => {
    const schedules = await service.boss.getSchedules('forcehook.reconcile');
    expect(schedules).toEqual([expect.objectContaining({ name: 'forcehook.reconcile', key: 'Contact', cron: RARE_CRON, data: { sobjectType: 'Contact', flow: 'contacts' } })]);
  });

  test('mirrors what changed while forcehook heard nothing, deletions included, losing none at a page cut', async () => {
    const progress = await run();
    expect(progress).toMatchObject({ pages: 3, records: 5, accepted: 5, cursor: { id: id(5) } });
    const rows = (await inboxRows(db.pool)).filter((r) => r.source === 'reconcile');
    expect(rows.map((r) => r.record_id).sort()).toEqual([1, 2, 3, 4, 5].map(id).sort());
    expect(rows.find((r) => r.record_id === id(5))?.operation).toBe('delete');
    await waitFor('all mirrored', async () => (await recordRows(db.pool)).filter((r) => r.record_id.startsWith('003RECON')).length === 5);
    const records = await recordRows(db.pool);
    expect(records.find((r) => r.record_id === id(3))?.fields['LastName']).toBe('Three');
    expect(records.find((r) => r.record_id === id(5))?.deleted).toBe(true);
  });

  test('the next run starts at the cursor: nothing again, then only what changed', async () => {
    expect(await run()).toMatchObject({ records: 0, accepted: 0 });
    sf.put('Contact', { Id: id(2), LastName: 'Two, renamed', SystemModstamp: T(9), IsDeleted: false });
    expect(await run()).toMatchObject({ records: 1, accepted: 1, cursor: { id: id(2) } });
    await waitFor('the rename mirrored', async () => (await recordRows(db.pool)).find((r) => r.record_id === id(2))?.fields['LastName'] === 'Two, renamed');
  });

  test('--since re-reads from a time; what was already stored is deduplicated', async () => {
    expect(await run({ since: new Date(T(0)) })).toMatchObject({ records: 5, accepted: 0 });
  });

  test('a large first read goes through one Bulk API 2.0 query job, and the cursor lands on the newest record', async () => {
    const ingest = createIngest({ pool: service.pool, boss: service.boss, registry: new HandlerRegistry([mirrorHandler]) });
    for (let n = 100; n < 130; n++) sf.put('Account', { Id: toId18(`001RECON${String(n).padStart(7, '0')}`), Name: `Account ${n}`, SystemModstamp: T(n % 7), IsDeleted: n === 129 });
    const jobs = () => sf.requests.filter((r) => r.method === 'POST' && r.path.includes('/jobs/query')).length;
    const progress = await reconcile({ db: service.pool, connection: () => connector.connection(), orgId: () => connector.orgId(), ingest }, { sobjectType: 'Account', flow: 'accounts' }, { bulk: true });
    expect(progress).toMatchObject({ records: 30, accepted: 30 });
    expect(jobs()).toBe(1);
    // Newest SystemModstamp is T(6) (n = 104, 111, 118, 125); the largest Id among them wins.
    expect(progress.cursor).toEqual({ modstamp: T(6), id: toId18('001RECON0000125') });
    const deleted = (await inboxRows(db.pool)).find((r) => r.record_id === toId18('001RECON0000129'));
    expect(deleted?.operation).toBe('delete');
  });

  test('forcehook reconcile <sobject> runs it now from the command line', async () => {
    sf.put('Contact', { Id: id(6), LastName: 'Six', SystemModstamp: T(20), IsDeleted: false });
    const cli = runCli(['reconcile', 'Contact'], { DATABASE_URL: db.url, DATABASE_SSL: 'off', SALESFORCE_ORG_IDS: ORG_15, RECONCILE: 'Contact=contacts', ...fakeSalesforceEnv(sf.url) });
    expect((await cli.exited).code).toBe(0);
    expect(cli.output.at(-1)).toMatch(/^reconciled Contact into flow contacts: 1 records, 1 new, 0 already seen; \d+ API calls$/);
  }, 30_000);
});
