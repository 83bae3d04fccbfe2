import type { Connection } from '@jsforce/jsforce-node';
import type { Queryable } from '../db/pool.js';
import { definePushMapping, type PushMapping } from './define-mapping.js';
import { pushRecords, type PushResult } from './push.js';

interface AppUser {
  id: string;
  email: string;
  name: string | null;
}

/**
 * The example mapping: the users of your app (forcehook.app_users) as Contacts, upserted by
 * External_Id__c = the user's id — the other direction of the contact-match handler.
 */
export const appUsersMapping = definePushMapping<AppUser>({
  name: 'app-users',
  sobjectType: 'Contact',
  externalIdField: 'External_Id__c',
  async load(db, ids) {
    const { rows } = await db.query<AppUser>('SELECT id, email, name FROM forcehook.app_users WHERE $1::text[] IS NULL OR id = ANY($1) ORDER BY id', [ids ?? null]);
    return rows;
  },
  localId: (u) => u.id,
  fields: (u) => ({ Email: u.email, LastName: u.name ?? u.email, Sync_Status__c: 'Matched' }),
  async afterUpsert(db, u, salesforceId) {
    await db.query('UPDATE forcehook.app_users SET salesforce_contact_id = $2, updated_at = now() WHERE id = $1 AND salesforce_contact_id IS DISTINCT FROM $2', [u.id, salesforceId]);
  },
});

/** A mapping with its row type closed over, so mappings of different rows share one list. */
export interface RegisteredPush {
  name: string;
  sobjectType: string;
  dependsOn: readonly string[];
  run(deps: { db: Queryable; connection: () => Promise<Connection> }, options?: { ids?: readonly string[]; onProgress?: (done: number, total: number) => void }): Promise<PushResult>;
}

export function registerPush<Row>(mapping: PushMapping<Row>): RegisteredPush {
  return { name: mapping.name, sobjectType: mapping.sobjectType, dependsOn: mapping.dependsOn ?? [], run: (deps, options) => pushRecords(deps, mapping, options) };
}

/**
 * The mapping and, before it, every mapping it depends on (depth first, each once). Throws on an
 * unknown name or a cycle.
 */
export function pushOrder(registry: readonly RegisteredPush[], name: string): RegisteredPush[] {
  const order: RegisteredPush[] = [];
  const visiting = new Set<string>();
  const visit = (n: string, path: string[]): void => {
    if (order.some((m) => m.name === n)) return;
    if (visiting.has(n)) throw new Error(`push mappings depend on each other in a circle: ${[...path, n].join(' -> ')}`);
    const mapping = registry.find((m) => m.name === n);
    if (!mapping) throw new Error(`No push mapping ${n}; known: ${registry.map((m) => m.name).join(', ')} (src/push/index.ts).`);
    visiting.add(n);
    for (const dep of mapping.dependsOn) visit(dep, [...path, n]);
    visiting.delete(n);
    order.push(mapping);
  };
  visit(name, []);
  return order;
}

/** The push mappings `forcehook push <name>` knows: add yours here. */
export const pushMappings: readonly RegisteredPush[] = [registerPush(appUsersMapping)];
