import type { Queryable } from './pool.js';

export interface StoredSession {
  sessionId: string;
  partnerUrl: string;
}

/** Salesforce sessions last two hours at most by default: nothing older is worth keeping. */
const MAX_AGE = "interval '2 hours'";

/** Keeps an Outbound Message's session for the handlers that act as its sender, in one statement. */
export async function insertSessions(db: Queryable, rows: readonly { inboxId: number; handlers: readonly string[] }[], session: StoredSession): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO forcehook.sessions (inbox_id, session_id, partner_url, handlers)
     SELECT r.inbox_id, $2, $3, r.handlers FROM json_to_recordset($1::json) AS r(inbox_id bigint, handlers text[])
     ON CONFLICT (inbox_id) DO NOTHING`,
    [JSON.stringify(rows.map((r) => ({ inbox_id: r.inboxId, handlers: r.handlers }))), session.sessionId, session.partnerUrl],
  );
}

export async function loadSessions(db: Queryable, inboxIds: readonly number[]): Promise<Map<number, StoredSession>> {
  const { rows } = await db.query<{ inbox_id: string; session_id: string; partner_url: string }>(
    `SELECT inbox_id, session_id, partner_url FROM forcehook.sessions WHERE inbox_id = ANY($1::bigint[]) AND created_at > now() - ${MAX_AGE}`,
    [inboxIds],
  );
  return new Map(rows.map((r) => [Number(r.inbox_id), { sessionId: r.session_id, partnerUrl: r.partner_url }]));
}

/** A handler is done with these events' sessions; a session no handler needs any more is deleted. */
export async function releaseSessions(db: Queryable, queue: string, inboxIds: readonly number[]): Promise<void> {
  if (inboxIds.length === 0) return;
  await db.query(`DELETE FROM forcehook.sessions WHERE inbox_id = ANY($2::bigint[]) AND cardinality(array_remove(handlers, $1)) = 0`, [queue, inboxIds]);
  await db.query(`UPDATE forcehook.sessions SET handlers = array_remove(handlers, $1) WHERE inbox_id = ANY($2::bigint[]) AND $1 = ANY(handlers)`, [queue, inboxIds]);
  await db.query(`DELETE FROM forcehook.sessions WHERE created_at < now() - ${MAX_AGE}`);
}
