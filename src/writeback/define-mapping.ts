import type { Queryable } from '../db/pool.js';

/**
 * How local rows become Salesforce records (what the SalesforceSync gem calls a resource):
 * `sobjectType` is its sf_type, `fields` its all_fields, `requireUpsert` its require_upsert?.
 */
export interface PushMapping<Row> {
  /** Names the mapping in `forcehook push <name>` and in forcehook.sync_map. */
  name: string;
  sobjectType: string;
  /** The external id field the upsert matches on; its value is the local id. */
  externalIdField: string;
  /** The local rows to push: all of them, or those with these ids. */
  load(db: Queryable, ids?: readonly string[]): Promise<Row[]>;
  localId(row: Row): string;
  /** The fields to send (the external id is added). */
  fields(row: Row): Record<string, unknown>;
  /**
   * Whether this row must be sent. Default: when it was never pushed, or its fields changed since
   * the last push — unchanged rows cost no API call.
   */
  requireUpsert?(row: Row, last: { fieldsHash: string; salesforceId: string } | undefined, fieldsHash: string): boolean;
  /**
   * Mappings to push first (the gem's dependent_resources): Accounts before the Contacts that look
   * them up, so the lookups resolve. Names of other mappings.
   */
  dependsOn?: readonly string[];
  /** After Salesforce accepted the row: e.g. store the Salesforce id on your own table. */
  afterUpsert?(db: Queryable, row: Row, salesforceId: string): Promise<void>;
}

/**
 * Marks what definePushMapping made, so the loader of mappings/ tells a mapping from any other
 * export. A registered symbol: the same whichever copy of forcehook's code made the mapping.
 */
export const PUSH_MAPPING = Symbol.for('forcehook.push-mapping');

export function definePushMapping<Row>(mapping: PushMapping<Row>): PushMapping<Row> {
  if (!/^[a-z][a-z0-9-]{0,47}$/.test(mapping.name)) throw new TypeError(`push mapping name "${mapping.name}" must be lower-case letters, digits and dashes`);
  return Object.defineProperty({ ...mapping }, PUSH_MAPPING, { value: true });
}

export function isPushMapping(value: unknown): value is PushMapping<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PUSH_MAPPING] === true;
}
