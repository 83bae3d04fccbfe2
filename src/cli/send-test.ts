import { ConfigError, UsageError } from '../errors.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { toId18 } from '../events/salesforce-id.js';
import { localWebhookSecret } from '../verification/local-secret.js';
import { signedHeaders } from '../verification/standard-webhooks.js';

export interface SendTestOptions {
  flow: string;
  /** Base URL of a running forcehook. */
  url: string;
  sobjectType: string;
}

export interface SendTestResult {
  status: number;
  body: string;
  recordId: string;
  webhookId: string;
}

/**
 * Sends one correctly signed sample callout, exactly as the Apex dispatcher would, so a newcomer
 * can watch an event travel the whole path. Signs with the first WEBHOOK_SECRETS secret (or the
 * local one the embedded set-up generated) and sends as the first allowed org.
 */
export async function sendTestCallout(config: Config, options: SendTestOptions): Promise<SendTestResult> {
  const secret = config.webhookSecrets[0] ?? ('embedded' in config.database ? localWebhookSecret(config.database.embedded.dataDir) : undefined);
  if (!secret) throw new ConfigError('WEBHOOK_SECRETS is not set: set it to the secret the server uses.');
  const orgPrefix = config.allowedOrgPrefixes ? [...config.allowedOrgPrefixes][0] : undefined;
  const orgId = toId18(orgPrefix ?? '00D000000000001');
  const recordId = toId18(`003${randomBytes(6).toString('hex')}`);
  const now = new Date();
  const record = {
    attributes: { type: options.sobjectType, url: `/services/data/v62.0/sobjects/${options.sobjectType}/${recordId}` },
    Id: recordId,
    FirstName: 'Test',
    LastName: `forcehook ${now.toISOString()}`,
    Email: 'send-test@example.com',
    SystemModstamp: now.toISOString().replace('Z', '+0000'),
  };
  const body = JSON.stringify({ orgId, userId: toId18('005000000000001'), sobjectType: options.sobjectType, operation: 'insert', new: [record], old: [], apiVersion: '62.0' });
  const webhookId = `msg_${randomUUID().replace(/-/g, '')}`;
  const headers = signedHeaders({ secret, id: webhookId, timestamp: Math.floor(now.getTime() / 1000), body });
  // A mistyped --url or a server that is not running is the user's to fix: one line, no stack.
  let target: URL;
  try {
    target = new URL(`/apex/${encodeURIComponent(options.flow)}`, options.url);
  } catch {
    throw new UsageError(`--url ${options.url} is not a URL: write it like http://localhost:3000`);
  }
  try {
    const res = await fetch(target, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
    return { status: res.status, body: await res.text(), recordId, webhookId };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new UsageError(`cannot reach ${target.origin}: ${cause}. Is forcehook running there (npm start)?`);
  }
}
