import type { Queryable } from './pool.js';

export async function readReplayId(db: Queryable, channel: string): Promise<number | undefined> {
  const { rows } = await db.query<{ replay_id: string }>('SELECT replay_id FROM forcehook.replay_ids WHERE channel = $1', [channel]);
  return rows[0] ? Number(rows[0].replay_id) : undefined;
}

/** Never moves back: an event replayed again after a resubscribe does not rewind the stream. */
export async function saveReplayId(db: Queryable, channel: string, replayId: number): Promise<void> {
  await db.query(
    `INSERT INTO forcehook.replay_ids (channel, replay_id) VALUES ($1, $2)
     ON CONFLICT (channel) DO UPDATE SET replay_id = GREATEST(forcehook.replay_ids.replay_id, excluded.replay_id), updated_at = now()`,
    [channel, replayId],
  );
}
