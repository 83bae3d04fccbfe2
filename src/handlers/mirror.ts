import { upsertRecords, type MirrorWrite } from '../db/records.js';
import type { SalesforceEvent } from '../events/salesforce-event.js';
import { defineHandler } from './define-handler.js';

/**
 * Keeps `forcehook.records` equal to the newest state of every record any flow sends. The fields
 * stored are the last set Salesforce sent (Outbound Messages omit null fields, so merging with
 * older values would keep values that were cleared). A delete keeps the last fields, marked deleted.
 */
export const mirrorHandler = defineHandler({
  name: 'mirror',
  match: {},
  batchSize: 100,
  // The mirror keeps the newest state, forcehook's own write-backs included; it writes nothing back.
  suppressEchoes: false,
  async handle(events, ctx) {
    const newest = new Map<string, SalesforceEvent>();
    const skipped: string[] = [];
    for (const event of events) {
      const key = `${event.orgId}/${event.sobjectType}/${event.recordId}`;
      const current = newest.get(key);
      if (!current) {
        newest.set(key, event);
      } else if (isNewer(event, current)) {
        skipped.push(current.deliveryId);
        newest.set(key, event);
      } else {
        skipped.push(event.deliveryId);
      }
    }
    const writes: MirrorWrite[] = [...newest.values()].map((e) => ({
      orgId: e.orgId,
      sobjectType: e.sobjectType,
      recordId: e.recordId,
      fields: e.fields,
      modstamp: e.modstamp ?? null,
      deleted: e.operation === 'delete' || e.fields['IsDeleted'] === true || e.fields['IsDeleted'] === 'true',
      deliveryId: e.deliveryId,
    }));
    const applied = await upsertRecords(ctx.db, writes);
    for (const w of writes) if (!applied.has(w.deliveryId)) skipped.push(w.deliveryId);
    if (skipped.length > 0) ctx.log.debug({ skipped: skipped.length }, 'stale updates skipped');
    return { skipped };
  },
});

/** Events arrive oldest first; without modstamps the later one wins. */
function isNewer(a: SalesforceEvent, b: SalesforceEvent): boolean {
  if (a.modstamp && b.modstamp) return a.modstamp >= b.modstamp;
  return true;
}
