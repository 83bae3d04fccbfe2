/**
 * How an event reached us: pushed by an Outbound Message or an Apex callout, pulled by
 * reconciliation, or streamed (Change Data Capture, Platform Events).
 */
export const SOURCES = ['outbound', 'apex', 'reconcile', 'streaming'] as const;
export type EventSource = (typeof SOURCES)[number];

export const OPERATIONS = ['insert', 'update', 'delete', 'undelete', 'upsert'] as const;
export type Operation = (typeof OPERATIONS)[number];

export type FieldValue = string | number | boolean | null;

/** One change to one record, whichever way it reached us. See DESIGN.md "The normalized event". */
export interface SalesforceEvent {
  /** Dedupe key, unique per org: the Notification Id, or `${webhook-id}:${recordId}` for Apex. */
  deliveryId: string;
  source: EventSource;
  flow: string;
  /** 18-character org id. */
  orgId: string;
  sobjectType: string;
  /** 18-character record id. */
  recordId: string;
  operation: Operation;
  /** Field values as sent. Outbound Message values stay text; `null` for xsi:nil. */
  fields: Record<string, FieldValue>;
  /** Apex `Trigger.old` for the record, when sent. */
  previous?: Record<string, unknown>;
  /** SystemModstamp (else LastModifiedDate) as ISO-8601 UTC: orders updates to one record. */
  modstamp?: string;
  receivedAt: string;
}

/** Flow names appear in URLs, queue names and logs: keep them plain. */
export const FLOW_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
