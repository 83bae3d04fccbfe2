import express from 'express';
import type { Request, Response } from 'express';
import { AppError, InputError } from '../errors.js';

/** Reads a request body as bytes, up to `limit`, for routes that must verify or parse raw bytes. */
export function rawBodyReader(limit: number): (req: Request, res: Response) => Promise<Buffer> {
  const raw = express.raw({ type: () => true, limit });
  return (req, res) =>
    new Promise((resolve, reject) => {
      raw(req, res, (err?: unknown) => {
        if (err) reject(bodyError(err, limit));
        else resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      });
    });
}

/** body-parser's errors carry a `type`; turn them into ours with a message a person can act on. */
function bodyError(err: unknown, limit: number): AppError {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  switch (type) {
    case 'entity.too.large':
      return new AppError('BODY_TOO_LARGE', `The body is larger than ${limit} bytes (MAX_BODY_BYTES); send fewer records per request.`, { status: 413 });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Encoding or charset; send UTF-8, uncompressed or gzip.', { status: 415 });
    case 'request.aborted':
      return new InputError('BODY_MALFORMED', 'The request was aborted before its body was complete; nothing was stored.');
    default:
      return new InputError('BODY_MALFORMED', 'The request body could not be read (its length did not match Content-Length); nothing was stored.');
  }
}

/** True when the request's media type is one of `types` and its charset, if given, is UTF-8. */
export function hasMediaType(req: Request, types: readonly string[]): boolean {
  const header = req.headers['content-type'];
  if (typeof header !== 'string') return false;
  const [mediaType, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!mediaType || !types.includes(mediaType)) return false;
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}
