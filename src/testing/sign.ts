import { randomUUID } from 'node:crypto';
import { signedHeaders } from '../verification/standard-webhooks.js';

export interface SignOptions {
  /** The flow's `whsec_…` secret. */
  secret: string;
  /** The webhook-id header. @default a fresh `msg_<uuid>` */
  id?: string;
  /** Seconds since the epoch. @default now */
  timestamp?: number;
}

/**
 * An Apex callout as the forcehook dispatcher sends it: the JSON body and the Standard Webhooks
 * headers (webhook-id, webhook-timestamp, webhook-signature) signed with the flow's secret. POST
 * `body` with these headers and `Content-Type: application/json` to /apex/<flow>.
 */
export function signApexCallout(payload: unknown, options: SignOptions): { body: string; headers: ReturnType<typeof signedHeaders> } {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers = signedHeaders({
    secret: options.secret,
    id: options.id ?? `msg_${randomUUID().replace(/-/g, '')}`,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    body,
  });
  return { body, headers };
}
