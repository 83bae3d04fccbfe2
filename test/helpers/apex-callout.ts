import request from 'supertest';
import { signApexCallout } from '../../src/testing/sign.js';
import { toId18 } from '../../src/events/salesforce-id.js';

/** Made-up test secrets (never real ones). */
export const SECRET_A = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
export const SECRET_B = 'whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=';

/** A record the way Apex JSON.serialize writes a Contact. */
export function apexContact(n: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const id = toId18(`0035g${String(n).padStart(10, '0')}`);
  return {
    attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` },
    Id: id,
    LastName: `Contact ${n}`,
    Email: `c${n}@example.com`,
    SystemModstamp: '2026-11-20T10:00:00.000+0000',
    ...fields,
  };
}

export interface SendOptions {
  secret?: string;
  id?: string;
  timestamp?: number;
  /** Change the bytes after signing. */
  tamper?: (body: string) => string;
  contentType?: string;
}

/** POSTs a body to /apex/<flow>, signed as the Apex dispatcher signs it. */
export function sendApex(target: string, flow: string, payload: unknown, options: SendOptions = {}) {
  const { body, headers } = signApexCallout(payload, {
    secret: options.secret ?? SECRET_A,
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  return request(target)
    .post(`/apex/${flow}`)
    .set(headers)
    .set('Content-Type', options.contentType ?? 'application/json')
    .send(options.tamper ? options.tamper(body) : body);
}
