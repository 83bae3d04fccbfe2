import type { Request, Response } from 'express';
import { AppError, InputError } from '../../errors.js';
import { apexEvents, parseApexCallout } from '../../events/apex-callout.js';
import type { Logger } from '../../log.js';
import { verifyOrgAllowed } from '../../verification/org-allowlist.js';
import { checkWebhookHeaders, verifyWebhook, webhookKeys } from '../../verification/standard-webhooks.js';
import { errorForLog } from '../error-log.js';
import { checkIngressRequest, setRefusalHeaders, type IngressDeps } from '../ingress-guards.js';
import { checkBodyHeaders, readRawBody, type BodyLimits } from '../raw-body.js';
import { replyJson } from '../reply.js';
import { noteOf } from '../locals.js';

export interface ApexRouteDeps extends IngressDeps {
  /** `whsec_` secrets; any of them may have signed a request (rotation). */
  secrets: readonly string[];
}

/**
 * POST /apex/:flow — a signed JSON callout from the Apex dispatcher. Everything the headers can
 * prove wrong (signature headers, timestamp, encoding, length) is refused before a byte of the body
 * is read; the signature is then checked over the raw bytes before anything is parsed; 202 is sent
 * only after the events are committed.
 */
export function apexRoute(deps: ApexRouteDeps) {
  const limits: BodyLimits = {
    maxBytes: deps.maxBodyBytes,
    budget: deps.bodyBudget,
    // Apex's HttpRequest sends the body as given; the dispatcher never compresses it.
    encodings: [],
    encodingAdvice: 'Apex callouts are sent uncompressed; send the JSON as it is signed, without Content-Encoding.',
  };
  const now = deps.now ?? (() => new Date());
  const keys = webhookKeys(deps.secrets);
  return async (req: Request, res: Response): Promise<void> => {
    let flow = '';
    try {
      flow = checkIngressRequest(req, ['application/json'], 'application/json');
      if (deps.secrets.length === 0) {
        throw new AppError('NOT_CONFIGURED', 'This forcehook has no WEBHOOK_SECRETS, so it cannot verify Apex callouts; set the same whsec_ secret here and in the org.', {
          status: 503,
        });
      }
      checkWebhookHeaders({ headers: req.headers, nowSeconds: Math.floor(now().getTime() / 1000) });
      checkBodyHeaders(req, limits);
      const body = await readRawBody(req, res, limits);
      const at = now();
      const { id } = verifyWebhook({ secrets: deps.secrets, keys, headers: req.headers, body, nowSeconds: Math.floor(at.getTime() / 1000) });
      const callout = parseApexCallout(parseJson(body));
      verifyOrgAllowed(deps.allowedOrgPrefixes, callout.orgId);
      const events = apexEvents(callout, id, flow, at);
      const result = await deps.ingest(events);
      noteOf(res).ingest = result;
      deps.log.debug({ flow, webhookId: id, ...result }, 'apex callout stored');
      replyJson(res, 202, result);
    } catch (err) {
      sendJsonError(res, err, deps.log, flow);
    }
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Buffer): unknown {
  let value: unknown;
  let text: string;
  try {
    text = utf8.decode(body);
    value = JSON.parse(text);
  } catch {
    throw new InputError('BODY_MALFORMED', 'The body is not valid UTF-8 JSON.');
  }
  // JSON can only carry U+0000 or a lone surrogate escaped (raw, one is a syntax error and the other
  // invalid UTF-8): without such an escape, no walk.
  const found = UNSTORABLE_ESCAPE.test(text) ? unstorable(value, '') : undefined;
  if (found !== undefined) {
    // PostgreSQL text and jsonb can hold neither, and Apex never sends them.
    const what = found.what === 'nul' ? 'the NUL character (\\u0000)' : 'half of a UTF-16 surrogate pair';
    throw new InputError('INVALID_MESSAGE', `The callout body is invalid: ${found.path || 'body'} contains ${what}.`, {
      issues: [{ path: found.path, message: `contains ${what}` }],
    });
  }
  return value;
}

const UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/** The path of the first string (or key) PostgreSQL could not store: U+0000, or a lone surrogate. */
function unstorable(value: unknown, path: string): { path: string; what: 'nul' | 'surrogate' } | undefined {
  const check = (text: string, at: string) =>
    text.includes('\u0000') ? ({ path: at, what: 'nul' } as const) : !text.isWellFormed() ? ({ path: at, what: 'surrogate' } as const) : undefined;
  if (typeof value === 'string') return check(value, path);
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const found = check(key, at) ?? unstorable(child, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

function sendJsonError(res: Response, err: unknown, log: Logger, flow: string): void {
  const known = err instanceof AppError ? err : undefined;
  if (!known || known.status >= 500) log.error({ err: errorForLog(err), flow }, 'apex callout not stored');
  else log.info({ code: known.code, flow }, 'apex callout refused');
  const status = known?.status ?? 500;
  const error = {
    code: known?.code ?? 'INTERNAL',
    message: known?.message ?? 'An internal error occurred; nothing was stored. Retry later.',
    ...(known && known.issues.length > 0 ? { issues: known.issues } : {}),
  };
  noteOf(res).errorCode = error.code;
  setRefusalHeaders(res, err);
  if (!res.headersSent) replyJson(res, status, { error });
}
