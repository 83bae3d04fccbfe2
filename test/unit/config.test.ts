import { assertOutboundTokens, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const TOKEN = 'fake-outbound-token-0123456789abcdef';
const base = { DATABASE_URL: 'postgres://u:p@db.example.com:5432/app', SALESFORCE_ORG_IDS: '00D5g00000TESTa', OUTBOUND_TOKEN: TOKEN };
/** Client id and secret alone: the client credentials flow. */
const clientCredentials = { SALESFORCE_CLIENT_ID: 'fake-consumer-key', SALESFORCE_CLIENT_SECRET: 'fake-consumer-secret' };

function messageOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults', () => {
    const config = loadConfig(base);
    expect(config.port).toBe(3000);
    expect(config.maxBodyBytes).toBe(5 * 1024 * 1024);
    expect(config.maxInflightBodyBytes).toBe(50 * 1024 * 1024);
    expect(config.database).toEqual({ url: base.DATABASE_URL, ssl: 'auto', poolMax: 10 });
    expect([...(config.allowedOrgPrefixes ?? [])]).toEqual(['00D5g00000TESTa']);
  });

  test('MAX_INFLIGHT_BODY_BYTES follows MAX_BODY_BYTES unless set', () => {
    expect(loadConfig({ ...base, MAX_BODY_BYTES: '1048576' }).maxInflightBodyBytes).toBe(10 * 1048576);
    expect(loadConfig({ ...base, MAX_BODY_BYTES: '1048576', MAX_INFLIGHT_BODY_BYTES: '1048576' }).maxInflightBodyBytes).toBe(1048576);
  });

  test('15- and 18-character org ids are both kept by their 15-character prefix', () => {
    const config = loadConfig({ ...base, SALESFORCE_ORG_IDS: '00D5g00000TESTaEAP, 00D5g00000OTHER' });
    expect([...(config.allowedOrgPrefixes ?? [])]).toEqual(['00D5g00000TESTa', '00D5g00000OTHER']);
  });

  test.each([
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: must be a postgres/],
    [{ SALESFORCE_ORG_IDS: 'not-an-org' }, /^SALESFORCE_ORG_IDS: each org id must be/],
    [{ SALESFORCE_ORG_IDS: '*' }, /^SALESFORCE_ORG_IDS: "\*" \(any org\) is only allowed on the local embedded database/],
    [{ OUTBOUND_TOKEN: 'short' }, /^OUTBOUND_TOKEN: use at least 24 random characters/],
    [{ OUTBOUND_TOKEN: 'a'.repeat(40) }, /^OUTBOUND_TOKEN: use at least 24 random characters/],
    [{ OUTBOUND_TOKEN: 'twenty four characters with spaces' }, /^OUTBOUND_TOKEN: use at least 24 random characters/],
    [{ OUTBOUND_FLOW_TOKENS: 'contacts' }, /^OUTBOUND_FLOW_TOKENS: use flow=token pairs/],
    [{ OUTBOUND_FLOW_TOKENS: 'contacts=x' }, /^OUTBOUND_FLOW_TOKENS: the token of flow contacts: use at least 24/],
    [{ OUTBOUND_FLOW_TOKENS: `../x=${TOKEN}` }, /^OUTBOUND_FLOW_TOKENS: use flow=token pairs/],
    [{ OUTBOUND_VERIFY_BY_FETCH: 'contacts,no flow' }, /^OUTBOUND_VERIFY_BY_FETCH: list flow names/],
    [{ OUTBOUND_VERIFY_BY_FETCH: 'contacts' }, /^OUTBOUND_VERIFY_BY_FETCH: needs Salesforce credentials/],
    [{ WEBHOOK_SECRETS: 'hunter2' }, /^WEBHOOK_SECRETS: each secret must look like whsec_/],
    [{ WEBHOOK_SECRETS: 'whsec_' }, /^WEBHOOK_SECRETS: each secret must look like whsec_/],
    [{ WEBHOOK_SECRETS: 'whsec_AAECAwQFBgcICQoL' }, /^WEBHOOK_SECRETS: each secret's key must decode to at least 24 bytes/],
    [{ ADMIN_PASSWORD: ' '.repeat(30) }, /^ADMIN_PASSWORD: use at least 16 characters/],
    [{ ADMIN_PASSWORD: 'password' }, /^ADMIN_PASSWORD: use at least 16 characters/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ DATABASE_SSL: 'maybe' }, /^DATABASE_SSL: /],
    [{ MAX_INFLIGHT_BODY_BYTES: 'lots' }, /^MAX_INFLIGHT_BODY_BYTES: must be a byte count/],
    [{ MAX_INFLIGHT_BODY_BYTES: '4194304' }, /^MAX_INFLIGHT_BODY_BYTES: must be at least MAX_BODY_BYTES \(5242880\)/],
  ])('%j is refused with one line naming the variable', (override, pattern) => {
    const message = messageOf({ ...base, ...override });
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  test.each([
    [{ SALESFORCE_PRIVATE_KEY: 'not a key' }, /^SALESFORCE_PRIVATE_KEY: must be a PEM private key/],
    [{ SALESFORCE_REFRESH_TOKEN: 'r' }, /^SALESFORCE_CLIENT_ID: required with SALESFORCE_REFRESH_TOKEN/],
    [{ SALESFORCE_REFRESH_TOKEN: 'r', SALESFORCE_CLIENT_ID: 'c' }, /^SALESFORCE_INSTANCE_URL: required with SALESFORCE_REFRESH_TOKEN/],
    [{ SALESFORCE_PASSWORD: 'p' }, /^SALESFORCE_USERNAME: required with SALESFORCE_PASSWORD/],
    [{ SALESFORCE_LOGIN_URL: 'login.salesforce.com' }, /^SALESFORCE_LOGIN_URL: must be a URL/],
    [{ SALESFORCE_API_VERSION: 'v62' }, /^SALESFORCE_API_VERSION: must look like 62.0/],
    [clientCredentials, /^SALESFORCE_LOGIN_URL: the client credentials flow needs your My Domain URL/],
  ])('Salesforce credentials: %j is refused naming the variable', (override, pattern) => {
    expect(messageOf({ ...base, ...override })).toMatch(pattern);
  });

  test('RECONCILE and STREAM_CHANNELS are name=flow pairs', () => {
    const config = loadConfig({ ...base, RECONCILE: 'Contact=contacts, Invoice__c=invoices', STREAM_CHANNELS: '/data/ContactChangeEvent=contacts,/event/Order__e=orders' });
    expect(config.reconcile.targets).toEqual([
      { sobjectType: 'Contact', flow: 'contacts' },
      { sobjectType: 'Invoice__c', flow: 'invoices' },
    ]);
    expect(config.streamChannels).toEqual([
      { channel: '/data/ContactChangeEvent', flow: 'contacts' },
      { channel: '/event/Order__e', flow: 'orders' },
    ]);
    expect(messageOf({ ...base, RECONCILE: 'Contact' })).toMatch(/^RECONCILE: use SObject=flow pairs/);
    expect(messageOf({ ...base, STREAM_CHANNELS: '/topic/x=y' })).toMatch(/^STREAM_CHANNELS: use channel=flow pairs/);
  });

  test('streaming goes through the Pub/Sub API unless STREAM_TRANSPORT=cometd; its endpoint, watchdog and batch size', () => {
    const defaults = loadConfig(base);
    expect(defaults.streamTransport).toBe('pubsub');
    expect(defaults.pubsub).toEqual({ endpoint: 'api.pubsub.salesforce.com:7443', keepaliveTimeoutMs: 330_000, batchSize: 100 });
    const local = loadConfig({ ...base, STREAM_TRANSPORT: 'cometd', PUBSUB_ENDPOINT: 'localhost:7443', PUBSUB_KEEPALIVE_TIMEOUT_SECONDS: '5', PUBSUB_BATCH_SIZE: '10' });
    expect(local.streamTransport).toBe('cometd');
    expect(local.pubsub).toEqual({ endpoint: 'localhost:7443', keepaliveTimeoutMs: 5_000, batchSize: 10 });
    expect(messageOf({ ...base, STREAM_TRANSPORT: 'grpc' })).toMatch(/^STREAM_TRANSPORT: must be pubsub/);
    expect(messageOf({ ...base, PUBSUB_ENDPOINT: 'https://api.pubsub.salesforce.com' })).toMatch(/^PUBSUB_ENDPOINT: must be host:port/);
    expect(messageOf({ ...base, PUBSUB_BATCH_SIZE: '101' })).toMatch(/^PUBSUB_BATCH_SIZE: must be a whole number from 1 to 100/);
    expect(messageOf({ ...base, PUBSUB_KEEPALIVE_TIMEOUT_SECONDS: '0' })).toMatch(/^PUBSUB_KEEPALIVE_TIMEOUT_SECONDS: must be a number of seconds/);
  });

  test('client id and secret alone select the client credentials flow, against My Domain', () => {
    const config = loadConfig({ ...base, ...clientCredentials, SALESFORCE_LOGIN_URL: 'https://acme.my.salesforce.com' });
    expect(config.salesforce?.auth).toEqual({ kind: 'client-credentials', clientId: 'fake-consumer-key', clientSecret: 'fake-consumer-secret' });
  });

  test('a web process on a real database needs a token for Outbound Messages: OUTBOUND_TOKEN or per-flow tokens', () => {
    const { OUTBOUND_TOKEN: _, ...noToken } = base;
    expect(() => assertOutboundTokens(loadConfig(noToken))).toThrow(/^OUTBOUND_TOKEN: required with DATABASE_URL/);
    const perFlow = loadConfig({ ...noToken, OUTBOUND_FLOW_TOKENS: `contacts=${TOKEN}` });
    expect(perFlow).toMatchObject({ outboundToken: undefined, outboundFlowTokens: { contacts: TOKEN }, outboundTokenRequired: true });
    expect(() => assertOutboundTokens(perFlow)).not.toThrow();
    expect(() => assertOutboundTokens(loadConfig(base))).not.toThrow();
    expect(() => assertOutboundTokens(loadConfig({}))).not.toThrow();
  });

  test('OUTBOUND_VERIFY_BY_FETCH names flows, or * for all', () => {
    const sf = { ...clientCredentials, SALESFORCE_LOGIN_URL: 'https://acme.my.salesforce.com' };
    expect(loadConfig({ ...base, ...sf, OUTBOUND_VERIFY_BY_FETCH: 'contacts, leads' }).outboundVerifyByFetch).toEqual(['contacts', 'leads']);
    expect(loadConfig({ ...base, ...sf, OUTBOUND_VERIFY_BY_FETCH: '*' }).outboundVerifyByFetch).toBe('*');
    expect(loadConfig(base).outboundVerifyByFetch).toEqual([]);
  });

  test('no Salesforce credentials means no write-back, not an error', () => {
    expect(loadConfig(base).salesforce).toBeNull();
  });

  test('SALESFORCE_ORG_IDS is required with a real database', () => {
    expect(messageOf({ DATABASE_URL: base.DATABASE_URL })).toMatch(/^SALESFORCE_ORG_IDS: required/);
  });

  test('on the embedded database an unset SALESFORCE_ORG_IDS means any org, for local use', () => {
    const config = loadConfig({});
    expect(config.allowedOrgPrefixes).toBeNull();
    expect(config.database).toEqual({ embedded: { dataDir: '.forcehook' }, poolMax: 10 });
  });

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ ...base, PORT: '', ADMIN_PASSWORD: '' }).port).toBe(3000);
  });

  test('a secret value never appears in the error', () => {
    expect(messageOf({ ...base, WEBHOOK_SECRETS: 'whsec_tooShort hunter2-secret' })).not.toContain('hunter2');
    expect(messageOf({ ...base, OUTBOUND_FLOW_TOKENS: 'contacts=hunter2' })).not.toContain('hunter2');
  });
});
