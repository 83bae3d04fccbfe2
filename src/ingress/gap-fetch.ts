import type { Connection } from '@jsforce/jsforce-node';
import type { GapNotice } from '../events/change-event.js';
import { isSalesforceId } from '../events/salesforce-id.js';
import type { Ingest } from '../inbox/ingest.js';
import { isSObjectName } from '../events/salesforce-id.js';
import { queryRecordsById } from '../writeback/records-by-id.js';
import { selectableFields, toEvent, type ReconcileTarget } from './reconcile.js';

export interface GapFetchDeps {
  connection: () => Promise<Connection>;
  orgId: () => Promise<string>;
  ingest: Ingest;
}

/**
 * Reads the named records through the REST API and feeds them through ingest, as reconciliation
 * does, so the same handlers see their current state. One `Id IN (...)` query per 200 ids; queryAll,
 * so a record deleted in the gap comes back as a delete. The describe behind the field list is
 * cached on the connection: a gap costs one query, not a describe each time.
 */
async function fetchRecordsById(deps: GapFetchDeps, target: ReconcileTarget, ids: readonly string[]): Promise<number> {
  if (!isSObjectName(target.sobjectType)) throw new TypeError(`${target.sobjectType} is not an sObject API name`);
  if (!ids.some(isSalesforceId)) return 0;
  const conn = await deps.connection();
  const orgId = await deps.orgId();
  const fields = await selectableFields(conn, target.sobjectType, { cachedDescribe: true });
  const records = await queryRecordsById(conn, target.sobjectType, fields, ids, { includeDeleted: true });
  const receivedAt = new Date().toISOString();
  if (records.length > 0) await deps.ingest(records.map((r) => toEvent(r, target, orgId, receivedAt)));
  return records.length;
}

/**
 * What a CDC gap notice asks for: the records it names, read again; an overflow (GAP_OVERFLOW, no
 * record ids: too many changes in one transaction) reads the whole sObject through `reconcile`.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events_gap.htm
 */
export async function recoverGap(
  deps: GapFetchDeps & { reconcile: (sobjectType: string, flow: string) => Promise<void> },
  gap: GapNotice,
  flow: string,
): Promise<void> {
  if (gap.recordIds.length === 0) return deps.reconcile(gap.entityName, flow);
  await fetchRecordsById(deps, { sobjectType: gap.entityName, flow }, gap.recordIds);
}
