import type { Connection } from '@jsforce/jsforce-node';
import type { GapNotice } from '../events/change-event.js';
import { isSalesforceId, toId18 } from '../events/salesforce-id.js';
import type { Ingest } from '../queue/ingest.js';
import { selectableFields, toEvent, type ReconcileTarget } from './reconcile.js';

export interface GapFetchDeps {
  connection: () => Promise<Connection>;
  orgId: () => Promise<string>;
  ingest: Ingest;
}

/**
 * Ids per query: 200 ids of 18 characters quoted keep the SOQL (sent in the URL of a GET) far under
 * Salesforce's 16,384-character URI limit even beside a long field list.
 * https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_soslsoql.htm
 */
export const IDS_PER_QUERY = 200;

const SOBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/**
 * Reads the named records through the REST API and feeds them through ingest, as reconciliation
 * does, so the same handlers see their current state. One `Id IN (...)` query per 200 ids; queryAll,
 * so a record deleted in the gap comes back as a delete. The describe behind the field list is
 * cached on the connection: a gap costs one query, not a describe each time.
 */
export async function fetchRecordsById(deps: GapFetchDeps, target: ReconcileTarget, ids: readonly string[]): Promise<number> {
  if (!SOBJECT_NAME.test(target.sobjectType)) throw new Error(`${target.sobjectType} is not an sObject API name`);
  const wanted = [...new Set(ids.filter(isSalesforceId).map(toId18))];
  if (wanted.length === 0) return 0;
  const conn = await deps.connection();
  const orgId = await deps.orgId();
  const fields = await selectableFields(conn, target.sobjectType, { cachedDescribe: true });
  let read = 0;
  for (let i = 0; i < wanted.length; i += IDS_PER_QUERY) {
    // Ids passed isSalesforceId (letters and digits only): nothing to escape in the IN list.
    const list = wanted.slice(i, i + IDS_PER_QUERY).map((id) => `'${id}'`).join(', ');
    const result = await conn.query<Record<string, unknown>>(`SELECT ${fields.join(', ')} FROM ${target.sobjectType} WHERE Id IN (${list})`, { scanAll: true, autoFetch: true });
    const receivedAt = new Date().toISOString();
    if (result.records.length > 0) await deps.ingest(result.records.map((r) => toEvent(r, target, orgId, receivedAt)));
    read += result.records.length;
  }
  return read;
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
