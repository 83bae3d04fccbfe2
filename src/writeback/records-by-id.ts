import type { Connection } from '@jsforce/jsforce-node';
import { isSalesforceId, isSObjectName, toId18 } from '../events/salesforce-id.js';

/**
 * Ids per query: 200 quoted 18-character ids keep the SOQL (sent in the URL of a GET) far under
 * Salesforce's 16,384-character URI limit even beside a long field list.
 */
export const IDS_PER_QUERY = 200;

/** A field or a parent's field (`Account.Name`): what SOQL accepts in a SELECT list. */
const FIELD_PATH = /^[A-Za-z][A-Za-z0-9_]{0,79}(?:\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$/;

/** A field or a parent's field as SOQL selects it; any other name cannot be a Salesforce field. */
export function isFieldPath(name: string): boolean {
  return FIELD_PATH.test(name);
}

/**
 * Reads records by id: one `Id IN (...)` query per 200 ids, so a batch of notifications costs one
 * API call. Names are checked before they reach the SOQL, ids are letters and digits only.
 */
export async function queryRecordsById(
  conn: Connection,
  sobjectType: string,
  fields: readonly string[],
  ids: readonly string[],
  options: { includeDeleted?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  if (!isSObjectName(sobjectType)) throw new TypeError(`${sobjectType} is not an sObject API name`);
  const bad = fields.find((f) => !isFieldPath(f));
  if (bad !== undefined) throw new TypeError(`${bad} is not a field name`);
  const select = [...new Set(['Id', ...fields])].join(', ');
  const wanted = [...new Set(ids.filter(isSalesforceId).map(toId18))];
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < wanted.length; i += IDS_PER_QUERY) {
    const list = wanted.slice(i, i + IDS_PER_QUERY).map((id) => `'${id}'`).join(', ');
    const result = await conn.query<Record<string, unknown>>(`SELECT ${select} FROM ${sobjectType} WHERE Id IN (${list})`, {
      scanAll: options.includeDeleted === true,
      autoFetch: true,
    });
    records.push(...result.records);
  }
  return records;
}
