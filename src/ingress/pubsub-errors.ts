/**
 * Why a Pub/Sub API stream stopped, from the gRPC status and the `error-code` trailer Salesforce adds.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html
 * - `auth`: the session was refused (UNAUTHENTICATED, sfdc.platform.eventbus.grpc.service.auth.error):
 *   renew it and subscribe again.
 * - `replay`: the stored replay id is no longer valid (…subscription.fetch.replayid.corrupted, or
 *   INVALID_ARGUMENT about the replay id, e.g. older than the 72-hour retention): start at new events.
 * - `undecodable`: an event could not be decoded (its schema could not be read): replay it later.
 * - `stream`: anything else (network, server): subscribe again after a pause.
 */
export type PubSubFailure = 'auth' | 'replay' | 'undecodable' | 'stream';

const UNAUTHENTICATED = 16;
const INVALID_ARGUMENT = 3;

export function classifyPubSubFailure(err: unknown): PubSubFailure {
  if (typeof err !== 'object' || err === null) return 'stream';
  // The client's EventParseError (not exported) carries the undecoded event and the latest replay id.
  if ('event' in err && 'latestReplayId' in err) return 'undecodable';
  const code = (err as { code?: unknown }).code;
  const details = String((err as { details?: unknown }).details ?? (err instanceof Error ? err.message : ''));
  const metadata = (err as { metadata?: { get?: (key: string) => unknown[] } }).metadata;
  const errorCode = String(metadata?.get?.('error-code')?.[0] ?? '');
  if (code === UNAUTHENTICATED || /\.auth\./.test(errorCode)) return 'auth';
  if (/replayid/i.test(errorCode) || (code === INVALID_ARGUMENT && /replay/i.test(details))) return 'replay';
  return 'stream';
}

/** A loggable line for a gRPC error: status and Salesforce's error code, never the metadata sent. */
export function describePubSubFailure(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const code = (err as { code?: unknown }).code;
  const metadata = (err as { metadata?: { get?: (key: string) => unknown[] } }).metadata;
  const errorCode = metadata?.get?.('error-code')?.[0];
  const message = err instanceof Error ? err.message : String((err as { details?: unknown }).details ?? 'unknown error');
  return [message, code === undefined ? '' : `(gRPC status ${String(code)})`, errorCode ? `[${String(errorCode)}]` : ''].filter(Boolean).join(' ');
}
