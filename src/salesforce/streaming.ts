import type { Connection } from '@jsforce/jsforce-node';
import { StreamingExtension } from '@jsforce/jsforce-node/lib/api/streaming.js';
import type { Queryable } from '../db/pool.js';
import { readReplayId, saveReplayId } from '../db/replay-ids.js';
import { isGapNotice, streamEvents, type StreamMessage } from '../events/change-event.js';
import type { Logger } from '../log.js';
import type { Ingest } from '../queue/ingest.js';

export interface StreamChannel {
  /** `/data/ContactChangeEvent`, `/data/ChangeEvents`, `/event/Order_Placed__e` */
  channel: string;
  flow: string;
}

export interface StreamDeps {
  db: Queryable;
  connection: () => Promise<Connection>;
  orgId: () => Promise<string>;
  ingest: Ingest;
  log: Logger;
  /** Called when events may have been missed (replay id expired, gap notice): read the records instead. */
  reconcile: (sobjectType: string, flow: string) => Promise<void>;
}

/** Salesforce keeps streamed events for 72 hours; -1 asks for new events only. */
const NEW_EVENTS_ONLY = -1;

interface FayeClient {
  subscribe(channel: string, listener: (message: StreamMessage) => void): PromiseLike<unknown> & { cancel(): void };
  disconnect(): void;
}

/**
 * Subscribes to Change Data Capture and Platform Event channels (CometD, jsforce's replay
 * extension) and stores what arrives through the same ingest as pushed events, one channel's
 * messages in order. The replay id is saved after each committed message, and a restart resumes
 * from it, so an interrupted stream delivers every event once in effect. When the saved replay id
 * is too old for Salesforce, the stream restarts at new events and the sObject is reconciled.
 */
export class StreamSubscriber {
  private clients: FayeClient[] = [];
  private chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: StreamDeps,
    private readonly channels: readonly StreamChannel[],
  ) {}

  async start(): Promise<void> {
    for (const c of this.channels) await this.subscribe(c, (await readReplayId(this.deps.db, c.channel)) ?? NEW_EVENTS_ONLY);
  }

  /** Stops listening and waits for messages in hand to be stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const client of this.clients.splice(0)) client.disconnect();
    await Promise.all(this.chains.values());
  }

  private async subscribe(target: StreamChannel, replayId: number): Promise<void> {
    const conn = await this.deps.connection();
    const client = conn.streaming.createClient([new StreamingExtension.Replay(target.channel, replayId)]) as unknown as FayeClient;
    this.clients.push(client);
    try {
      await client.subscribe(target.channel, (message) => this.enqueue(target, message));
      this.deps.log.info({ channel: target.channel, replayId }, 'streaming subscribed');
    } catch (err) {
      client.disconnect();
      this.clients = this.clients.filter((c) => c !== client);
      const text = err instanceof Error ? err.message : String(err);
      if (replayId !== NEW_EVENTS_ONLY && /replay/i.test(text)) {
        // The events after our replay id are gone: take new ones, and read what we missed.
        this.deps.log.warn({ channel: target.channel, replayId }, 'stored replay id is no longer available; resubscribing at new events and reconciling');
        await this.subscribe(target, NEW_EVENTS_ONLY);
        const entity = entityOf(target.channel);
        if (entity) await this.deps.reconcile(entity, target.flow);
        else this.deps.log.warn({ channel: target.channel }, 'events on this channel cannot be read again; some were missed');
        return;
      }
      throw err;
    }
  }

  /** Messages of one channel are stored one after the other, so the saved replay id only moves forward. */
  private enqueue(target: StreamChannel, message: StreamMessage): void {
    const previous = this.chains.get(target.channel) ?? Promise.resolve();
    const next = previous.then(() => this.store(target, message)).catch((err: unknown) => {
      this.deps.log.error({ channel: target.channel, replayId: message.event?.replayId, err: err instanceof Error ? err.message : String(err) }, 'streamed event not stored; it is replayed after a restart');
    });
    this.chains.set(target.channel, next);
  }

  private async store(target: StreamChannel, message: StreamMessage): Promise<void> {
    if (this.stopped) return;
    const gap = isGapNotice(message);
    if (gap) await this.deps.reconcile(gap.entityName, target.flow);
    const events = streamEvents(target.channel, target.flow, await this.deps.orgId(), message, new Date());
    if (events.length > 0) await this.deps.ingest(events);
    const replayId = message.event?.replayId;
    // Only after the events are committed: a crash before this line replays them, deduplicated.
    if (typeof replayId === 'number') await saveReplayId(this.deps.db, target.channel, replayId);
  }
}

/**
 * `/data/ContactChangeEvent` -> Contact; `/data/Invoice__ChangeEvent` -> Invoice__c. Platform
 * Events and the all-entities `/data/ChangeEvents` name no sObject to read again: undefined.
 */
function entityOf(channel: string): string | undefined {
  const m = /^\/data\/(\w+?)ChangeEvent$/.exec(channel);
  if (!m?.[1]) return undefined;
  return m[1].endsWith('__') ? `${m[1]}c` : m[1];
}
