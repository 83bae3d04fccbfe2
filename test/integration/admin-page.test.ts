import { chromium, type Browser } from 'playwright-core';
import { PermanentError } from '../../src/errors.js';
import { defineHandler } from '../../src/work/define-handler.js';
import { mirrorHandler } from '../../src/work/mirror.js';
import { apexContact, SECRET_A, sendApex } from '../helpers/apex-callout.js';
import { CHROMIUM_ARGS, chromiumPath } from '../helpers/chromium.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { inboxRows } from '../helpers/rows.js';
import { ORG_18, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

const PASSWORD = 'admin-password-for-tests';
const browserPath = chromiumPath();
const describeWithBrowser = browserPath ? describe : describe.skip;
if (!browserPath) console.warn('admin page browser test skipped: no Chromium (apt-get install chromium, or set CHROMIUM_PATH)');

/** Fails the first time it sees an event, succeeds when retried from the admin page. */
let failing = true;
const picky = defineHandler({
  name: 'picky',
  match: { flow: 'picky' },
  async handle() {
    if (failing) throw new PermanentError('Picky refuses the first try');
  },
});

describeWithBrowser('the admin page in a real Chromium', () => {
  let db: TestDatabase;
  let service: TestService;
  let browser: Browser;

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startTestService(db, { env: { ADMIN_PASSWORD: PASSWORD, WEBHOOK_SECRETS: SECRET_A }, handlers: [mirrorHandler, picky] });
    browser = await chromium.launch({ executablePath: browserPath!, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await db?.drop();
  });

  test('refuses a visitor without the password, or with a wrong one', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: 'not-the-password' } });
    const page = await context.newPage();
    const response = await page.goto(`${service.url}/admin`);
    expect(response?.status()).toBe(401);
    await expect(page.locator('#dead-letters').count()).resolves.toBe(0);
    await context.close();
    const res = await fetch(`${service.url}/admin`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="forcehook admin"/);
    expect(await res.text()).not.toContain('Dead letters');
  });

  test('shows events, finds a record, and retries a dead letter with its button', async () => {
    const contact = apexContact(42, { LastName: '<b>Not bold</b>' });
    await sendApex(service.url, 'contacts', { orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [contact], old: [] }).expect(202);
    await sendApex(service.url, 'picky', { orgId: ORG_18, sobjectType: 'Contact', operation: 'insert', new: [apexContact(43)], old: [] }, { id: 'msg_picky' }).expect(202);
    await waitFor('the picky event dead', async () => (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_picky:'))?.status === 'failed');
    await waitFor('its job in the dead-letter queue', async () => Number((await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = 'forcehook.picky.dead'")).rows[0]?.n) === 1);

    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: PASSWORD } });
    const page = await context.newPage();
    await page.goto(`${service.url}/admin`);
    await expect(page.locator('h1').textContent()).resolves.toBe('forcehook');
    await expect(page.locator('#events tbody tr').count()).resolves.toBe(2);
    await expect(page.locator('#throughput').getAttribute('aria-label')).resolves.toMatch(/^2 events in the last hour/);

    await page.fill('input[name=record]', String(contact['Id']));
    await page.click('form[method=get] button');
    await expect(page.locator('#events tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('#events tbody').textContent()).resolves.toContain(String(contact['Id']));

    await expect(page.locator('#queues tbody tr', { hasText: 'picky' }).locator('td').nth(4).textContent()).resolves.toBe('1');
    const deadRow = page.locator('#dead-letters tbody tr[data-id]');
    await expect(deadRow.count()).resolves.toBe(1);
    await expect(deadRow.textContent()).resolves.toContain('Picky refuses the first try');
    failing = false;
    await page.screenshot({ path: '.forcehook/admin-before-retry.png', fullPage: true });
    await deadRow.locator('button').click();
    await page.waitForURL(/\/admin\?retried=/);
    await expect(page.locator('.notice').textContent()).resolves.toMatch(/^Sent .+ back for another try\.$/);
    await expect(page.locator('#dead-letters tbody tr[data-id]').count()).resolves.toBe(0);
    await waitFor('the retried event done', async () => (await inboxRows(db.pool)).find((r) => r.delivery_id.startsWith('msg_picky:'))?.status === 'done');
    await context.close();
  }, 60_000);

  test('a Retry posted from another site is refused', async () => {
    const res = await fetch(`${service.url}/admin/dead-letters/anything/retry`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`x:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=guessed',
    });
    expect(res.status).toBe(403);
  });
});

describe('the admin page behind several web dynos', () => {
  test('a Retry form rendered by one dyno is accepted by another', async () => {
    const db = await createTestDatabase();
    const env = { ADMIN_PASSWORD: PASSWORD };
    const one = await startTestService(db, { worker: false, env });
    const two = await startTestService(db, { worker: false, env });
    try {
      const { rows } = await db.pool.query<{ id: string }>(
        "INSERT INTO forcehook.salesforce_writes (sobject_type, operation, record_key, fields, handler, status, last_error) VALUES ('Contact', 'update', '003x', '{}', 'h', 'dead', 'no') RETURNING id",
      );
      const auth = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`;
      const page = await (await fetch(`${one.url}/admin`, { headers: { authorization: auth } })).text();
      const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
      expect(token).toBeDefined();
      const res = await fetch(`${two.url}/admin/dead-letters/write-${rows[0]!.id}/retry`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(token!)}`,
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      const { rows: after } = await db.pool.query<{ status: string }>('SELECT status FROM forcehook.salesforce_writes');
      expect(after[0]?.status).toBe('pending');
    } finally {
      await two.stop();
      await one.stop();
      await db.drop();
    }
  });
});
