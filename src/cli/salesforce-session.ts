import { ConfigError, describeError } from '../errors.js';
import { createLogger } from '../log.js';
import { ApiCallCounter } from '../writeback/api-calls.js';
import { SalesforceConnector } from '../writeback/connection.js';
import type { CliContext } from './connect.js';

/**
 * Runs a command's work with a Salesforce connection from the SALESFORCE_* configuration, counting
 * its API calls, and adds them to forcehook.api_calls afterwards, also when the work fails.
 * `purpose` ("Pushing writes to Salesforce") starts the error when the credentials are missing.
 */
export async function withSalesforce<T>(
  ctx: Pick<CliContext, 'config' | 'pool'>,
  purpose: string,
  work: (connector: SalesforceConnector, counter: ApiCallCounter) => Promise<T>,
): Promise<T> {
  if (!ctx.config.salesforce) throw new ConfigError(`${purpose}: set the SALESFORCE_* credentials (see README, Calling back into Salesforce).`);
  const log = createLogger('warn', process.stderr);
  const counter = new ApiCallCounter();
  try {
    return await work(new SalesforceConnector(ctx.config.salesforce, counter, log), counter);
  } finally {
    await counter.flush(ctx.pool).catch((err: unknown) => log.warn({ err: describeError(err), calls: counter.count }, 'could not add the API calls to forcehook.api_calls'));
  }
}
