import { flattenRecord } from './apex-callout.js';
import type { FieldValue, Operation, SalesforceEvent } from './salesforce-event.js';
import { isSalesforceId, toId18 } from './salesforce-id.js';

/** A message on a streaming channel as jsforce (CometD) or salesforce-pubsub-api-client delivers it. */
export interface StreamMessage {
  event?: { replayId?: number };
  payload?: Record<string, unknown>;
}

/** Which subscriber delivered a message: their replay ids are not comparable, so delivery ids differ. */
export type StreamTransport = 'cometd' | 'pubsub';

interface ChangeEventHeader {
  entityName?: string;
  changeType?: string;
  recordIds?: string[];
  commitTimestamp?: number;
  commitUser?: string;
  /** Field names (the Pub/Sub client decodes the Avro bitmaps into names; CometD sends names). */
  changedFields?: string[];
  nulledFields?: string[];
  diffFields?: string[];
}

const CHANGE_TYPES: Record<string, Operation> = { CREATE: 'insert', UPDATE: 'update', DELETE: 'delete', UNDELETE: 'undelete' };

/**
 * A Change Data Capture event (`/data/ContactChangeEvent`) becomes one event per record id: the
 * operation from ChangeEventHeader.changeType, the changed fields (CDC sends only those), the commit
 * time as modstamp, and the committing user as LastModifiedById so echo suppression works. A
 * Platform Event (`/event/Order__e`) becomes one event whose "record" is the event itself, with its
 * publisher (CreatedById) as LastModifiedById for the same reason. Gap and
 * overflow notices carry no field values: they return [] and the caller reconciles instead.
 */
export function streamEvents(channel: string, flow: string, orgId: string, message: StreamMessage, receivedAt: Date, transport: StreamTransport = 'cometd'): SalesforceEvent[] {
  const replayId = message.event?.replayId;
  const payload = withoutBigInts(message.payload ?? {});
  const at = receivedAt.toISOString();
  const prefix = transport === 'cometd' ? 'stream' : 'pubsub';
  const header = payload['ChangeEventHeader'] as ChangeEventHeader | undefined;
  if (!header) {
    const type = channel.replace(/^\/event\//, '');
    const fields = flattenRecord(payload);
    // A Platform Event is never modified after it is published: its publisher (CreatedById, sent on
    // both transports) is its last modifier. Stored as LastModifiedById too, so the one echo rule
    // (skip what forcehook's own user changed) also skips the events forcehook published itself.
    const publisher = payload['CreatedById'];
    if (fields['LastModifiedById'] === undefined && typeof publisher === 'string' && isSalesforceId(publisher)) fields['LastModifiedById'] = toId18(publisher);
    // CometD sends CreatedDate as ISO text, the Pub/Sub API (Avro long) as epoch milliseconds.
    const created = payload['CreatedDate'];
    const createdDate = isoTime(created);
    return [
      {
        deliveryId: `${prefix}:${channel}:${replayId}`,
        source: 'streaming',
        flow,
        orgId,
        sobjectType: type,
        recordId: String(payload['EventUuid'] ?? replayId),
        operation: 'insert',
        fields,
        receivedAt: at,
        ...(createdDate ? { modstamp: createdDate } : {}),
      },
    ];
  }
  const operation = CHANGE_TYPES[header.changeType ?? ''];
  if (!operation || !header.entityName) return [];
  const { ChangeEventHeader: _header, ...values } = payload;
  const fields = changedValues(flattenRecord(values), header, operation);
  if (header.commitUser && isSalesforceId(header.commitUser)) fields['LastModifiedById'] = toId18(header.commitUser);
  const modstamp = isoTime(header.commitTimestamp);
  return (header.recordIds ?? []).filter(isSalesforceId).map((id) => {
    const recordId = toId18(id);
    return {
      deliveryId: `${prefix}:${channel}:${replayId}:${recordId}`,
      source: 'streaming' as const,
      flow,
      orgId,
      sobjectType: header.entityName!,
      recordId,
      operation,
      fields: { ...fields, Id: recordId },
      receivedAt: at,
      ...(modstamp ? { modstamp } : {}),
    };
  });
}

/**
 * The fields an event really changed. A Pub/Sub API event carries every field of the schema, null
 * where nothing changed; ChangeEventHeader.changedFields names the changed ones (`Name.LastName` for
 * a part of a compound field) and nulledFields the ones set to null, so only those are kept and the
 * mirror never blanks a field the change did not touch. diffFields hold a diff of a long text, not
 * its value: left out (the next read of the record brings the value).
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 * Without those lists (CometD before they were sent, or a create/delete, whose lists are empty)
 * the sent values are the change; nulls of a create or delete are fields that were never set.
 */
function changedValues(fields: Record<string, FieldValue>, header: ChangeEventHeader, operation: Operation): Record<string, FieldValue> {
  const changed = header.changedFields ?? [];
  const nulled = header.nulledFields ?? [];
  const diff = header.diffFields ?? [];
  const named = (key: string, names: readonly string[]): boolean => names.some((n) => key === n || key.startsWith(`${n}.`));
  if (changed.length === 0 && nulled.length === 0) {
    if (operation === 'update') return fields;
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null));
  }
  const out: Record<string, FieldValue> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (named(key, diff)) continue;
    if (named(key, nulled)) out[key] = null;
    else if (named(key, changed)) out[key] = value;
  }
  // A nulled compound field or one absent from the payload is still known to be null.
  for (const name of nulled) if (!named(name, diff) && !Object.keys(out).some((k) => named(k, [name]))) out[name] = null;
  return out;
}

/** Avro longs beyond 2^53 arrive as BigInt (commitNumber, big numbers): kept as text, as JSON cannot hold them. */
function withoutBigInts(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = typeof v === 'bigint' ? v.toString() : v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutBigInts(v as Record<string, unknown>) : v;
  }
  return out;
}

/** A CDC gap notice: the record ids whose changes were not sent, or none for an overflow. */
export interface GapNotice {
  entityName: string;
  changeType: string;
  /** 18-character ids; empty for GAP_OVERFLOW, which names no records. */
  recordIds: string[];
}

/**
 * CDC's gap and overflow notices (GAP_CREATE, GAP_UPDATE, GAP_DELETE, GAP_UNDELETE, GAP_OVERFLOW):
 * field values were not sent, the records must be read.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events_gap.htm
 */
export function isGapNotice(message: StreamMessage): GapNotice | undefined {
  const header = message.payload?.['ChangeEventHeader'] as ChangeEventHeader | undefined;
  if (!header?.changeType || !/^GAP_|OVERFLOW/.test(header.changeType) || !header.entityName) return undefined;
  const recordIds = header.changeType === 'GAP_OVERFLOW' ? [] : [...new Set((header.recordIds ?? []).filter(isSalesforceId).map(toId18))];
  return { entityName: header.entityName, changeType: header.changeType, recordIds };
}

/**
 * ISO text or epoch milliseconds -> ISO text; undefined for anything that is no date. A malformed
 * time must not throw: the event would fail to store and its channel replay it for ever.
 */
function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}
