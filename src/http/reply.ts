import type { Response } from 'express';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Ends a response with a body whose type and bytes are known, without express's `res.send`
 * (which hashes every body for an ETag and checks request freshness, neither of which means
 * anything to a webhook sender). Same status, Content-Type and Content-Length as `res.send` would set.
 */
export function reply(res: Response, status: number, contentType: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  res.end(body);
}

/** `res.status(status).json(value)`, minus the ETag. */
export function replyJson(res: Response, status: number, value: unknown): void {
  reply(res, status, JSON_TYPE, JSON.stringify(value));
}
