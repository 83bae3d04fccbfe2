import { UsageError } from '../errors.js';
import { isSalesforceId } from '../events/salesforce-id.js';
import { listDeadLetters, purgeDeadLetters, readEvents, readStatus, replayEvent, retryDeadLetter, type EventFilter } from '../ops/reports.js';
import { handlerOf } from '../work/define-handler.js';
import type { CliContext } from './connect.js';
import { table } from './table.js';

type Out = (text: string) => void;

/** `forcehook status`: queue depths, failures, API calls today, the last event of each flow. */
export async function statusCommand(ctx: CliContext, json: boolean, out: Out): Promise<void> {
  const report = await readStatus({ db: ctx.pool, handlers: ctx.handlers });
  const handlers = report.handlers;
  if (json) return out(JSON.stringify(report, null, 2));
  out(table(['handler', 'ready', 'active', 'retrying later', 'dead letters'], handlers.map((h) => [h.handler, h.ready, h.active, h.deferred, h.deadLetters])));
  out('');
  out(`Salesforce writes: ${report.salesforceWrites.pending} waiting, ${report.salesforceWrites.dead} dead; API calls today: ${report.apiCallsToday}`);
  out('');
  out(report.flows.length ? table(['flow', 'events', 'failed', 'last event'], report.flows.map((f) => [f.flow, f.events, f.failed, f.lastEventAt])) : 'No events yet.');
}

/** `forcehook events`: the inbox, newest first, with what happened to each event. */
export async function eventsCommand(ctx: CliContext, filter: EventFilter, json: boolean, out: Out): Promise<void> {
  if (filter.recordId && !isSalesforceId(filter.recordId)) throw new UsageError(`--record ${filter.recordId} is not a 15- or 18-character Salesforce id`);
  const events = await readEvents(ctx.pool, filter);
  if (json) return out(JSON.stringify(events, null, 2));
  if (events.length === 0) return out('No events match.');
  out(
    table(
      ['received', 'flow', 'record', 'operation', 'status', 'handlers', 'delivery id', 'error'],
      events.map((e) => [e.receivedAt, e.flow, `${e.sobjectType} ${e.recordId}`, e.operation, e.status, outcomesText(e.outcomes), e.deliveryId, e.lastError]),
    ),
  );
}

export async function deadLetterList(ctx: CliContext, json: boolean, out: Out): Promise<void> {
  const letters = await listDeadLetters(ctx.boss, ctx.pool, ctx.handlers);
  if (json) return out(JSON.stringify(letters, null, 2));
  if (letters.length === 0) return out('No dead letters.');
  out(table(['id', 'kind', 'handler', 'subject', 'dead since', 'error'], letters.map((l) => [l.id, l.kind, l.handler, l.subject, l.deadSince, l.error]), 80));
}

/** Retries one dead letter, or all of them with a running count. */
export async function deadLetterRetry(ctx: CliContext, id: string | undefined, all: boolean, out: Out, progress: Out): Promise<number> {
  const ids = all ? (await listDeadLetters(ctx.boss, ctx.pool, ctx.handlers)).map((l) => l.id) : id ? [id] : [];
  if (ids.length === 0) throw new UsageError(all ? 'No dead letters to retry.' : 'Name a dead letter id (see `forcehook dead-letter list`) or pass --all.');
  let retried = 0;
  for (const [i, letter] of ids.entries()) {
    if (await retryDeadLetter(ctx.boss, ctx.pool, ctx.handlers, letter)) retried++;
    else if (!all) throw new UsageError(`No dead letter ${letter}: see \`forcehook dead-letter list\`.`);
    if (all) progress(`\rretrying ${i + 1}/${ids.length}`);
  }
  if (all) progress('\n');
  out(`retried ${retried}`);
  return retried;
}

export async function deadLetterPurge(ctx: CliContext, out: Out): Promise<void> {
  out(`purged ${await purgeDeadLetters(ctx.boss, ctx.pool, ctx.handlers)}`);
}

export async function replayCommand(ctx: CliContext, deliveryId: string, out: Out): Promise<void> {
  const sent = await replayEvent(ctx.boss, ctx.pool, ctx.handlers, deliveryId);
  if (sent === 0) throw new UsageError(`No event with delivery id ${deliveryId} (see \`forcehook events\`).`);
  out(`replayed ${deliveryId} to ${sent} handler${sent === 1 ? '' : 's'}`);
}

function outcomesText(outcomes: Record<string, string>): string {
  return Object.entries(outcomes)
    .map(([queue, outcome]) => `${handlerOf(queue)}:${outcome}`)
    .join(' ');
}
