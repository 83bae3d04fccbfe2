import type { Handler } from '../../src/work/define-handler.js';
import { startForcehook, type Running, type StartOptions } from '../../src/runtime.js';
import { toId18 } from '../../src/events/salesforce-id.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ApiCallCounter } from '../../src/writeback/api-calls.js';
import { SalesforceConnector } from '../../src/writeback/connection.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** The org the tests send as, and one the service does not know. */
export const ORG_15 = '00D5g00000TESTa';
export const ORG_18 = toId18(ORG_15);
export const STRANGER_ORG = '00D5g00000OTHER';

/** The URL token test services require (a real database requires one); fake, like every test secret. */
export const OUTBOUND_TOKEN = 'fake-outbound-token-for-tests-0123456789';

/** The path Salesforce posts a flow's Outbound Messages to, token included. */
export function outboundPath(flow: string, token = OUTBOUND_TOKEN): string {
  return `/outbound/${flow}?token=${token}`;
}

export interface TestService extends Running {
  url: string;
}

/** Environment that points forcehook's Salesforce connection at a fake org (password flow). */
export function fakeSalesforceEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SALESFORCE_LOGIN_URL: url,
    SALESFORCE_CLIENT_ID: 'fake-consumer-key',
    SALESFORCE_CLIENT_SECRET: 'fake-consumer-secret',
    SALESFORCE_USERNAME: 'integration@example.com',
    SALESFORCE_PASSWORD: 'secret-password',
    SALESFORCE_SECURITY_TOKEN: 'TOKEN',
    SALESFORCE_WRITE_WINDOW_MS: '200',
    ...extra,
  };
}

/** A connector to a fake org, as the worker builds one (password flow), for tests that drive parts directly. */
export function fakeConnector(url: string, extra: Record<string, string> = {}): SalesforceConnector {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/db', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, ...fakeSalesforceEnv(url, extra) });
  return new SalesforceConnector(config.salesforce!, new ApiCallCounter(), createLogger('silent'));
}

/** The environment forcehook starts with on a test database and a free port (a real database needs the org and token). */
export function serviceEnv(db: { url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: db.url, DATABASE_SSL: 'off', PORT: '0', SALESFORCE_ORG_IDS: ORG_15, OUTBOUND_TOKEN, LOG_LEVEL: 'info', ...extra };
}

/** Runs forcehook as `npm start` would, on the test file's database and a free port. */
export async function startTestService(
  db: TestDatabase,
  options: { env?: Record<string, string>; web?: boolean; worker?: boolean; handlers?: readonly Handler[]; flusher?: StartOptions['flusher'] } = {},
): Promise<TestService> {
  const running = await startForcehook({
    web: options.web ?? true,
    worker: options.worker ?? true,
    env: serviceEnv(db, { LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent', ...options.env }),
    ...(options.handlers ? { handlers: options.handlers } : {}),
    // Salesforce write retries in milliseconds, not minutes.
    flusher: { retryBaseSeconds: 0.05, limitBackoffSeconds: 0.2, ...options.flusher },
  });
  return { ...running, url: `http://127.0.0.1:${running.port ?? 0}` };
}

/** A test file's own database, a fake Salesforce org, and forcehook started against both. */
export interface TestOrg {
  db: TestDatabase;
  sf: FakeSalesforce;
  service: TestService;
  /** Stops forcehook, then the fake org, then drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts a TestOrg. forcehook gets the fake org's credentials (`fakeSalesforceEnv`, with what
 * `salesforceEnv` adds, which may read the fake: its url, its integration user) and `env`.
 */
export async function startWithFakeOrg(
  options: { env?: Record<string, string>; salesforceEnv?: (sf: FakeSalesforce) => Record<string, string>; handlers?: readonly Handler[] } = {},
): Promise<TestOrg> {
  const db = await createTestDatabase();
  const sf = await new FakeSalesforce().start();
  let service: TestService;
  try {
    service = await startTestService(db, {
      env: { ...fakeSalesforceEnv(sf.url, options.salesforceEnv?.(sf)), ...options.env },
      ...(options.handlers ? { handlers: options.handlers } : {}),
    });
  } catch (err) {
    await sf.stop();
    await db.drop();
    throw err;
  }
  return {
    db,
    sf,
    service,
    stop: async () => {
      await service.stop();
      await sf.stop();
      await db.drop();
    },
  };
}
