import type { PgBoss } from 'pg-boss';
import type { Logger } from '../log.js';
import { reconcile, type ReconcileDeps, type ReconcileTarget } from './reconcile.js';

const QUEUE = 'forcehook.reconcile';

/**
 * Runs reconciliation of each target on a pg-boss cron schedule. The queue is a singleton per
 * sObject, so with several workers one run of an sObject happens at a time.
 */
export async function scheduleReconciliation(boss: PgBoss, config: { targets: readonly ReconcileTarget[]; cron: string }, deps: ReconcileDeps, log: Logger): Promise<void> {
  if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE, { policy: 'singleton', retryLimit: 3, retryDelay: 60, expireInSeconds: 3_600 });
  for (const target of config.targets) {
    await boss.schedule(QUEUE, config.cron, target, { key: target.sobjectType, singletonKey: target.sobjectType });
  }
  await boss.work<ReconcileTarget>(QUEUE, { batchSize: 1, pollingIntervalSeconds: 5 }, async ([job]) => {
    if (!job) return;
    const progress = await reconcile(deps, job.data);
    log.info({ sobjectType: job.data.sobjectType, records: progress.records, accepted: progress.accepted }, 'reconciled');
  });
  log.info({ targets: config.targets.map((t) => `${t.sobjectType}=${t.flow}`), cron: config.cron }, 'reconciliation scheduled');
}
