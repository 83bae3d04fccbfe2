import { InputError } from '../errors.js';
import type { FieldValue } from './salesforce-event.js';

// Salesforce sends `2018-05-04T11:35:40.000Z` in Outbound Messages and Apex JSON.serialize writes
// `2026-11-20T10:00:00.000+0000` (offset without a colon, which Date.parse does not accept everywhere).
const DATETIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(Z|[+-]\d{2}:?\d{2})$/;

// The records of one message or callout usually share their SystemModstamp (one transaction changed
// them all): the last answer is kept, and the same text is not parsed a hundred times.
let lastText: string | undefined;
let lastIso: string | undefined;
let lastMs = NaN;

/** Parses a Salesforce datetime to ISO-8601 UTC, or undefined when it is not one. */
export function parseSalesforceDatetime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value === lastText) return lastIso;
  const iso = parseDatetime(value);
  lastText = value;
  lastIso = iso;
  lastMs = iso === undefined ? NaN : Date.parse(iso);
  return iso;
}

function parseDatetime(value: string): string | undefined {
  const m = DATETIME.exec(value.trim());
  if (!m) return undefined;
  const [, local, zone] = m;
  const offset = zone === 'Z' ? 'Z' : `${zone!.slice(0, 3)}:${zone!.slice(-2)}`;
  const ms = Date.parse(`${local}${offset}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The timestamp that orders changes to a record: SystemModstamp, else LastModifiedDate. */
export function modstampOf(fields: Record<string, FieldValue | undefined>): string | undefined {
  return parseSalesforceDatetime(fields['SystemModstamp']) ?? parseSalesforceDatetime(fields['LastModifiedDate']);
}

/** Clocks differ a little; a change stamped further ahead than this is forged or broken. */
export const MAX_MODSTAMP_AHEAD_MS = 5 * 60_000;

/**
 * The modstamp of a pushed record, refused when it is more than five minutes ahead of receipt: the
 * mirror keeps the newest state, so one forged far-future SystemModstamp would pin a record and
 * make every real change after it look stale.
 */
export function pushedModstamp(fields: Record<string, FieldValue | undefined>, receivedAt: Date, path: string): string | undefined {
  const modstamp = modstampOf(fields);
  if (modstamp !== undefined && (modstamp === lastIso ? lastMs : Date.parse(modstamp)) - receivedAt.getTime() > MAX_MODSTAMP_AHEAD_MS) {
    const message = `is ${modstamp}, more than 5 minutes ahead of the time it was received (${receivedAt.toISOString()}); fix the sender's data or this server's clock`;
    throw new InputError('MODSTAMP_IN_FUTURE', `${path} ${message}.`, { issues: [{ path, message }] });
  }
  return modstamp;
}
