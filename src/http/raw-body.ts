import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { AppError, InputError } from '../errors.js';
import type { BodyBudget } from './body-budget.js';

/** Content-Encodings a route decodes besides identity. */
export type BodyEncoding = 'gzip';

export interface BodyLimits {
  /** MAX_BODY_BYTES: the most one body may be, decompressed. */
  maxBytes: number;
  /** Shared by all requests (MAX_INFLIGHT_BODY_BYTES). */
  budget: BodyBudget;
  encodings: readonly BodyEncoding[];
  /** Said in the 415 for any other Content-Encoding. */
  encodingAdvice: string;
}

/** Seconds a sender refused for want of memory is asked to wait; Salesforce and the Apex dispatcher retry. */
export const BUSY_RETRY_AFTER_SECONDS = 5;

/** The 503 for a body that does not fit in MAX_INFLIGHT_BODY_BYTES right now; sets Retry-After. */
export class ServerBusyError extends AppError {
  readonly retryAfterSeconds = BUSY_RETRY_AFTER_SECONDS;
  constructor() {
    super('SERVER_BUSY', 'Too many request bodies are being received at once (MAX_INFLIGHT_BODY_BYTES); nothing was stored. Retry later.', {
      status: 503,
      retryable: true,
    });
  }
}

/**
 * What can be refused from the headers alone, before a byte of the body is read: a Content-Encoding
 * the route does not take, a declared length over MAX_BODY_BYTES, a declared length that does not
 * fit in what the other requests leave of the budget.
 */
export function checkBodyHeaders(req: Request, limits: BodyLimits): void {
  const encoding = contentEncoding(req, limits);
  const declared = req.headers['content-length'];
  if (declared === undefined) return;
  const length = Number(declared);
  // A compressed body's length says little of its size once inflated; identity is checked exactly.
  if (!encoding && length > limits.maxBytes) throw tooLarge(limits.maxBytes);
  if (!limits.budget.fits(Math.min(length, limits.maxBytes))) throw new ServerBusyError();
}

/**
 * Reads the body as bytes (decoded when the route takes its Content-Encoding), holding at most
 * `maxBytes` and taking each chunk from the shared budget as it arrives; what was taken is given
 * back when the response closes. On a refusal it stops reading, and the server closes the connection
 * after the answer (see server.ts), so a sender cannot keep streaming into us.
 */
export function readRawBody(req: Request, res: Response, limits: BodyLimits): Promise<Buffer> {
  const encoding = contentEncoding(req, limits);
  let taken = 0;
  res.once('close', () => limits.budget.give(taken));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
    const source: Readable = gunzip ? req.pipe(gunzip) : req;
    const finish = (err: AppError | undefined): void => {
      if (done) return;
      done = true;
      source.off('data', onData);
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      if (err) {
        req.pause();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      if (!limits.budget.take(chunk.length)) return finish(new ServerBusyError());
      taken += chunk.length;
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => finish(undefined));
    gunzip?.once('error', () => finish(new InputError('BODY_MALFORMED', 'The body is not valid gzip (Content-Encoding: gzip); nothing was stored.')));
    req.once('error', () => finish(aborted()));
    req.once('close', () => {
      if (!req.complete) finish(aborted());
    });
  });
}

function contentEncoding(req: Request, limits: BodyLimits): BodyEncoding | undefined {
  const header = req.headers['content-encoding']?.trim().toLowerCase();
  if (header === undefined || header === '' || header === 'identity') return undefined;
  const known = limits.encodings.find((e) => e === header);
  if (!known) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${header.slice(0, 40)} is not accepted here: ${limits.encodingAdvice}`, { status: 415 });
  return known;
}

function tooLarge(limit: number): AppError {
  return new AppError('BODY_TOO_LARGE', `The body is larger than ${limit} bytes (MAX_BODY_BYTES); send fewer records per request.`, { status: 413 });
}

function aborted(): AppError {
  return new InputError('BODY_MALFORMED', 'The request was aborted before its body was complete; nothing was stored.');
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
