import type pg from 'pg';

export interface InboxRow {
  id: string;
  org_id: string;
  delivery_id: string;
  source: string;
  flow: string;
  sobject_type: string;
  record_id: string;
  operation: string;
  fields: Record<string, unknown>;
  modstamp: Date | null;
  status: string;
  attempts: number;
  last_error: string | null;
  outcomes: Record<string, string>;
}

export async function inboxRows(pool: pg.Pool): Promise<InboxRow[]> {
  const { rows } = await pool.query<InboxRow>('SELECT * FROM forcehook.inbox ORDER BY id');
  return rows;
}

export async function countRows(pool: pg.Pool, table: 'forcehook.inbox' | 'forcehook.records' | 'pgboss.job'): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

export interface RecordRow {
  org_id: string;
  sobject_type: string;
  record_id: string;
  fields: Record<string, unknown>;
  modstamp: Date | null;
  deleted: boolean;
  last_delivery_id: string;
}

export async function recordRows(pool: pg.Pool): Promise<RecordRow[]> {
  const { rows } = await pool.query<RecordRow>('SELECT * FROM forcehook.records ORDER BY sobject_type, record_id');
  return rows;
}
