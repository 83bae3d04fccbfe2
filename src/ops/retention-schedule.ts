import type { PgBoss } from 'pg-boss';
import type { Queryable } from '../db/pool.js';
import { sweepRetention } from '../db/retention.js';
import type { Logger } from '../log.js';

const QUEUE = 'forcehook.retention';

/** Sweeps old inbox rows and sent writes once a day (03:17 UTC), one worker at a time. */
export async function scheduleRetention(boss: PgBoss, deps: { db: Queryable; inboxDays: number; log: Logger }): Promise<void> {
  if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE, { policy: 'singleton', retryLimit: 2 });
  await boss.schedule(QUEUE, '17 3 * * *', {}, { singletonKey: 'retention' });
  await boss.work(QUEUE, { pollingIntervalSeconds: 60 }, async () => {
    const swept = await sweepRetention(deps.db, deps.inboxDays, 7);
    deps.log.info({ ...swept, inboxDays: deps.inboxDays }, 'retention sweep');
  });
}
