import { parseApexCallout } from '../../src/events/apex-callout.js';
import { signPayload, signedHeaders, verifyWebhook } from '../../src/verification/standard-webhooks.js';
import { errorCodeOf as codeOf } from '../helpers/error-code.js';
import { loadSignatureVectors } from '../helpers/signature-vectors.js';

/** The same vectors are asserted by apex/ ForcehookSignerTest: both sides sign alike. */
const vectors = loadSignatureVectors();

describe('Standard Webhooks signatures', () => {
  test('there are shared vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
  });

  test.each(vectors.map((v) => [v.name, v] as const))('vector "%s" signs and verifies', (_name, v) => {
    expect(signPayload(v)).toBe(v.signature);
    const headers = { 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': v.signature };
    expect(verifyWebhook({ secrets: [v.secret], headers, body: Buffer.from(v.body, 'utf8'), nowSeconds: v.timestamp + 10 })).toEqual({ id: v.id, timestamp: v.timestamp });
  });

  test('the Apex-shaped vector bodies are valid callouts for the server', () => {
    const apexBodies = vectors.filter((v) => v.body.startsWith('{"orgId"'));
    expect(apexBodies.length).toBeGreaterThanOrEqual(2);
    for (const v of apexBodies) expect(() => parseApexCallout(JSON.parse(v.body))).not.toThrow();
  });

  const secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
  const other = 'whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';
  const body = Buffer.from('{"a":1}');
  const at = 1_800_000_000;
  const headers = signedHeaders({ secret, id: 'msg_1', timestamp: at, body });

  test('accepts any of several secrets (rotation) and any of several signatures', () => {
    expect(verifyWebhook({ secrets: [other, secret], headers, body, nowSeconds: at }).id).toBe('msg_1');
    const both = `${signPayload({ secret: other, id: 'msg_1', timestamp: at, body })} ${headers['webhook-signature']}`;
    expect(verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-signature': both }, body, nowSeconds: at }).id).toBe('msg_1');
  });

  test.each([
    ['a changed body', { body: Buffer.from('{"a":2}') }],
    ['an unknown secret', { secrets: [other] }],
    ['a timestamp 301 s old', { nowSeconds: at + 301 }],
    ['a timestamp 301 s ahead', { nowSeconds: at - 301 }],
    ['no signature header', { headers: { ...headers, 'webhook-signature': undefined } }],
    ['a v2 signature only', { headers: { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') } }],
    ['a non-numeric timestamp', { headers: { ...headers, 'webhook-timestamp': '1e9' } }],
    ['a changed id', { headers: { ...headers, 'webhook-id': 'msg_2' } }],
  ])('refuses %s with SIGNATURE_INVALID', (_name, override) => {
    expect(codeOf(() => verifyWebhook({ secrets: [secret], headers, body, nowSeconds: at, ...override }))).toBe('SIGNATURE_INVALID');
  });

  test('a tolerance of 0 means exactly now, not "off"', () => {
    expect(verifyWebhook({ secrets: [secret], headers, body, nowSeconds: at, toleranceSeconds: 0 }).id).toBe('msg_1');
    expect(codeOf(() => verifyWebhook({ secrets: [secret], headers, body, nowSeconds: at + 1, toleranceSeconds: 0 }))).toBe('SIGNATURE_INVALID');
  });

  test('the refusal never reveals the expected signature', () => {
    const expected = headers['webhook-signature'].slice(3);
    try {
      verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-signature': 'v1,AAAA' }, body, nowSeconds: at });
      throw new Error('expected a refusal');
    } catch (err) {
      expect((err as Error).message).not.toContain(expected);
      expect((err as Error).message).not.toContain(secret);
    }
  });
});
