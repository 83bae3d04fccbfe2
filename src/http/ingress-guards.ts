import type { Request, Response } from 'express';
import { AppError } from '../errors.js';
import { FLOW_PATTERN } from '../events/salesforce-event.js';
import type { Logger } from '../log.js';
import type { Ingest } from '../inbox/ingest.js';
import type { BodyBudget } from './body-budget.js';
import { hasMediaType, ServerBusyError } from './raw-body.js';

/** What both ingress routes need. */
export interface IngressDeps {
  ingest: Ingest;
  log: Logger;
  /** Allowed orgs by 15-character prefix; null allows any (local use only). */
  allowedOrgPrefixes: ReadonlySet<string> | null;
  maxBodyBytes: number;
  /** Bytes all bodies in flight may hold together (MAX_INFLIGHT_BODY_BYTES), shared by both routes. */
  bodyBudget: BodyBudget;
  /** Injected clock for tests. */
  now?: () => Date;
}

/** The cheap checks, before a byte of the body is read: a plain flow name and the right media type. */
export function checkIngressRequest(req: Request, mediaTypes: readonly string[], expected: string): string {
  const flow = String(req.params['flow']);
  if (!FLOW_PATTERN.test(flow)) {
    throw new AppError('UNKNOWN_FLOW', 'The flow in the URL must be 1-64 letters, digits, dashes or underscores.', { status: 404 });
  }
  if (!hasMediaType(req, mediaTypes)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the body as Content-Type: ${expected}.`, { status: 415 });
  }
  return flow;
}

/** Headers a refusal carries besides its body: when to try again, for a 503 of ours that will pass. */
export function setRefusalHeaders(res: Response, err: unknown): void {
  if (err instanceof ServerBusyError && !res.headersSent) res.setHeader('Retry-After', String(err.retryAfterSeconds));
}
