import { ConfigError } from '../errors.js';
import type { Connection } from '@jsforce/jsforce-node';
import type { Queryable } from '../db/pool.js';
import type { PushMapping } from './define-mapping.js';
import { pushRecords, type PushResult } from './push.js';

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
    if (visiting.has(n)) throw new ConfigError(`push mappings depend on each other in a circle: ${[...path, n].join(' -> ')}`);
    const mapping = registry.find((m) => m.name === n);
    if (!mapping) throw new ConfigError(`No push mapping ${n}; known: ${registry.map((m) => m.name).join(', ')} (mappings/ at the package root).`);
    visiting.add(n);
    for (const dep of mapping.dependsOn) visit(dep, [...path, n]);
    visiting.delete(n);
    order.push(mapping);
  };
  visit(name, []);
  return order;
}
