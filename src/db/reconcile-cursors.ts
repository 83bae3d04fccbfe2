import type { Queryable } from './pool.js';

export interface ReconcileCursor {
  modstamp: string;
  id: string;
}

export async function readCursor(db: Queryable, sobjectType: string): Promise<ReconcileCursor | undefined> {
  const { rows } = await db.query<{ last_modstamp: Date; last_id: string }>('SELECT last_modstamp, last_id FROM forcehook.reconcile_cursors WHERE sobject_type = $1', [sobjectType]);
  const row = rows[0];
  return row ? { modstamp: row.last_modstamp.toISOString(), id: row.last_id } : undefined;
}

export async function saveCursor(db: Queryable, sobjectType: string, cursor: ReconcileCursor): Promise<void> {
  await db.query(
    `INSERT INTO forcehook.reconcile_cursors (sobject_type, last_modstamp, last_id) VALUES ($1, $2, $3)
     ON CONFLICT (sobject_type) DO UPDATE SET last_modstamp = excluded.last_modstamp, last_id = excluded.last_id, updated_at = now()`,
    [sobjectType, cursor.modstamp, cursor.id],
  );
}
