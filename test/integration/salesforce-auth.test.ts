import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ApiCallCounter } from '../../src/writeback/api-calls.js';
import { SalesforceConnector } from '../../src/writeback/connection.js';
import { SalesforceError } from '../../src/writeback/salesforce-errors.js';
import { FakeSalesforce } from '../../src/testing/fake-salesforce.js';
import { fakeSalesforceEnv, OUTBOUND_TOKEN } from '../helpers/service.js';

let sf: FakeSalesforce;
const log = createLogger('silent');
const base = { DATABASE_URL: 'postgres://localhost/x', SALESFORCE_ORG_IDS: '00D5g00000TESTa', OUTBOUND_TOKEN };

beforeAll(async () => {
  sf = await new FakeSalesforce().start();
});
afterAll(async () => {
  await sf.stop();
});

function connector(env: Record<string, string>): { connector: SalesforceConnector; counter: ApiCallCounter } {
  const config = loadConfig({ ...base, ...env });
  if (!config.salesforce) throw new Error('expected Salesforce configuration');
  const counter = new ApiCallCounter();
  return { connector: new SalesforceConnector(config.salesforce, counter, log), counter };
}

function tokenGrants(): string[] {
  return sf.requests.filter((r) => r.path === '/services/oauth2/token').map((r) => (r.body as Record<string, string>)['grant_type'] ?? '');
}

describe('connecting to Salesforce', () => {
  test('JWT bearer: a signed assertion, a key given with escaped newlines, renewed by a new assertion', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    sf.jwtPublicKey = publicKey;
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\\n');
    const { connector: c, counter } = connector({ SALESFORCE_LOGIN_URL: sf.url, SALESFORCE_CLIENT_ID: 'consumer-key', SALESFORCE_USERNAME: 'integration@example.com', SALESFORCE_PRIVATE_KEY: pem });
    const before = tokenGrants().length;
    const conn = await c.connection();
    await conn.query('SELECT Id FROM Contact');
    sf.expireSessions();
    await conn.query('SELECT Id FROM Contact');
    expect(tokenGrants().slice(before)).toEqual(['urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:jwt-bearer']);
    const assertion = (sf.requests.filter((r) => r.path === '/services/oauth2/token').at(-1)?.body as Record<string, string>)['assertion'] ?? '';
    const claims = JSON.parse(Buffer.from(assertion.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'consumer-key', sub: 'integration@example.com', aud: sf.url });
    expect(counter.count).toBe(2);
  });

  test('refresh token: jsforce renews an expired session with it', async () => {
    const { connector: c } = connector({
      SALESFORCE_LOGIN_URL: sf.url,
      SALESFORCE_INSTANCE_URL: sf.url,
      SALESFORCE_CLIENT_ID: 'consumer-key',
      SALESFORCE_CLIENT_SECRET: 'consumer-secret',
      SALESFORCE_REFRESH_TOKEN: 'refresh-token-for-tests',
    });
    const before = tokenGrants().length;
    const conn = await c.connection();
    sf.expireSessions();
    const result = await conn.query('SELECT Id FROM Contact');
    expect(result.done).toBe(true);
    expect(tokenGrants().slice(before)).toEqual(['refresh_token', 'refresh_token']);
  });

  test('client credentials: client id and secret alone, renewed by asking again', async () => {
    const { connector: c, counter } = connector({ SALESFORCE_LOGIN_URL: sf.url, SALESFORCE_CLIENT_ID: 'fake-consumer-key', SALESFORCE_CLIENT_SECRET: 'fake-consumer-secret' });
    const before = tokenGrants().length;
    const conn = await c.connection();
    await conn.query('SELECT Id FROM Contact');
    sf.expireSessions();
    expect((await conn.query('SELECT Id FROM Contact')).done).toBe(true);
    expect(tokenGrants().slice(before)).toEqual(['client_credentials', 'client_credentials']);
    expect(counter.count).toBe(2);
  });

  test('client credentials with a wrong secret fail with a Salesforce error, not a crash', async () => {
    const { connector: c } = connector({ SALESFORCE_LOGIN_URL: sf.url, SALESFORCE_CLIENT_ID: 'fake-consumer-key', SALESFORCE_CLIENT_SECRET: 'not-the-secret' });
    await expect(c.connection()).rejects.toBeInstanceOf(SalesforceError);
  });

  test('username + password + security token through the OAuth password flow', async () => {
    const before = tokenGrants().length;
    const { connector: c } = connector(fakeSalesforceEnv(sf.url));
    await (await c.connection()).query('SELECT Id FROM Contact');
    expect(tokenGrants().slice(before)).toEqual(['password']);
    const sent = sf.requests.filter((r) => r.path === '/services/oauth2/token').at(-1)?.body as Record<string, string>;
    expect(sent['password']).toBe('secret-passwordTOKEN');
  });

  test('a refused login is a SalesforceError, and the next call tries again', async () => {
    const { connector: c } = connector(fakeSalesforceEnv(sf.url, { SALESFORCE_PASSWORD: 'wrong' }));
    await expect(c.connection()).rejects.toBeInstanceOf(SalesforceError);
    const before = tokenGrants().length;
    await expect(c.connection()).rejects.toBeInstanceOf(SalesforceError);
    expect(tokenGrants().length).toBe(before + 1);
  });

  test('the integration user is asked of userinfo once, unless configured', async () => {
    const { connector: asked } = connector(fakeSalesforceEnv(sf.url));
    expect(await asked.integrationUserId()).toBe(sf.integrationUserId);
    expect(await asked.integrationUserId()).toBe(sf.integrationUserId);
    expect(sf.requests.filter((r) => r.path === '/services/oauth2/userinfo')).toHaveLength(1);
    const { connector: configured } = connector(fakeSalesforceEnv(sf.url, { SALESFORCE_INTEGRATION_USER_ID: '0055g00000Cfg01' }));
    expect(await configured.integrationUserId()).toBe('0055g00000Cfg01AAB');
  });
});
