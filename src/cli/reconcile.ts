import { UsageError } from '../errors.js';
import { HandlerRegistry } from '../work/registry.js';
import { ensureHandlerQueues } from '../inbox/boss.js';
import { createIngest } from '../inbox/ingest.js';
import { reconcile } from '../ingress/reconcile.js';
import type { CliContext } from './connect.js';
import { withSalesforce } from './salesforce-session.js';

type Out = (text: string) => void;

/** `forcehook reconcile <sobject>`: pull what changed since the cursor (or --since) now, with progress. */
export async function reconcileCommand(ctx: CliContext, sobjectType: string, options: { flow?: string; since?: Date }, out: Out, progress: Out): Promise<void> {
  await withSalesforce(ctx, 'Reconciliation reads from Salesforce', async (connector, counter) => {
    const flow = options.flow ?? ctx.config.reconcile.targets.find((t) => t.sobjectType === sobjectType)?.flow;
    if (!flow) throw new UsageError(`Name the flow ${sobjectType} records belong to with --flow (or list ${sobjectType}=<flow> in RECONCILE).`);
    await ensureHandlerQueues(ctx.boss, ctx.handlers);
    const ingest = createIngest({ pool: ctx.pool, boss: ctx.boss, registry: new HandlerRegistry(ctx.handlers) });
    const result = await reconcile(
      { db: ctx.pool, connection: () => connector.connection(), orgId: () => connector.orgId(), ingest },
      { sobjectType, flow },
      { ...(options.since ? { since: options.since } : {}), onPage: (p) => progress(`\rpage ${p.pages}: ${p.records} records, ${p.accepted} new`) },
    );
    if (result.pages > 0) progress('\n');
    out(`reconciled ${sobjectType} into flow ${flow}: ${result.records} records, ${result.accepted} new, ${result.records - result.accepted} already seen; ${counter.count} API calls`);
  });
}
