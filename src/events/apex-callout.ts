import { z } from 'zod';
import { invalidMessage } from '../errors.js';
import { pushedModstamp } from './modstamp.js';
import type { FieldValue, SalesforceEvent } from './salesforce-event.js';
import { isSalesforceId, SOBJECT_NAME, toId18 } from './salesforce-id.js';

/** Apex sends at most one trigger chunk of 200 records per callout. */
export const MAX_APEX_RECORDS = 200;

const sfId = z.string().refine(isSalesforceId, 'must be a 15- or 18-character Salesforce id');

/** A record as Apex `JSON.serialize` writes an sObject: `attributes`, `Id`, then the fields. */
const ApexRecordSchema = z
  .object({
    attributes: z.object({ type: z.string(), url: z.string().optional() }).passthrough(),
    Id: sfId,
  })
  .catchall(z.unknown());

export const ApexCalloutSchema = z
  .object({
    orgId: sfId,
    userId: sfId.optional(),
    sobjectType: z.string().regex(SOBJECT_NAME, 'must be an sObject API name such as Contact or Invoice__c'),
    operation: z.enum(['insert', 'update', 'delete', 'undelete']),
    new: z.array(ApexRecordSchema).max(MAX_APEX_RECORDS, `at most ${MAX_APEX_RECORDS} records per callout`).default([]),
    old: z.array(ApexRecordSchema).max(MAX_APEX_RECORDS, `at most ${MAX_APEX_RECORDS} records per callout`).default([]),
    apiVersion: z.string().max(10).optional(),
  })
  .superRefine((body, ctx) => {
    const carrier = body.operation === 'delete' ? 'old' : 'new';
    if (body[carrier].length === 0) {
      ctx.addIssue({ code: 'custom', path: [carrier], message: `${body.operation} callouts carry their records in "${carrier}"` });
    }
    for (const key of ['new', 'old'] as const) {
      body[key].forEach((record, i) => {
        if (record.attributes.type !== body.sobjectType) {
          ctx.addIssue({ code: 'custom', path: [key, i, 'attributes', 'type'], message: `is ${record.attributes.type}, but sobjectType is ${body.sobjectType}` });
        }
      });
    }
  });

export type ApexCallout = z.infer<typeof ApexCalloutSchema>;

/** Validates a parsed JSON body; a 400 with every issue's path when it does not fit. */
export function parseApexCallout(json: unknown): ApexCallout {
  const parsed = ApexCalloutSchema.safeParse(json);
  if (!parsed.success) {
    throw invalidMessage('The callout body', 'body', parsed.error);
  }
  return parsed.data;
}

/**
 * One event per record: `new` for insert/update/undelete, `old` for delete. The delivery id is
 * `${webhook-id}:${recordId}`, so a retried callout (same webhook-id) deduplicates record by record.
 */
export function apexEvents(callout: ApexCallout, webhookId: string, flow: string, receivedAt: Date): SalesforceEvent[] {
  const orgId = toId18(callout.orgId);
  const at = receivedAt.toISOString();
  const previousById = new Map(callout.old.map((r) => [toId18(r.Id), r]));
  const records = callout.operation === 'delete' ? callout.old : callout.new;
  const seen = new Set<string>();
  const events: SalesforceEvent[] = [];
  for (const record of records) {
    const recordId = toId18(record.Id);
    if (seen.has(recordId)) continue; // the same record twice in one trigger chunk: one event
    seen.add(recordId);
    const fields = flattenRecord(record);
    const event: SalesforceEvent = {
      deliveryId: `${webhookId}:${recordId}`,
      source: 'apex',
      flow,
      orgId,
      sobjectType: callout.sobjectType,
      recordId,
      operation: callout.operation,
      fields,
      receivedAt: at,
    };
    const previous = callout.operation === 'update' ? previousById.get(recordId) : undefined;
    if (previous) event.previous = withoutAttributes(previous);
    const modstamp = pushedModstamp(fields, receivedAt, `record ${recordId}: SystemModstamp/LastModifiedDate`);
    if (modstamp) event.modstamp = modstamp;
    events.push(event);
  }
  return events;
}

/**
 * Apex (and the REST API) serialize compound fields (MailingAddress) and parent lookups (Account.Name) as objects:
 * they become `MailingAddress.city`-style keys, like nested elements of an Outbound Message.
 * `attributes` is metadata, not a field. Lists are kept as JSON text.
 */
export function flattenRecord(record: Record<string, unknown>, prefix = '', out: Record<string, FieldValue> = {}): Record<string, FieldValue> {
  for (const [key, value] of Object.entries(record)) {
    if (key === 'attributes') continue;
    const name = prefix + key;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = value;
    else if (Array.isArray(value)) out[name] = JSON.stringify(value);
    else if (typeof value === 'object') flattenRecord(value as Record<string, unknown>, `${name}.`, out);
  }
  return out;
}

function withoutAttributes(record: Record<string, unknown>): Record<string, unknown> {
  const { attributes: _attributes, ...rest } = record;
  return rest;
}
