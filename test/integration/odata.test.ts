import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OData } from '@odata/client';
import { XMLParser } from 'fast-xml-parser';
import request from 'supertest';
import { loadConfig } from '../../src/config.js';
import { buildModel, readODataFile } from '../../src/odata/model.js';
import { foldBooleanMethodComparisons } from '../../src/odata/query.js';
import { ODataService } from '../../src/odata/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestService, type TestService } from '../helpers/service.js';

/**
 * Conformance of /odata/v4/ as Salesforce Connect's OData 4.0 adapter uses it, driven by an OData
 * client nobody here wrote (@odata/client): $metadata, $filter, $orderby, server-driven paging
 * through @odata.nextLink, $count, $search, errors as OData error bodies, injection refused.
 */
const USER = 'salesforce';
const PASSWORD = 'named-principal-pw-7f3a9c2e';
const TOKEN = 'odata-bearer-token-5b1d8e4f7a2c9';
const ROWS = 10_000;

let db: TestDatabase;
let service: TestService;
let dir: string;
let root: string;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    CREATE TABLE public.widgets (
      id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), active boolean, made_at timestamptz, day date,
      secret text, code varchar(20));
    INSERT INTO public.widgets
    SELECT n, 'Widget ' || n, (n % 1000) / 10.0, n % 2 = 0, timestamptz '2026-01-01T00:00:00Z' + n * interval '1 minute',
           date '2026-01-01' + (n % 365), 'do-not-serve-' || n, CASE WHEN n % 10 = 0 THEN NULL ELSE 'C' || (n % 7) END
    FROM generate_series(1, ${ROWS}) AS n;
    CREATE TABLE public.notes (id text PRIMARY KEY, body text NOT NULL, stars integer);
    INSERT INTO public.notes VALUES ('n1', 'first note', 3);`);
  dir = mkdtempSync(join(tmpdir(), 'forcehook-odata-'));
  const file = join(dir, 'odata.json');
  writeFileSync(
    file,
    JSON.stringify({
      entitySets: [
        { name: 'Widgets', table: 'widgets', key: 'id', columns: ['id', 'name', 'price', 'active', { column: 'made_at', name: 'MadeAt' }, 'day', 'code'] },
        { name: 'Notes', table: 'public.notes', key: 'id', columns: ['id', 'body', 'stars'], writable: true },
        { name: 'AppUsers', table: 'forcehook.app_users', key: 'id', columns: ['id', 'email', 'name', 'salesforce_contact_id'], writable: { update: true } },
      ],
    }),
  );
  service = await startTestService(db, { worker: false, env: { FORCEHOOK_EXAMPLES: 'contact-match', ODATA_CONFIG: file, ODATA_USERS: `${USER}:${PASSWORD}`, ODATA_TOKENS: TOKEN, ODATA_PAGE_SIZE: '2000' } });
  root = `${service.url}/odata/v4/`;
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const client = (): ReturnType<typeof OData.New4> => OData.New4({ serviceEndpoint: root, credential: { username: USER, password: PASSWORD } });
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

interface Page {
  '@odata.context'?: string;
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
  value: Record<string, unknown>[];
  error?: { code: string; message: string };
}

test('$metadata describes the configured sets, keys and types, and nothing else', async () => {
  const res = await request(service.url).get('/odata/v4/$metadata').set('Authorization', basic).expect(200);
  expect(res.headers['content-type']).toMatch(/application\/xml/);
  expect(res.headers['odata-version']).toBe('4.0');
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(res.text as string) as {
    'edmx:Edmx': { Version: string; 'edmx:DataServices': { Schema: { EntityType: { Name: string; Key: { PropertyRef: { Name: string } }; Property: { Name: string; Type: string }[] }[] } } };
  };
  expect(doc['edmx:Edmx'].Version).toBe('4.0');
  const types = doc['edmx:Edmx']['edmx:DataServices'].Schema.EntityType;
  const widget = types.find((t) => t.Name === 'Widgets')!;
  expect(widget.Key.PropertyRef.Name).toBe('id');
  expect(Object.fromEntries(widget.Property.map((p) => [p.Name, p.Type]))).toEqual({
    id: 'Edm.Int64',
    name: 'Edm.String',
    price: 'Edm.Decimal',
    active: 'Edm.Boolean',
    MadeAt: 'Edm.DateTimeOffset',
    day: 'Edm.Date',
    code: 'Edm.String',
  });
  expect(res.text).not.toContain('secret');
  const doc2 = await request(service.url).get('/odata/v4/').set('Authorization', basic).expect(200);
  expect((doc2.body as { value: { name: string }[] }).value.map((s) => s.name)).toEqual(['Widgets', 'Notes', 'AppUsers']);
});

test('an OData client filters, orders and counts', async () => {
  const odata = client();
  const params = odata.newParam().filter("price ge 99.5 and startswith(name,'Widget 1') and active eq true").orderby('id', 'desc').count(true).top(5);
  const page = (await odata.newRequest({ collection: 'Widgets', params })) as unknown as Page;
  // price >= 99.5 means n % 1000 in {995..999}; even n; name starting 'Widget 1'.
  const { rows } = await db.pool.query<{ id: string }>(
    "SELECT id FROM widgets WHERE price >= 99.5 AND name LIKE 'Widget 1%' AND active ORDER BY id DESC",
  );
  expect(page['@odata.count']).toBe(rows.length);
  expect(page.value.map((r) => r['id'])).toEqual(rows.slice(0, 5).map((r) => Number(r.id)));
  expect(page.value[0]).toEqual({ id: expect.any(Number), name: expect.stringMatching(/^Widget 1/), price: expect.any(Number), active: true, MadeAt: expect.stringMatching(/^2026-\d\d-\d\dT.*Z$/), day: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), code: expect.anything() });
  expect(await odata.getEntitySet('Widgets').count()).toBe(ROWS);
  // What Salesforce sends for a search without $search support, and null comparisons.
  const search = (await odata.newRequest({ collection: 'Widgets', params: odata.newParam().filter("contains(name,'9999') eq true or code eq null").count(true).top(1).select(['id', 'code']) })) as unknown as Page;
  expect(search['@odata.count']).toBe(1000 + 1 - 0); // 1000 null codes (n % 10 = 0) and 9999
  expect(Object.keys(search.value[0]!)).toEqual(['id', 'code']);
});

test('pages through 10,000 rows by following @odata.nextLink, each row once, in order', async () => {
  const started = Date.now();
  const seen: number[] = [];
  let pages = 0;
  let next: string | undefined = `${root}Widgets?$select=id,name&$orderby=name desc&$count=true`;
  let count: number | undefined;
  while (next) {
    const res = await fetch(next, { headers: { Authorization: `Bearer ${TOKEN}`, Prefer: 'odata.maxpagesize=1500' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('odata.maxpagesize=1500');
    const page = (await res.json()) as Page;
    count ??= page['@odata.count'];
    seen.push(...page.value.map((r) => r['id'] as number));
    expect(page.value.length).toBeLessThanOrEqual(1500);
    next = page['@odata.nextLink'];
    pages++;
  }
  const ms = Date.now() - started;
  console.warn(`paged ${seen.length} rows in ${pages} pages in ${ms} ms`);
  expect(count).toBe(ROWS);
  expect(pages).toBe(7);
  expect(new Set(seen).size).toBe(ROWS);
  const expected = Array.from({ length: ROWS }, (_, i) => i + 1).sort((a, b) => (`Widget ${b}` < `Widget ${a}` ? -1 : `Widget ${b}` > `Widget ${a}` ? 1 : 0));
  expect(seen).toEqual(expected);
});

test('the client follows nextLink too; $top and $skip page inside it, and $search finds words', async () => {
  const odata = client();
  const first = (await odata.newRequest({ collection: 'Widgets', params: odata.newParam().top(2500).skip(100).orderby('id', 'asc') })) as unknown as Page;
  expect(first.value).toHaveLength(2000);
  expect(first.value[0]!['id']).toBe(101);
  const link = new URL(first['@odata.nextLink']!);
  const rest = (await odata.newRequest({ collection: 'Widgets', params: odata.newParam().top(2500).skip(100).orderby('id', 'asc').custom('$skiptoken', link.searchParams.get('$skiptoken')) })) as unknown as Page;
  expect(rest.value).toHaveLength(500);
  expect(rest.value.at(-1)!['id']).toBe(2600);
  expect(rest['@odata.nextLink']).toBeUndefined();
  const found = await fetch(`${root}Widgets?$search=widget 4242&$count=true`, { headers: { Authorization: basic } });
  expect(((await found.json()) as Page)['@odata.count']).toBe(1);
});

test('a malformed or unsupported query is a 400 with an OData error body', async () => {
  for (const query of ["$filter=name eq 'x' or", '$filter=name eq', '$filter=price gt', '$orderby=name sideways', '$top=-1', '$expand=Orders', "$filter=day eq 'x'", "$filter=price gt 'cheap'", '$count=maybe', '$filter=name add 1 eq 2']) {
    const res = await fetch(`${root}Widgets?${query.replace(/ /g, '%20')}`, { headers: { Authorization: basic } });
    expect({ query, status: res.status }).toEqual({ query, status: 400 });
    const body = (await res.json()) as Page;
    expect(body.error).toEqual({ code: 'BadRequest', message: expect.any(String) });
  }
  // A key Express cannot percent-decode is the sender's mistake too, not a server error.
  const undecodable = await fetch(`${root}Widgets(%ZZ)`, { headers: { Authorization: basic } });
  expect({ status: undecodable.status, body: await undecodable.json() }).toEqual({ status: 400, body: { error: { code: 'BadRequest', message: expect.stringContaining('percent-encoded') } } });
  const odata = client();
  await expect(odata.getEntitySet('Widgets').query(odata.newParam().filter("name eq 'x' or"))).rejects.toThrow();
});

test('SQL injection attempts are refused or harmless: the table is intact and nothing leaks', async () => {
  const attempts = [
    "$filter=name eq 'x'' or 1=1 --'",
    "$filter=name eq 'x'; DROP TABLE widgets; --'",
    '$filter=secret eq \'do-not-serve-1\'',
    '$filter=1 eq 1); DROP TABLE widgets; --',
    '$orderby=name;DROP TABLE widgets',
    '$orderby=(SELECT secret FROM widgets LIMIT 1)',
    '$select=id,secret',
    '$select=id,(SELECT 1)',
    '$search=%25\' OR 1=1 --',
    "$filter=contains(name,'%') eq true",
    '$top=1;DROP TABLE widgets',
  ];
  for (const query of attempts) {
    const res = await fetch(`${root}Widgets?${query.replace(/ /g, '%20')}`, { headers: { Authorization: basic } });
    const body = (await res.json()) as Page;
    expect({ query, ok: res.status === 400 || (res.status === 200 && body.value.length === 0) }).toEqual({ query, ok: true });
    expect(JSON.stringify(body)).not.toContain('do-not-serve');
  }
  const key = await fetch(`${root}Widgets('1'' or ''1''=''1')`, { headers: { Authorization: basic } });
  expect([400, 404]).toContain(key.status);
  const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM widgets');
  expect(Number(rows[0]!.n)).toBe(ROWS);
});

test('logins: no login or a wrong one is 401; a bearer token works', async () => {
  expect((await fetch(`${root}Widgets`)).status).toBe(401);
  const wrong = await fetch(`${root}Widgets`, { headers: { Authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` } });
  expect(wrong.status).toBe(401);
  expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
  expect(((await wrong.json()) as Page).error?.code).toBe('Unauthorized');
  expect((await fetch(`${root}Widgets(7)`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  expect((await fetch(`${root}Widgets(7)`, { headers: { Authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
});

test('writes: read-only by default; a writable set creates, updates and deletes; bodies are bounded', async () => {
  const odata = client();
  const post = await fetch(`${root}Widgets`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: '{"id":1,"name":"x"}' });
  expect(post.status).toBe(405);
  const notes = odata.getEntitySet('Notes');
  const created = await notes.create({ id: "n'2", body: 'second', stars: 5 });
  expect(created).toMatchObject({ id: "n'2", body: 'second', stars: 5 });
  await notes.update("n'2", { stars: 4 } as never);
  expect(await notes.retrieve("n'2")).toMatchObject({ stars: 4 });
  await notes.delete('n1');
  const { rows } = await db.pool.query('SELECT id, stars FROM notes ORDER BY id');
  expect(rows).toEqual([{ id: "n'2", stars: 4 }]);
  // Update only, on the app's own table: no inserts.
  await db.pool.query("INSERT INTO forcehook.app_users (id, email) VALUES ('u1', 'a@example.com')");
  const users = odata.getEntitySet('AppUsers');
  await users.update('u1', { salesforce_contact_id: '0035g0000000001AAA' } as never);
  expect((await db.pool.query("SELECT salesforce_contact_id FROM forcehook.app_users WHERE id = 'u1'")).rows[0]).toEqual({ salesforce_contact_id: '0035g0000000001AAA' });
  await expect(users.create({ id: 'u2', email: 'b@example.com' })).rejects.toThrow();
  const insert = await fetch(`${root}AppUsers`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: '{"id":"u3","email":"c@example.com"}' });
  expect(insert.status).toBe(405);
  const big = await fetch(`${root}Notes`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 'big', body: 'x'.repeat(6 * 1024 * 1024) }) });
  expect(big.status).toBe(413);
  const wrongType = await fetch(`${root}Notes('n9')`, { method: 'PATCH', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: '{"stars":"many"}' });
  expect(wrongType.status).toBe(400);
});

test('configuration: off unless set, never without a login, weak secrets refused', () => {
  const base = { DATABASE_URL: 'postgres://x/y', SALESFORCE_ORG_IDS: '00D5g00000TESTa', OUTBOUND_TOKEN: 'fake-outbound-token-for-tests-0123456789' };
  expect(loadConfig(base).odata).toBeUndefined();
  expect(() => loadConfig({ ...base, ODATA_CONFIG: 'odata.json' })).toThrow(/ODATA_USERS/);
  expect(() => loadConfig({ ...base, ODATA_CONFIG: 'odata.json', ODATA_USERS: 'sf:short' })).toThrow(/ODATA_USERS/);
  expect(() => loadConfig({ ...base, ODATA_CONFIG: 'odata.json', ODATA_TOKENS: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).toThrow(/ODATA_TOKENS/);
  expect(loadConfig({ ...base, ODATA_CONFIG: 'odata.json', ODATA_USERS: `${USER}:${PASSWORD}` }).odata).toMatchObject({ users: [{ user: USER, password: PASSWORD }], pageSize: 1000 });
});

test('a page stops before the response limit (8 MB for Salesforce) and goes on in nextLink', async () => {
  const model = await buildModel(readODataFile(join(dir, 'odata.json')), db.pool);
  const small = new ODataService({ pool: db.pool, model, pageSize: 2000, maxResponseBytes: 20_000 });
  const set = model.sets.get('Widgets')!;
  const page = await small.read({ set, options: { $orderby: 'id' }, setUrl: `${root}Widgets`, serviceRoot: root });
  expect(Buffer.byteLength(page.body)).toBeLessThanOrEqual(20_000);
  const parsed = JSON.parse(page.body) as Page;
  expect(parsed.value.length).toBeGreaterThan(50);
  expect(parsed['@odata.nextLink']).toContain(`$skiptoken=${parsed.value.length}`);
});

test("Salesforce's `contains(...) eq true` and `eq false` forms; quoted text is never rewritten", () => {
  expect(foldBooleanMethodComparisons("contains(Name,'Acme') eq true or contains(Phone,'Acme') eq true")).toBe("contains(Name,'Acme') or contains(Phone,'Acme')");
  expect(foldBooleanMethodComparisons("startswith(Name,'a') eq false")).toBe("(not startswith(Name,'a'))");
  expect(foldBooleanMethodComparisons("Name eq 'contains(x,''y'') eq true'")).toBe("Name eq 'contains(x,''y'') eq true'");
});

/** The ids a $filter selects, through the HTTP endpoint; or the status when it is refused. */
async function idsWhere(filter: string): Promise<number[] | number> {
  const res = await fetch(`${root}Widgets?$select=id&$orderby=id&$top=2000&$filter=${encodeURIComponent(filter)}`, { headers: { Authorization: basic } });
  if (res.status !== 200) return res.status;
  return ((await res.json()) as Page).value.map((r) => Number(r['id']));
}

test('`not` and the `eq false` rewrite bind to what they precede, not to the rest of the filter', async () => {
  // Widget 1..19 whose name does not contain 1, and id < 20: 2..9 (12, 13, ... contain a 1).
  expect(await idsWhere("contains(name,'1') eq false and id lt 10")).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  expect(await idsWhere("(not contains(name,'1')) and id lt 10")).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  // The parser would read `not A and B` as not (A and B): refused with a 400 instead of other rows.
  expect(await idsWhere("not contains(name,'1') and id lt 10")).toBe(400);
  expect(await idsWhere("not (contains(name,'1') or id gt 3) and id lt 10")).toBe(400);
});

test('a parenthesized literal is bound as a number; deep nesting is refused before parsing; long or chains are fine', async () => {
  expect(await idsWhere('price gt (99.85) and id lt 2000')).toEqual([999, 1999]);
  expect(await idsWhere(`${'('.repeat(2000)}active${')'.repeat(2000)}`)).toBe(400);
  // $orderby goes through the same parser: the same guard, with the message naming it.
  const deepOrder = await fetch(`${root}Widgets?$orderby=${'('.repeat(2000)}id${')'.repeat(2000)}`, { headers: { Authorization: basic } });
  expect({ status: deepOrder.status, message: ((await deepOrder.json()) as Page).error?.message }).toEqual({ status: 400, message: '$orderby is nested too deeply (more than 32 parentheses)' });
  const chain = Array.from({ length: 300 }, (_, i) => `id eq ${i + 1}`).join(' or ');
  expect(await idsWhere(chain)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
});
