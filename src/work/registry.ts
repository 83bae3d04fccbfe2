import type { SalesforceEvent } from '../events/salesforce-event.js';
import { matches, type Handler } from './define-handler.js';

/** The handlers a deployment runs, and which of them each event goes to. */
export class HandlerRegistry {
  readonly handlers: readonly Handler[];
  private readonly byQueue: ReadonlyMap<string, Handler>;

  constructor(handlers: readonly Handler[]) {
    const byQueue = new Map<string, Handler>();
    for (const h of handlers) {
      if (byQueue.has(h.queue)) throw new TypeError(`two handlers are named "${h.name}"`);
      byQueue.set(h.queue, h);
    }
    this.handlers = handlers;
    this.byQueue = byQueue;
  }

  /** Queue names of the handlers that want this event. */
  route(event: SalesforceEvent): string[] {
    return this.handlers.filter((h) => matches(h.match, event)).map((h) => h.queue);
  }

  byQueueName(queue: string): Handler | undefined {
    return this.byQueue.get(queue);
  }
}
