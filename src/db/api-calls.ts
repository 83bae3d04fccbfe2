import type { Queryable } from './pool.js';

/** Adds calls to today's (UTC) row of forcehook.api_calls. */
export async function addApiCalls(db: Queryable, calls: number): Promise<void> {
  await db.query(
    `INSERT INTO forcehook.api_calls (day, calls) VALUES ((now() AT TIME ZONE 'utc')::date, $1)
     ON CONFLICT (day) DO UPDATE SET calls = forcehook.api_calls.calls + excluded.calls`,
    [calls],
  );
}
