import { flattenRecord } from './apex-callout.js';
import type { Operation, SalesforceEvent } from './salesforce-event.js';
import { isSalesforceId, toId18 } from './salesforce-id.js';

/** A message on a streaming channel as jsforce delivers it. */
export interface StreamMessage {
  event?: { replayId?: number };
  payload?: Record<string, unknown>;
}

const CHANGE_TYPES: Record<string, Operation> = { CREATE: 'insert', UPDATE: 'update', DELETE: 'delete', UNDELETE: 'undelete' };

/**
 * A Change Data Capture event (`/data/ContactChangeEvent`) becomes one event per record id: the
 * operation from ChangeEventHeader.changeType, the changed fields (CDC sends only those), the commit
 * time as modstamp, and the committing user as LastModifiedById so echo suppression works. A
 * Platform Event (`/event/Order__e`) becomes one event whose "record" is the event itself. Gap and
 * overflow notices carry no field values: they return [] and the caller reconciles instead.
 */
export function streamEvents(channel: string, flow: string, orgId: string, message: StreamMessage, receivedAt: Date): SalesforceEvent[] {
  const replayId = message.event?.replayId;
  const payload = message.payload ?? {};
  const at = receivedAt.toISOString();
  const header = payload['ChangeEventHeader'] as
    | { entityName?: string; changeType?: string; recordIds?: string[]; commitTimestamp?: number; commitUser?: string }
    | undefined;
  if (!header) {
    const type = channel.replace(/^\/event\//, '');
    const fields = flattenRecord(payload);
    const createdDate = typeof payload['CreatedDate'] === 'string' ? new Date(payload['CreatedDate']).toISOString() : undefined;
    return [
      {
        deliveryId: `stream:${channel}:${replayId}`,
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
  const fields = flattenRecord(values);
  if (header.commitUser && isSalesforceId(header.commitUser)) fields['LastModifiedById'] = toId18(header.commitUser);
  const modstamp = typeof header.commitTimestamp === 'number' ? new Date(header.commitTimestamp).toISOString() : undefined;
  return (header.recordIds ?? []).filter(isSalesforceId).map((id) => {
    const recordId = toId18(id);
    return {
      deliveryId: `stream:${channel}:${replayId}:${recordId}`,
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

/** CDC's gap and overflow notices: field values were not sent, the records must be read. */
export function isGapNotice(message: StreamMessage): { entityName: string } | undefined {
  const header = message.payload?.['ChangeEventHeader'] as { changeType?: string; entityName?: string } | undefined;
  return header?.changeType && /^GAP_|OVERFLOW/.test(header.changeType) && header.entityName ? { entityName: header.entityName } : undefined;
}
