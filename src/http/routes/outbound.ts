import type { Request, Response } from 'express';
import { AppError } from '../../errors.js';
import { outboundEvents, parseOutboundMessage } from '../../events/outbound-message.js';
import { SOAP_ACK, soapFault } from '../../events/soap-reply.js';
import type { Logger } from '../../log.js';
import { verifyOrgAllowed } from '../../verification/org-allowlist.js';
import { verifyOutboundToken, type TokenPolicy } from '../../verification/outbound-token.js';
import { errorForLog } from '../error-log.js';
import { checkIngressRequest, setRefusalHeaders, type IngressDeps } from '../ingress-guards.js';
import { checkBodyHeaders, readRawBody, type BodyLimits } from '../raw-body.js';
import { reply } from '../reply.js';
import { noteOf } from '../locals.js';

const XML_TYPE = 'text/xml; charset=utf-8';
const ACK = Buffer.from(SOAP_ACK, 'utf8');

export interface OutboundRouteDeps extends IngressDeps {
  tokens: TokenPolicy;
}

/**
 * POST /outbound/:flow — a Salesforce Outbound Message. Cheap checks come before reading the body;
 * the Ack is sent only after the notifications are committed. Every refusal is a SOAP fault.
 */
export function outboundRoute(deps: OutboundRouteDeps) {
  const limits: BodyLimits = {
    maxBytes: deps.maxBodyBytes,
    budget: deps.bodyBudget,
    // Salesforce documents no compression for Outbound Messages. gzip is still taken, as before, but
    // only after the token check and counted decompressed against MAX_BODY_BYTES and the budget.
    encodings: ['gzip'],
    encodingAdvice: 'send the SOAP message uncompressed (as Salesforce does) or gzip.',
  };
  const now = deps.now ?? (() => new Date());
  return async (req: Request, res: Response): Promise<void> => {
    let flow = '';
    try {
      flow = checkIngressRequest(req, ['text/xml', 'application/xml', 'application/soap+xml'], 'text/xml; charset=utf-8');
      verifyOutboundToken(deps.tokens, flow, req.query['token']);
      checkBodyHeaders(req, limits);
      const body = await readRawBody(req, res, limits);
      const message = parseOutboundMessage(body);
      verifyOrgAllowed(deps.allowedOrgPrefixes, message.organizationId);
      const events = outboundEvents(message, flow, now());
      const result = await deps.ingest(events);
      noteOf(res).ingest = result;
      deps.log.debug({ flow, orgId: events[0]?.orgId, ...result }, 'outbound message stored');
      reply(res, 200, XML_TYPE, ACK);
    } catch (err) {
      sendFault(res, err, deps.log, flow);
    }
  };
}

function sendFault(res: Response, err: unknown, log: Logger, flow: string): void {
  const known = err instanceof AppError ? err : undefined;
  if (!known || known.status >= 500) {
    log.error({ err: errorForLog(err), flow }, 'outbound message not stored');
  } else {
    log.info({ code: known.code, flow }, 'outbound message refused');
  }
  const status = known?.status ?? 500;
  const kind = status >= 500 ? 'Server' : 'Client';
  const code = known?.code ?? 'INTERNAL';
  const message = known?.message ?? 'An internal error occurred; nothing was stored. Salesforce will retry.';
  noteOf(res).errorCode = code;
  setRefusalHeaders(res, err);
  if (!res.headersSent) reply(res, status, XML_TYPE, soapFault(kind, code, message));
}
