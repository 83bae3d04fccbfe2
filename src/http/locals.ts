import type { Response } from 'express';
import type { IngestResult } from '../inbox/ingest.js';

/** What a route tells the request log and the metrics (see app.ts) about its request. */
export interface RequestNote {
  /** Set by the ingress routes once the events are stored. */
  ingest?: IngestResult;
  /** Set when a request is refused: the ErrorCode (or OData error code) it was refused with. */
  errorCode?: string;
}

/** res.locals, typed: one object under one key instead of loose string keys. */
export function noteOf(res: Response): RequestNote {
  return ((res.locals as { forcehook?: RequestNote }).forcehook ??= {});
}
