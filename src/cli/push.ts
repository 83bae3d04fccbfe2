import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { pushOrder } from '../writeback/push-order.js';
import { ApiCallCounter } from '../writeback/api-calls.js';
import { SalesforceConnector } from '../writeback/connection.js';
import { loadPushMappings } from '../user-code.js';
import type { CliContext } from './connect.js';

type Out = (text: string) => void;

/** `forcehook push <mapping> [--ids]`: upsert local rows into Salesforce now, with progress. */
export async function pushCommand(ctx: CliContext, name: string, ids: readonly string[] | undefined, out: Out, progress: Out): Promise<void> {
  if (!ctx.config.salesforce) throw new ConfigError('Pushing writes to Salesforce: set the SALESFORCE_* credentials (see README, Calling back into Salesforce).');
  const order = pushOrder(await loadPushMappings(process.env), name);
  const counter = new ApiCallCounter();
  const connector = new SalesforceConnector(ctx.config.salesforce, counter, createLogger('warn', process.stderr));
  for (const mapping of order) {
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
  await counter.flush(ctx.pool);
}
