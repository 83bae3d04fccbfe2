import type { Connection } from '@jsforce/jsforce-node';
import { StreamingExtension } from '@jsforce/jsforce-node/lib/api/streaming.js';
import type { Queryable } from '../db/pool.js';
import { readReplayId, saveReplayId } from '../db/replay-ids.js';
import { isGapNotice, streamEvents, type StreamMessage } from '../events/change-event.js';
import type { Logger } from '../log.js';
import type { Ingest } from '../inbox/ingest.js';
import { recoverGap } from './gap-fetch.js';
import { describeError } from '../errors.js';

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
  /** Called when events may have been missed (replay id expired, gap overflow): read the sObject instead. */
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
  private clients = new Map<string, FayeClient>();
  private chains = new Map<string, Promise<void>>();
  /** Channels whose stream broke (an event could not be stored): later events wait for the replay. */
  private broken = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();
  /** Bumped per subscription: events of a replaced subscription are no longer stored. */
  private generation = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly deps: StreamDeps,
    private readonly channels: readonly StreamChannel[],
    /** Wait before subscribing again after a failure. */
    private readonly retryMs = 30_000,
  ) {}

  /**
   * Subscribes to every channel. A channel that cannot be subscribed now (Salesforce unreachable)
   * is retried in the background: a worker does not fail to start for it.
   */
  async start(): Promise<void> {
    for (const c of this.channels) await this.connect(c);
  }

  /** Stops listening and waits for messages in hand to be stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const client of this.clients.values()) client.disconnect();
    this.clients.clear();
    await Promise.all(this.chains.values());
  }

  /** One attempt from the saved replay id; on failure, another after retryMs. */
  private async connect(target: StreamChannel): Promise<void> {
    if (this.stopped) return;
    try {
      await this.subscribe(target, (await readReplayId(this.deps.db, target.channel)) ?? NEW_EVENTS_ONLY);
      this.broken.delete(target.channel);
    } catch (err) {
      this.deps.log.warn({ channel: target.channel, err: describeError(err), retryMs: this.retryMs }, 'streaming subscription failed; trying again');
      this.later(() => this.connect(target));
    }
  }

  private later(fn: () => Promise<void>): void {
    // After stop() nothing is tried again (a timer set now would only hold the process open).
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void fn();
    }, this.retryMs);
    this.timers.add(timer);
  }

  private async subscribe(target: StreamChannel, replayId: number): Promise<void> {
    const conn = await this.deps.connection();
    const client = conn.streaming.createClient([new StreamingExtension.Replay(target.channel, replayId)]) as unknown as FayeClient;
    const generation = (this.generation.get(target.channel) ?? 0) + 1;
    this.generation.set(target.channel, generation);
    try {
      await client.subscribe(target.channel, (message) => this.enqueue(target, generation, message));
      // stop() ran while this subscription was being made: it never saw this client.
      if (this.stopped) {
        client.disconnect();
        return;
      }
      this.clients.set(target.channel, client);
      this.deps.log.info({ channel: target.channel, replayId }, 'streaming subscribed');
    } catch (err) {
      client.disconnect();
      const text = describeError(err).message;
      if (replayId !== NEW_EVENTS_ONLY && /replay/i.test(text)) {
        // The events after our replay id are gone: take new ones, and read what we missed.
        this.deps.log.warn({ channel: target.channel, replayId }, 'stored replay id is no longer available; resubscribing at new events and reconciling');
        await this.subscribe(target, NEW_EVENTS_ONLY);
        if (this.stopped) return;
        const entity = entityOf(target.channel);
        if (entity) await this.deps.reconcile(entity, target.flow);
        else this.deps.log.warn({ channel: target.channel }, 'events on this channel cannot be read again; some were missed');
        return;
      }
      throw err;
    }
  }

  /** Messages of one channel are stored one after the other, so the saved replay id only moves forward. */
  private enqueue(target: StreamChannel, generation: number, message: StreamMessage): void {
    const previous = this.chains.get(target.channel) ?? Promise.resolve();
    const next = previous.then(() => this.store(target, generation, message)).catch((err: unknown) => {
      // Skipping this event would let the next one move the replay id past it: stop the channel
      // and subscribe again from the saved replay id, which replays this event and what follows.
      this.deps.log.error({ channel: target.channel, replayId: message.event?.replayId, err: describeError(err) }, 'streamed event not stored; replaying from the saved replay id');
      this.breakChannel(target);
    });
    this.chains.set(target.channel, next);
  }

  private breakChannel(target: StreamChannel): void {
    if (this.broken.has(target.channel)) return;
    this.broken.add(target.channel);
    this.clients.get(target.channel)?.disconnect();
    this.clients.delete(target.channel);
    this.later(() => this.connect(target));
  }

  private async store(target: StreamChannel, generation: number, message: StreamMessage): Promise<void> {
    // After a failure the events that follow are replayed by the new subscription, in order.
    if (this.stopped || this.broken.has(target.channel) || generation !== this.generation.get(target.channel)) return;
    const gap = isGapNotice(message);
    // The records the gap names are read again (one query); an overflow reconciles the sObject.
    if (gap) await recoverGap(this.deps, gap, target.flow);
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
export function entityOf(channel: string): string | undefined {
  const m = /^\/data\/(\w+?)ChangeEvent$/.exec(channel);
  if (!m?.[1]) return undefined;
  return m[1].endsWith('__') ? `${m[1]}c` : m[1];
}
