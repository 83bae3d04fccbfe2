import { upsertRecords, type MirrorWrite } from '../db/records.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import { defineHandler } from './define-handler.js';

/**
 * Keeps `forcehook.records` equal to the newest state of every record any flow sends. The fields
 * stored are the last set Salesforce sent (Outbound Messages omit null fields, so merging with
 * older values would keep values that were cleared). A delete keeps the last fields, marked deleted.
 * Change Data Capture updates carry only the changed fields, so those are merged in instead.
 */
export const mirrorHandler = defineHandler({
  name: 'mirror',
  match: {},
  // One upsert (and one commit) per 500 events: the mirror's cost is per statement, not per row.
  batchSize: 500,
  // The mirror keeps the newest state, forcehook's own write-backs included; it writes nothing back.
  suppressEchoes: false,
  async handle(events, ctx) {
    const newest = new Map<string, MirrorWrite>();
    const eventOf = new Map<string, SalesforceEvent>();
    const skipped: string[] = [];
    for (const event of events) {
      // A Platform Event is a message, not a record: nothing to mirror.
      if (event.sobjectType.endsWith('__e')) {
        skipped.push(event.deliveryId);
        continue;
      }
      const key = `${event.orgId}/${event.sobjectType}/${event.recordId}`;
      const write = toWrite(event);
      const current = newest.get(key);
      const currentEvent = eventOf.get(key);
      if (!current || !currentEvent) {
        newest.set(key, write);
      } else if (isNewer(event, currentEvent)) {
        skipped.push(current.deliveryId);
        // A partial change on top of an earlier one in the same batch: both sets of fields count.
        newest.set(key, write.merge ? { ...write, fields: { ...current.fields, ...write.fields }, merge: current.merge } : write);
      } else {
        skipped.push(event.deliveryId);
        // An older partial change still tells fields the newer one did not carry.
        if (write.merge && current.merge) current.fields = { ...write.fields, ...current.fields };
        continue;
      }
      eventOf.set(key, event);
    }
    const writes = [...newest.values()];
    const applied = await upsertRecords(ctx.db, writes);
    for (const w of writes) if (!applied.has(w.deliveryId)) skipped.push(w.deliveryId);
    if (skipped.length > 0) ctx.log.debug({ skipped: skipped.length }, 'stale updates skipped');
    return { skipped };
  },
});

function toWrite(e: SalesforceEvent): MirrorWrite {
  return {
    orgId: e.orgId,
    sobjectType: e.sobjectType,
    recordId: e.recordId,
    fields: e.fields,
    modstamp: e.modstamp ?? null,
    deleted: e.operation === 'delete' || e.fields['IsDeleted'] === true || e.fields['IsDeleted'] === 'true',
    deliveryId: e.deliveryId,
    // CDC sends what changed (a CREATE: the fields set): every streamed change is partial.
    merge: e.source === 'streaming',
  };
}

/** Events arrive oldest first; without modstamps the later one wins. */
function isNewer(a: SalesforceEvent, b: SalesforceEvent): boolean {
  if (a.modstamp && b.modstamp) return a.modstamp >= b.modstamp;
  return true;
}
