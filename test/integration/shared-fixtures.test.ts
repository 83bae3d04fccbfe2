import request from 'supertest';
import { parseOutboundMessage } from '../../src/events/outbound-message.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sharedOutboundFixtures } from '../helpers/fixtures.js';
import { inboxRows, recordRows } from '../helpers/rows.js';
import { outboundPath, startTestService, type TestService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Real Outbound Messages captured by others live beside the repository in ../shared/fixtures
 * (third-party data, not copied in). When that folder is there, every one must be acknowledged,
 * stored and mirrored.
 */
const fixtures = sharedOutboundFixtures();
const describeIfPresent = fixtures.length > 0 ? describe : describe.skip;

describeIfPresent('replaying ../shared/fixtures/outbound', () => {
  let db: TestDatabase;
  let service: TestService;

  beforeAll(async () => {
    db = await createTestDatabase();
    const orgs = fixtures.map((f) => parseOutboundMessage(f.body).organizationId);
    service = await startTestService(db, { env: { SALESFORCE_ORG_IDS: [...new Set(orgs)].join(',') } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  test.each(fixtures.map((f) => [f.name, f.body] as const))('%s is acknowledged, stored and mirrored', async (_name, body) => {
    const message = parseOutboundMessage(body);
    const res = await request(service.url).post(outboundPath('replay')).set('Content-Type', 'text/xml; charset=utf-8').send(body);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<Ack>true</Ack>');
    const ids = message.notifications.map((n) => n.id);
    await waitFor(`${ids.length} rows done`, async () => (await inboxRows(db.pool)).filter((r) => ids.includes(r.delivery_id) && r.status === 'done').length === ids.length);
    const records = await recordRows(db.pool);
    for (const n of message.notifications) {
      const record = records.find((r) => r.record_id.slice(0, 15) === String(n.fields['Id']).slice(0, 15) && r.sobject_type === n.sobjectType);
      expect(record?.fields).toEqual(n.fields);
    }
  });
});
