import { createHmac, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../errors.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com): the MAC is HMAC-SHA256 over
 * `${id}.${timestamp}.${body}` keyed with the base64-decoded part of a `whsec_` secret, sent as
 * `webhook-signature: v1,<base64>`; several space-separated signatures allow secret rotation.
 * Apex computes the same with Crypto.generateMac('hmacSHA256', ...), see apex/.
 */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface SignInput {
  /** `whsec_<base64>` */
  secret: string;
  id: string;
  /** Unix seconds. */
  timestamp: number;
  /** The exact bytes sent as the request body. */
  body: string | Buffer;
}

/** The `webhook-signature` header value for one secret: `v1,<base64>`. Public: use it in tests. */
export function signPayload(input: SignInput): string {
  return `v1,${mac(secretKey(input.secret), input.id, String(input.timestamp), input.body).toString('base64')}`;
}

/** The three headers a signed request carries. */
export function signedHeaders(input: SignInput): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return { 'webhook-id': input.id, 'webhook-timestamp': String(input.timestamp), 'webhook-signature': signPayload(input) };
}

export interface VerifyInput {
  secrets: readonly string[];
  /** `webhookKeys(secrets)`, decoded once by a caller that verifies many requests. */
  keys?: readonly Buffer[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Injected clock, in unix seconds. */
  nowSeconds: number;
  toleranceSeconds?: number;
}

/**
 * Verifies the raw body against the headers and returns the webhook id. Every failure is a 401
 * with a reason that never says which secret was tried or what the expected MAC was.
 */
export function verifyWebhook(input: VerifyInput): { id: string; timestamp: number } {
  const { id, ts, given } = checkWebhookHeaders(input);
  for (const key of input.keys ?? webhookKeys(input.secrets)) {
    const expected = mac(key, id, ts, input.body);
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) return { id, timestamp: Number(ts) };
  }
  throw unauthorized('No signature matches: the body was changed on the way, or it was signed with a secret this server does not have (sign the exact bytes you send).');
}

/**
 * The checks that need no body: the three headers present and well-formed, the timestamp within
 * the tolerance, at least one v1 signature. Run before reading the body, so an unsigned or stale
 * request costs no bytes read; `verifyWebhook` runs them again with the body.
 */
export function checkWebhookHeaders(input: Omit<VerifyInput, 'secrets' | 'body'>): { id: string; ts: string; given: Buffer[] } {
  const id = single(input.headers['webhook-id']);
  const ts = single(input.headers['webhook-timestamp']);
  const signatures = single(input.headers['webhook-signature']);
  if (!id || !ts || !signatures) {
    throw unauthorized('The request must carry webhook-id, webhook-timestamp and webhook-signature headers (Standard Webhooks).');
  }
  if (!/^[\x21-\x7e]{1,200}$/.test(id)) throw unauthorized('The webhook-id header must be 1-200 visible ASCII characters.');
  if (!/^\d{1,12}$/.test(ts)) throw unauthorized('The webhook-timestamp header must be unix seconds.');
  const timestamp = Number(ts);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - timestamp) > tolerance) {
    throw unauthorized(`The webhook-timestamp is more than ${tolerance} seconds from the server's clock: check the sender's clock, or this is a replay.`);
  }
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  if (given.length === 0) throw unauthorized('The webhook-signature header has no v1,<base64> signature.');
  return { id, ts, given };
}

/** The HMAC keys of `whsec_` secrets (the base64-decoded part), in the same order. */
export function webhookKeys(secrets: readonly string[]): Buffer[] {
  return secrets.map(secretKey);
}

function mac(key: Buffer, id: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function unauthorized(message: string): VerificationError {
  return new VerificationError('SIGNATURE_INVALID', message, 401);
}
