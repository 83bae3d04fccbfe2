import type { Queryable } from './pool.js';

export interface ConnectionLimits {
  maxConnections: number;
  /** Kept for superusers; an application role cannot use them. */
  reserved: number;
  /** Connections open on the server right now, this process's own included. */
  inUse: number;
}

/** The server's connection limit and how much of it is taken, read once at start. */
export async function readConnectionLimits(db: Queryable): Promise<ConnectionLimits> {
  const { rows } = await db.query<{ max: number; reserved: number; in_use: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use`,
  );
  const r = rows[0]!;
  return { maxConnections: r.max, reserved: r.reserved, inUse: r.in_use };
}

/** What one process opens at most: its pool, and pg-boss's own pool (half as many, at least 2). */
export function connectionsPerProcess(poolMax: number): { app: number; queue: number; total: number } {
  const queue = Math.max(2, Math.ceil(poolMax / 2));
  return { app: poolMax, queue, total: poolMax + queue };
}

/**
 * One line saying what to lower when this process's pools cannot fit beside what is already open,
 * or undefined. `ownOpen` is what this process holds already (counted in `inUse`). A process that
 * cannot get a connection fails readiness and handlers: better to hear it at start.
 */
export function connectionWarning(limits: ConnectionLimits, poolMax: number, ownOpen: number): string | undefined {
  const need = connectionsPerProcess(poolMax);
  const usable = limits.maxConnections - limits.reserved;
  const free = usable - (limits.inUse - ownOpen);
  if (need.total <= free) return undefined;
  return (
    `database connections: this process may open ${need.total} (DATABASE_POOL_MAX=${poolMax} + ${need.queue} for pg-boss), ` +
    `but only ${Math.max(0, free)} of max_connections=${limits.maxConnections} (${limits.reserved} reserved, ${limits.inUse - ownOpen} used by others) are free: ` +
    `lower DATABASE_POOL_MAX so that processes x (DATABASE_POOL_MAX x 1.5) fits in max_connections - ${limits.reserved}`
  );
}
