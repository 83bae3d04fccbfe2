import { appUsersMapping } from '../../examples/contact-match/mappings/app-users.js';
import { pushRecords, recordUrl, salesforceIdOf, synchronised } from '../../src/writeback/push.js';
import type { SalesforceConnector } from '../../src/writeback/connection.js';
import { runCli } from '../helpers/cli-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { installExample } from '../helpers/examples.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { fakeConnector, fakeSalesforceEnv, serviceEnv } from '../helpers/service.js';

let db: TestDatabase;
let sf: FakeSalesforce;
let connector: SalesforceConnector;

beforeAll(async () => {
  db = await createTestDatabase();
  await installExample(db.pool, 'contact-match');
  sf = await new FakeSalesforce().start();
  connector = fakeConnector(sf.url);
});
afterAll(async () => {
  await sf?.stop();
  await db?.drop();
});

async function addUsers(from: number, count: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO forcehook.app_users (id, email, name) SELECT 'u' || lpad(n::text, 6, '0'), 'user' || n || '@example.com', 'User ' || n FROM generate_series($1::int, $1::int + $2::int - 1) n`,
    [from, count],
  );
}

const deps = () => ({ db: db.pool, connection: () => connector.connection() });
const bulkCalls = () => sf.apiRequests((r) => r.path.includes('/jobs/ingest'));
/** `forcehook push app-users --ids <ids>` against the fake Salesforce. */
const pushCli = (ids: string) => runCli(['push', 'app-users', '--ids', ids], serviceEnv(db, { FORCEHOOK_EXAMPLES: 'contact-match', ...fakeSalesforceEnv(sf.url) }));

describe('pushing local rows to Salesforce', () => {
  test('50 rows go through Collections, each Salesforce id is recorded, and an unchanged re-push makes no call', async () => {
    await addUsers(1, 50);
    const before = sf.collectionCalls().length;
    const result = await pushRecords(deps(), appUsersMapping);
    expect(result).toMatchObject({ considered: 50, unchanged: 0, upserted: 50, failed: [], via: 'collections' });
    expect(sf.collectionCalls().length - before).toBe(1);
    expect(bulkCalls()).toHaveLength(0);
    const sfId = await salesforceIdOf(db.pool, 'app-users', 'u000001');
    expect(sf.get('Contact', sfId!)).toMatchObject({ External_Id__c: 'u000001', Email: 'user1@example.com', LastName: 'User 1' });
    expect(await synchronised(db.pool, 'app-users', 'u000001')).toBe(true);
    expect(recordUrl('https://x.my.salesforce.com/', sfId!)).toBe(`https://x.my.salesforce.com/${sfId}`);
    const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM forcehook.app_users WHERE salesforce_contact_id IS NOT NULL AND id <= 'u000050'");
    expect(Number(rows[0]?.n)).toBe(50);

    const requests = sf.apiRequests().length;
    expect(await pushRecords(deps(), appUsersMapping)).toMatchObject({ considered: 50, unchanged: 50, upserted: 0, via: 'none' });
    expect(sf.apiRequests().length).toBe(requests);

    await db.pool.query("UPDATE forcehook.app_users SET name = 'Renamed' WHERE id = 'u000002'");
    expect(await pushRecords(deps(), appUsersMapping, { ids: ['u000001', 'u000002'] })).toMatchObject({ considered: 2, unchanged: 1, upserted: 1 });
    expect(sf.get('Contact', (await salesforceIdOf(db.pool, 'app-users', 'u000002'))!)).toMatchObject({ LastName: 'Renamed' });
  });

  // The example's afterUpsert commits one UPDATE per row: 10,000 fsyncs, ~40 s on a busy shared disk.
  test('10,000 rows go through one Bulk API 2.0 job and every Salesforce id is recorded', async () => {
    await addUsers(1001, 10_000);
    const collections = sf.collectionCalls().length;
    const result = await pushRecords(deps(), appUsersMapping);
    expect(result).toMatchObject({ considered: 10_050, unchanged: 50, upserted: 10_000, failed: [], via: 'bulk' });
    expect(sf.collectionCalls().length).toBe(collections);
    expect(bulkCalls().filter((r) => r.method === 'POST')).toHaveLength(1);
    const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM forcehook.sync_map WHERE mapping = 'app-users'");
    expect(Number(rows[0]?.n)).toBe(10_050);
    expect(sf.get('Contact', (await salesforceIdOf(db.pool, 'app-users', 'u010500'))!)).toMatchObject({ External_Id__c: 'u010500', Email: 'user10500@example.com' });
  }, 180_000); // 20 s alone; a loaded 2-core machine (other suites running) needs more

  test('forcehook push <mapping> --ids runs it from the command line', async () => {
    await db.pool.query("UPDATE forcehook.app_users SET name = 'Again' WHERE id = 'u000003'");
    const cli = pushCli('u000003,u000004');
    expect((await cli.exited).code).toBe(0);
    expect(cli.output.at(-1)).toMatch(/^pushed app-users to Contact: 1 upserted, 1 unchanged, 0 failed \(collections; \d+ API calls so far\)$/);
  }, 30_000);

  test('a row Salesforce refuses is printed with its reason and the push exits 1', async () => {
    await db.pool.query("UPDATE forcehook.app_users SET name = 'Refused' WHERE id = 'u000005'");
    sf.failRecord('u000005', { statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }, 1);
    const cli = pushCli('u000005');
    expect((await cli.exited).code).toBe(1);
    expect(cli.output).toContain('  u000005: Salesforce REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (fields: LastName)');
  }, 30_000);

  test('a push that fails still adds the API calls it made to forcehook.api_calls', async () => {
    const stored = async () => Number((await db.pool.query<{ n: string }>('SELECT coalesce(sum(calls), 0) AS n FROM forcehook.api_calls')).rows[0]?.n);
    const before = await stored();
    await db.pool.query("UPDATE forcehook.app_users SET name = 'Broken' WHERE id = 'u000006'");
    sf.failNext({ method: 'PATCH', pathIncludes: '/composite/sobjects', status: 400, body: [{ errorCode: 'INVALID_FIELD', message: 'No such column Broken__c' }] });
    const cli = pushCli('u000006');
    expect((await cli.exited).code).toBe(1);
    expect(cli.output.join('\n')).toContain('No such column Broken__c');
    expect(await stored()).toBeGreaterThan(before);
  }, 30_000);
});
