import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * For local use only (the embedded database): when WEBHOOK_SECRETS is unset, forcehook signs and
 * verifies with a secret generated once into `<data dir>/webhook-secret`, so `npm start` and
 * `forcehook send-test` work with no set-up. With DATABASE_URL this is never used.
 */
export function localWebhookSecret(dataDir: string): string {
  const file = join(dataDir, 'webhook-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = newWebhookSecret();
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
