import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { saveResultError, type SaveResult } from '../writeback/salesforce-errors.js';
import { COLLECTION_SIZE, PLATFORM_EVENT_NAME } from '../writeback/writer.js';
import type { CliContext } from './connect.js';
import { withSalesforce } from './salesforce-session.js';

type Out = (text: string) => void;

export interface PublishResult {
  index: number;
  success: boolean;
  /** The EventUuid Salesforce enqueued the event under (OPERATION_ENQUEUED), when it says. */
  eventUuid?: string;
  error?: string;
}

/** `--json '{"Order_Id__c":"..."}'`, a JSON array of such objects, or `-` to read them from stdin. */
export function parseEventsArgument(text: string): Record<string, unknown>[] {
  const raw = text === '-' ? readFileSync(0, 'utf8') : text;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InputError('INVALID_MESSAGE', '--json: not JSON. Give an object of field values, an array of them, or - to read them from stdin.');
  }
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
    throw new InputError('INVALID_MESSAGE', '--json: each event must be an object of field name -> value, e.g. {"Order_Id__c":"A-1"}');
  }
  return list as Record<string, unknown>[];
}

/**
 * `forcehook publish <Event__e> --json ...`: publishes now, straight through sObject Collections
 * create (200 events a call), not through the outbox, so the operator sees each event's result.
 * The calls are counted in forcehook.api_calls like the others.
 */
export async function publishCommand(ctx: CliContext, eventType: string, events: Record<string, unknown>[], json: boolean, out: Out): Promise<boolean> {
  if (!PLATFORM_EVENT_NAME.test(eventType)) throw new InputError('INVALID_MESSAGE', `${eventType} is not a Platform Event: its API name ends in __e, such as Order_Approved__e.`);
  return withSalesforce(ctx, 'Publishing Platform Events', async (connector, counter) => {
    const results: PublishResult[] = [];
    const conn = await connector.connection();
    for (let i = 0; i < events.length; i += COLLECTION_SIZE) {
      const chunk = events.slice(i, i + COLLECTION_SIZE);
      const saved = (await conn.create(eventType, chunk, { allOrNone: false })) as unknown as SaveResult[];
      saved.forEach((r, j) => {
        const enqueued = r.errors?.find((e) => e.statusCode === 'OPERATION_ENQUEUED')?.message;
        results.push({
          index: i + j,
          success: r.success,
          ...(enqueued ? { eventUuid: enqueued } : {}),
          ...(!r.success ? { error: saveResultError(r).message } : {}),
        });
      });
    }
    const failed = results.filter((r) => !r.success).length;
    if (json) out(JSON.stringify({ eventType, published: results.length - failed, failed, apiCalls: counter.count, results }, null, 2));
    else {
      for (const r of results.filter((x) => !x.success)) out(`event ${r.index}: ${r.error ?? ''}`);
      out(`published ${results.length - failed} of ${results.length} ${eventType}; ${counter.count} API calls`);
    }
    return failed === 0;
  });
}
