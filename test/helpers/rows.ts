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
  // Each handler's outcome lives in forcehook.outcomes: shown here as { queue: outcome }.
  // The status as every reader sees it: a row stays 'received' on disk once its handlers are done.
  const { rows } = await pool.query<InboxRow & { event_status: string }>(
    `SELECT i.*, forcehook.event_status(i.id, i.status, i.handlers) AS event_status,
            COALESCE((SELECT jsonb_object_agg(o.handler, o.outcome) FROM forcehook.outcomes o WHERE o.inbox_id = i.id), '{}') AS outcomes
     FROM forcehook.inbox i ORDER BY i.id`,
  );
  return rows.map(({ event_status, ...row }) => ({ ...row, status: event_status }));
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

/** Jobs per handler queue, e.g. { 'forcehook.mirror': 2, 'forcehook.contact-match': 2 }. */
/** Events queued per handler queue: what the queue's jobs name, each event counted once per job. */
export async function jobsByQueue(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ name: string; n: string }>(
    "SELECT j.name, count(*) AS n FROM pgboss.job j, forcehook.job_inbox_ids(j.data) AS ids(id) WHERE j.name LIKE 'forcehook.%' GROUP BY j.name",
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
}
