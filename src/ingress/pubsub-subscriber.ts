import type { Connection } from '@jsforce/jsforce-node';
import PubSubApiClient, { type Logger as ClientLogger, type SubscriptionInfo } from 'salesforce-pubsub-api-client';
import { z } from 'zod';
import { readReplayId, saveReplayId } from '../db/replay-ids.js';
import { isGapNotice, streamEvents } from '../events/change-event.js';
import { recoverGap } from './gap-fetch.js';
import { classifyPubSubFailure, describePubSubFailure } from './pubsub-errors.js';
import { entityOf, type StreamChannel, type StreamDeps } from './streaming.js';
import { describeError } from '../errors.js';

/** What the Pub/Sub API needs to know who we are: the session forcehook already holds. */
export interface PubSubCredentials {
  accessToken: string;
  /** https://<domain>.my.salesforce.com */
  instanceUrl: string;
  organizationId: string;
}

export interface PubSubDeps extends StreamDeps {
  /** The connector's session; `renew` when the last one was refused, so it logs in again. */
  credentials: (renew: boolean) => Promise<PubSubCredentials>;
}

export interface PubSubOptions {
  /** host:port of the Pub/Sub API, api.pubsub.salesforce.com:7443 in production. */
  endpoint: string;
  /** Events asked for at a time (FetchRequest.numRequested, at most 100); more only once these are stored. */
  batchSize?: number;
  /**
   * Salesforce sends an event or a keepalive at least every 270 s while events are requested: with
   * nothing for this long the stream is presumed dead (a silent network), torn down, and subscribed
   * again from the stored replay id.
   */
  keepaliveTimeoutMs?: number;
  /** Wait before subscribing again after a failure. */
  retryMs?: number;
  /** Tests only: accept the self-signed certificate of a local stand-in (the client speaks TLS only). */
  rejectUnauthorizedSsl?: boolean;
}

/** The session forcehook's jsforce connector holds, renewed through it: no second login. */
export function connectorCredentials(connector: {
  connection(): Promise<Connection>;
  renew(): Promise<Connection>;
  orgId(): Promise<string>;
}): (renew: boolean) => Promise<PubSubCredentials> {
  return async (renew) => {
    const conn = renew ? await connector.renew() : await connector.connection();
    return { accessToken: conn.accessToken ?? '', instanceUrl: conn.instanceUrl, organizationId: await connector.orgId() };
  };
}

/** The replay ids of the two transports are not interchangeable: each has its own row. */
export const pubSubReplayKey = (channel: string): string => `pubsub:${channel}`;

/** An event as the client hands it over, Avro already decoded (CDC bitmaps turned into field names). */
const ClientEvent = z.object({
  replayId: z.number().int().nonnegative(),
  // avro-js decodes records into instances of generated classes, not plain objects.
  payload: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an event payload must be a record'),
});

interface Live {
  client: PubSubApiClient;
  generation: number;
  watchdog: NodeJS.Timeout | undefined;
  /** An event of this stream could not be stored: what it delivered after is not stored either. */
  broken: boolean;
  /** No longer ours: its messages are ignored. */
  closed: boolean;
  /** The gRPC stream reported its end (an error or end), so closing its client is safe. */
  ended: boolean;
}

/**
 * Subscribes to Change Data Capture and Platform Event channels through the Pub/Sub API (gRPC,
 * Avro), which Salesforce recommends over CometD. Events are stored through the same ingest as
 * pushed ones, in order, `batchSize` at a time: more are asked for (flow control) only once the last
 * batch is committed, and the replay id is saved only after its event is committed, so a restart
 * resumes from it (ReplayPreset CUSTOM) and at worst delivers an event twice, deduplicated.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/flow-control.html
 */
export class PubSubSubscriber {
  private readonly lives = new Map<string, Live>();
  /** Streams given up on (silent) that have not ended yet: closed once they do, or on stop(). */
  private readonly abandoned = new Set<Live>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly generations = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Channels whose next subscription renews the session first (it was refused). */
  private readonly renewNext = new Set<string>();
  /** Channels whose stored replay id Salesforce refused: the next subscription starts at new events. */
  private readonly latestNext = new Set<string>();
  private readonly batchSize: number;
  private readonly keepaliveTimeoutMs: number;
  private readonly retryMs: number;
  private readonly clientLog: ClientLogger;
  private stopped = false;

  constructor(
    private readonly deps: PubSubDeps,
    private readonly channels: readonly StreamChannel[],
    private readonly options: PubSubOptions,
  ) {
    this.batchSize = Math.min(100, Math.max(1, options.batchSize ?? 100));
    this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 330_000;
    this.retryMs = options.retryMs ?? 30_000;
    const log = deps.log.child({ component: 'pubsub-client' });
    // The client is chatty at info; its errors reach us through the callback and are logged there.
    this.clientLog = { debug: (...a: unknown[]) => log.debug(a.map(String).join(' ')), info: (...a: unknown[]) => log.debug(a.map(String).join(' ')), warn: (...a: unknown[]) => log.warn(a.map(String).join(' ')), error: (...a: unknown[]) => log.debug(a.map(String).join(' ')) };
  }

  /** Subscribes to every channel; one that cannot be subscribed now is retried in the background. */
  async start(): Promise<void> {
    for (const c of this.channels) await this.connect(c);
  }

  /** Stops listening and waits for events in hand to be stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const live of [...this.lives.values(), ...this.abandoned]) this.close(live, true);
    this.lives.clear();
    this.abandoned.clear();
    await Promise.all(this.chains.values());
  }

  private async connect(target: StreamChannel): Promise<void> {
    if (this.stopped) return;
    const channel = target.channel;
    const generation = (this.generations.get(channel) ?? 0) + 1;
    this.generations.set(channel, generation);
    // Events of the previous stream still being stored decide where this one starts.
    await this.chains.get(channel);
    if (this.stopped || generation !== this.generations.get(channel)) return;
    const renew = this.renewNext.delete(channel);
    try {
      const latest = this.latestNext.delete(channel);
      const stored = latest ? undefined : await readReplayId(this.deps.db, pubSubReplayKey(channel));
      const client = new PubSubApiClient(
        { authType: 'user-supplied', ...(await this.deps.credentials(renew)), pubSubEndpoint: this.options.endpoint, rejectUnauthorizedSsl: this.options.rejectUnauthorizedSsl ?? true },
        this.clientLog,
      );
      await client.connect();
      const live: Live = { client, generation, watchdog: undefined, broken: false, closed: false, ended: false };
      this.lives.set(channel, live);
      const callback = (_info: SubscriptionInfo, type: string, data?: unknown): void => this.onMessage(target, live, type, data, stored !== undefined, renew);
      if (stored === undefined) client.subscribe(channel, callback, this.batchSize);
      else client.subscribeFromReplayId(channel, callback, this.batchSize, stored);
      this.arm(target, live);
      this.deps.log.info({ channel, replayId: stored ?? 'LATEST', endpoint: this.options.endpoint }, 'pubsub subscribed');
      // Subscribed at new events where a replay id said where to resume: read what was missed, once
      // the subscription is in place. Either Salesforce refused the stored replay id, or CometD was
      // used before (its replay id means nothing here).
      const switched = stored === undefined && !latest && (await readReplayId(this.deps.db, channel)) !== undefined;
      if (switched) this.deps.log.info({ channel }, 'switching from CometD: starting at new events and reconciling once');
      if (latest || switched) this.enqueue(target, live, () => this.reconcileChannel(target));
    } catch (err) {
      this.deps.log.warn({ channel, err: describePubSubFailure(err), retryMs: this.retryMs }, 'pubsub subscription failed; trying again');
      if (renew) this.renewNext.add(channel);
      this.later(() => this.connect(target), this.retryMs);
    }
  }

  private onMessage(target: StreamChannel, live: Live, type: string, data: unknown, fromStored: boolean, renewed: boolean): void {
    if (live.closed) {
      // An abandoned stream has ended at last: now its client can be closed safely.
      if (type === 'error' || type === 'end') this.closeClient(live);
      return;
    }
    if (this.stopped) return;
    switch (type) {
      case 'event':
        this.arm(target, live);
        this.enqueue(target, live, () => this.store(target, live, data));
        return;
      case 'lastEvent':
        // The batch is in: no keepalives are owed until more are asked for, after it is stored.
        this.disarm(live);
        this.enqueue(target, live, async () => {
          if (live.closed || live.broken) return;
          live.client.requestAdditionalEvents(target.channel, this.batchSize);
          this.arm(target, live);
        });
        return;
      case 'grpcKeepAlive':
        this.arm(target, live);
        return;
      case 'error':
        live.ended = true;
        return this.failed(target, live, data, fromStored, renewed);
      case 'end':
        live.ended = true;
        this.deps.log.warn({ channel: target.channel }, 'pubsub stream ended; subscribing again');
        return this.restart(target, live, this.retryMs);
      default:
        return;
    }
  }

  private failed(target: StreamChannel, live: Live, err: unknown, fromStored: boolean, renewed: boolean): void {
    const kind = classifyPubSubFailure(err);
    const log = { channel: target.channel, err: describePubSubFailure(err) };
    if (kind === 'auth') {
      this.deps.log.warn(log, 'pubsub refused the session; renewing it and subscribing again');
      this.renewNext.add(target.channel);
      // A session refused right after renewal is not fixed by renewing at once again.
      return this.restart(target, live, renewed ? this.retryMs : 0);
    }
    if (kind === 'replay' && fromStored) {
      // As with CometD: take new events, and read what was missed instead.
      this.deps.log.warn(log, 'stored replay id is no longer available; subscribing at new events and reconciling');
      this.latestNext.add(target.channel);
      return this.restart(target, live, 0);
    }
    this.deps.log.warn({ ...log, retryMs: this.retryMs }, kind === 'undecodable' ? 'pubsub event could not be decoded; replaying from the stored replay id' : 'pubsub stream failed; subscribing again');
    this.restart(target, live, this.retryMs);
  }

  private async reconcileChannel(target: StreamChannel): Promise<void> {
    const entity = entityOf(target.channel);
    if (entity) await this.deps.reconcile(entity, target.flow);
    else this.deps.log.warn({ channel: target.channel }, 'events on this channel cannot be read again; some were missed');
  }

  /** Events of one channel are stored one after the other, so the saved replay id only moves forward. */
  private enqueue(target: StreamChannel, live: Live, step: () => Promise<void>): void {
    const previous = this.chains.get(target.channel) ?? Promise.resolve();
    const next = previous.then(step).catch((err: unknown) => {
      if (live.broken) return;
      // Skipping this event would let the next one move the replay id past it: replay instead.
      live.broken = true;
      this.deps.log.error({ channel: target.channel, err: describeError(err) }, 'pubsub event not stored; replaying from the stored replay id');
      this.restart(target, live, this.retryMs);
    });
    this.chains.set(target.channel, next);
  }

  private async store(target: StreamChannel, live: Live, data: unknown): Promise<void> {
    if (this.stopped || live.broken) return;
    const event = ClientEvent.parse(data);
    const message = { event: { replayId: event.replayId }, payload: event.payload };
    const gap = isGapNotice(message);
    // The records the gap names are read again (one query); an overflow reconciles the sObject.
    if (gap) await recoverGap(this.deps, gap, target.flow);
    const events = streamEvents(target.channel, target.flow, await this.deps.orgId(), message, new Date(), 'pubsub');
    if (events.length > 0) await this.deps.ingest(events);
    // Only after the events are committed: a crash before this line replays them, deduplicated.
    await saveReplayId(this.deps.db, pubSubReplayKey(target.channel), event.replayId);
  }

  /** The keepalive watchdog: restarted by every event and keepalive. */
  private arm(target: StreamChannel, live: Live): void {
    this.disarm(live);
    if (live.closed) return;
    live.watchdog = setTimeout(() => {
      this.deps.log.warn({ channel: target.channel, silentMs: this.keepaliveTimeoutMs }, 'no pubsub event or keepalive in time; subscribing again from the stored replay id');
      this.restart(target, live, 0);
    }, this.keepaliveTimeoutMs);
  }

  private disarm(live: Live): void {
    if (live.watchdog) clearTimeout(live.watchdog);
    live.watchdog = undefined;
  }

  /** Closes this stream (once) and subscribes again after `delayMs`. */
  private restart(target: StreamChannel, live: Live, delayMs: number): void {
    if (live.closed) return;
    this.close(live);
    if (!live.ended) this.abandoned.add(live);
    if (this.lives.get(target.channel) === live) this.lives.delete(target.channel);
    this.later(() => this.connect(target), delayMs);
  }

  /**
   * Stops listening to a stream. The client's close() removes the stream's listeners but does not
   * cancel the call (grpc-js closes the channel only), so a stream still open would later emit its
   * error with no listener and crash the process: such a stream is abandoned instead, and its client
   * closed when the stream reports its end. On stop() everything is closed: the process is leaving.
   */
  private close(live: Live, force = false): void {
    live.closed = true;
    this.disarm(live);
    if (live.ended || force) this.closeClient(live);
  }

  private closeClient(live: Live): void {
    live.ended = true;
    this.abandoned.delete(live);
    try {
      live.client.close();
    } catch (err) {
      this.deps.log.debug({ err: String(err) }, 'pubsub client close failed');
    }
  }

  private later(fn: () => Promise<void>, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void fn();
    }, delayMs);
    this.timers.add(timer);
  }
}
