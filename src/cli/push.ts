import { pushOrder } from '../writeback/push-order.js';
import { loadPushMappings } from '../user-code.js';
import type { CliContext } from './connect.js';
import { withSalesforce } from './salesforce-session.js';

type Out = (text: string) => void;

/** `forcehook push <mapping> [--ids]`: upsert local rows into Salesforce now, with progress. */
export async function pushCommand(ctx: CliContext, name: string, ids: readonly string[] | undefined, out: Out, progress: Out): Promise<void> {
  await withSalesforce(ctx, 'Pushing writes to Salesforce', async (connector, counter) => {
    for (const mapping of pushOrder(await loadPushMappings(process.env), name)) {
      // --ids names rows of the mapping asked for; its dependencies push whatever changed.
      const only = mapping.name === name ? ids : undefined;
      const result = await mapping.run(
        { db: ctx.pool, connection: () => connector.connection() },
        { ...(only ? { ids: only } : {}), onProgress: (done, total) => progress(`\rpushed ${done}/${total}`) },
      );
      if (result.via === 'collections') progress('\n');
      out(`pushed ${mapping.name} to ${mapping.sobjectType}: ${result.upserted} upserted, ${result.unchanged} unchanged, ${result.failed.length} failed (${result.via}; ${counter.count} API calls so far)`);
      for (const f of result.failed.slice(0, 20)) out(`  ${f.localId}: ${f.error}`);
      if (result.failed.length > 0) process.exitCode = 1;
    }
  });
}
