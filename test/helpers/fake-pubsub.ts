import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

/**
 * A local stand-in for the Salesforce Pub/Sub API (api.pubsub.salesforce.com:7443): the real
 * pubsub_api.proto bundled with salesforce-pubsub-api-client, served over TLS with a throwaway
 * self-signed certificate made at start (the client always speaks TLS; its key never leaves a temp
 * folder). GetTopic and GetSchema serve a real-looking ContactChangeEvent Avro schema; Subscribe is
 * pull-based like Salesforce's: events go out only against numRequested, keepalives (an empty
 * FetchResponse with the latest replay id) when there is nothing to send.
 */

/** What the test sees of the avro-js module (untyped). */
interface AvroType {
  toBuffer(value: unknown): Buffer;
}
const avro = createRequire(import.meta.url)('avro-js') as { parse(schema: unknown): AvroType };

const PROTO = join(process.cwd(), 'node_modules/salesforce-pubsub-api-client/pubsub_api.proto');

type AvroField = { name: string; type: unknown; default?: unknown; doc?: string };
const opt = (type: unknown): unknown => ['null', type];
const HEADER = {
  type: 'record',
  name: 'ChangeEventHeader',
  namespace: 'com.sforce.eventbus',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    {
      name: 'changeType',
      type: { type: 'enum', name: 'ChangeType', namespace: 'com.sforce.eventbus', symbols: ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW', 'SNAPSHOT'] },
    },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};
const PERSON_NAME = {
  type: 'record',
  name: 'Switchable_PersonName',
  namespace: 'com.sforce.eventbus',
  fields: ['Salutation', 'FirstName', 'LastName', 'MiddleName', 'Suffix'].map((name) => ({ name, type: opt('string'), default: null })),
};
/** Shaped like the schema Salesforce serves for /data/ContactChangeEvent (a subset of its fields). */
const CONTACT_CHANGE_EVENT = {
  type: 'record',
  name: 'ContactChangeEvent',
  namespace: 'com.sforce.eventbus',
  fields: [
    { name: 'ChangeEventHeader', type: HEADER, doc: 'Data:ComplexValueType' },
    { name: 'AccountId', type: opt('string'), default: null },
    { name: 'Name', type: opt(PERSON_NAME), default: null },
    { name: 'Email', type: opt('string'), default: null },
    { name: 'Phone', type: opt('string'), default: null },
    { name: 'Title', type: opt('string'), default: null },
    { name: 'Department', type: opt('string'), default: null },
    { name: 'HasOptedOutOfEmail', type: opt('boolean'), default: null },
    { name: 'CreatedDate', type: opt('long'), default: null },
    { name: 'LastModifiedDate', type: opt('long'), default: null },
    { name: 'LastModifiedById', type: opt('string'), default: null },
  ] as AvroField[],
};

/** Avro unions travel as `{branch: value}`: wraps plain values (null, text, nested records) to match the schema. */
function wrap(type: unknown, value: unknown): unknown {
  if (Array.isArray(type)) {
    if (value === null || value === undefined) return null;
    const branch = type.find((t) => t !== 'null');
    const name = typeof branch === 'string' ? branch : `${(branch as { namespace: string }).namespace}.${(branch as { name: string }).name}`;
    return { [name]: wrap(branch, value) };
  }
  if (typeof type === 'object' && type !== null && (type as { type: string }).type === 'record') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries((type as { fields: AvroField[] }).fields.map((f) => [f.name, wrap(f.type, record[f.name] ?? null)]));
  }
  return value;
}

/** CDC field bitmaps: bit i names field i; a compound field's parts travel as `<parent index>-<bitmap>`. */
function bitmaps(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const hex = (bits: bigint): string => `0x${bits.toString(16).toUpperCase()}`;
  const top = CONTACT_CHANGE_EVENT.fields;
  let bits = 0n;
  const nested = new Map<number, bigint>();
  for (const name of names) {
    const [parent, child] = name.split('.');
    const i = top.findIndex((f) => f.name === parent);
    if (i < 0) throw new Error(`no field ${name} in the fake ContactChangeEvent schema`);
    if (!child) bits |= 1n << BigInt(i);
    else {
      const j = PERSON_NAME.fields.findIndex((f) => f.name === child);
      nested.set(i, (nested.get(i) ?? 0n) | (1n << BigInt(j)));
    }
  }
  return [hex(bits), ...[...nested].map(([i, b]) => `${i}-${hex(b)}`)];
}

export interface ContactChange {
  changeType: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE' | 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE' | 'GAP_OVERFLOW';
  recordIds: string[];
  /** Values of the changed fields; `Name` is `{FirstName, LastName, ...}`. Every other field travels as null. */
  fields?: Record<string, unknown>;
  changedFields?: string[];
  nulledFields?: string[];
  commitTimestamp?: number;
  commitUser?: string;
}

interface Stored {
  topic: string;
  replayId: number;
  schemaId: string;
  payload: Buffer;
}

interface Stream {
  call: grpc.ServerDuplexStream<FetchRequest, unknown>;
  topic: string;
  /** Replay id of the last event sent on this stream. */
  position: number;
  pending: number;
  silent: boolean;
  keepalive: NodeJS.Timeout;
}

interface FetchRequest {
  topicName: string;
  replayPreset: 'LATEST' | 'EARLIEST' | 'CUSTOM';
  replayId: Buffer;
  numRequested: number;
}

export interface SubscribeSeen {
  topic: string;
  replayPreset: FetchRequest['replayPreset'];
  replayId: number | undefined;
  numRequested: number;
}

const SCHEMA_ID = 'ContactChangeEvent-schema-1';
const encodeReplayId = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const decodeReplayId = (b: Buffer): number | undefined => (b.length === 8 ? Number(b.readBigUInt64BE()) : undefined);

export class FakePubSub {
  /** Every first FetchRequest (one per Subscribe stream), in order. */
  readonly subscribes: SubscribeSeen[] = [];
  /** numRequested of every later FetchRequest (asking for more on an open stream). */
  readonly moreRequested: number[] = [];
  endpoint = '';
  private server: grpc.Server | undefined;
  private dir: string | undefined;
  private readonly log: Stored[] = [];
  /** Every stream opened, silent ones included, until it ends. */
  private readonly streams = new Set<Stream>();
  private readonly type = avro.parse(CONTACT_CHANGE_EVENT);
  private lastReplayId = 1_000;
  private retainedFrom = 0;
  private readonly tokens: (token: string) => boolean;
  private readonly keepaliveMs: number;

  constructor(options: { acceptsToken: (token: string) => boolean; keepaliveMs?: number }) {
    this.tokens = options.acceptsToken;
    this.keepaliveMs = options.keepaliveMs ?? 200;
  }

  async start(): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'fake-pubsub-'));
    const key = join(this.dir, 'key.pem');
    const cert = join(this.dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const definition = protoLoader.loadSync(PROTO, { enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { eventbus: { v1: { PubSub: { service: grpc.ServiceDefinition } } } };
    this.server = new grpc.Server();
    this.server.addService(pkg.eventbus.v1.PubSub.service, {
      GetTopic: (call: grpc.ServerUnaryCall<{ topicName: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (!this.authorized(call.metadata)) return callback(authError());
        callback(null, { topicName: call.request.topicName, schemaId: SCHEMA_ID, canSubscribe: true, canPublish: false, rpcId: 'rpc' });
      },
      GetSchema: (call: grpc.ServerUnaryCall<{ schemaId: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (!this.authorized(call.metadata)) return callback(authError());
        if (call.request.schemaId !== SCHEMA_ID) return callback({ code: grpc.status.NOT_FOUND, details: 'no such schema' });
        callback(null, { schemaId: SCHEMA_ID, schemaJson: JSON.stringify(CONTACT_CHANGE_EVENT), rpcId: 'rpc' });
      },
      Subscribe: (call: grpc.ServerDuplexStream<FetchRequest, unknown>) => this.subscribe(call),
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(key), cert_chain: readFileSync(cert) }], false);
    const port = await new Promise<number>((resolve, reject) => this.server!.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
    rmSync(this.dir, { recursive: true, force: true });
    this.endpoint = `localhost:${port}`;
    return this;
  }

  /** Ends every stream (status OK, as a server going away politely), then shuts down. */
  async stop(): Promise<void> {
    for (const s of this.streams) {
      clearInterval(s.keepalive);
      s.call.end();
    }
    this.streams.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.tryShutdown(() => resolve()) : resolve()));
  }

  /** Publishes a Contact change event; returns its replay id. */
  publish(change: ContactChange): number {
    const changed = change.changedFields ?? (change.changeType === 'UPDATE' ? Object.keys(change.fields ?? {}) : []);
    const payload = {
      ChangeEventHeader: {
        entityName: 'Contact',
        recordIds: change.recordIds,
        changeType: change.changeType,
        changeOrigin: 'com/salesforce/api/rest/62.0',
        transactionKey: `tx-${this.lastReplayId}`,
        sequenceNumber: 1,
        commitTimestamp: change.commitTimestamp ?? Date.now(),
        commitNumber: this.lastReplayId,
        commitUser: change.commitUser ?? '0055g00000Usr01AAB',
        nulledFields: bitmaps(change.nulledFields ?? []),
        diffFields: [],
        changedFields: bitmaps(changed),
      },
      ...change.fields,
    };
    const wrapped = wrap(CONTACT_CHANGE_EVENT, payload) as Record<string, unknown>;
    // The header is not a union: its plain values stay as they are.
    wrapped['ChangeEventHeader'] = payload.ChangeEventHeader;
    const stored = { topic: '/data/ContactChangeEvent', replayId: ++this.lastReplayId, schemaId: SCHEMA_ID, payload: this.type.toBuffer(wrapped) };
    this.log.push(stored);
    for (const s of this.streams) this.deliver(s);
    return stored.replayId;
  }

  /** Forget events up to this replay id, as Salesforce does after 72 hours. */
  expireEventsThrough(replayId: number): void {
    this.retainedFrom = replayId + 1;
  }

  /** Every open stream stops sending anything, events and keepalives, without closing. */
  goSilent(): void {
    for (const s of this.streams) s.silent = true;
  }

  /** Streams the stand-in still considers open and live. */
  openStreams(): number {
    return [...this.streams].filter((s) => !s.silent).length;
  }

  private authorized(metadata: grpc.Metadata): boolean {
    const token = metadata.get('accesstoken')[0];
    return typeof token === 'string' && this.tokens(token) && metadata.get('tenantid').length === 1 && metadata.get('instanceurl').length === 1;
  }

  private subscribe(call: grpc.ServerDuplexStream<FetchRequest, unknown>): void {
    let stream: Stream | undefined;
    const close = (): void => {
      if (!stream) return;
      clearInterval(stream.keepalive);
      this.streams.delete(stream);
    };
    call.on('data', (req: FetchRequest) => {
      if (stream) {
        this.moreRequested.push(req.numRequested);
        stream.pending += req.numRequested;
        return this.deliver(stream);
      }
      const replayId = decodeReplayId(req.replayId);
      this.subscribes.push({ topic: req.topicName, replayPreset: req.replayPreset, replayId: req.replayPreset === 'CUSTOM' ? replayId : undefined, numRequested: req.numRequested });
      if (!this.authorized(call.metadata)) return call.emit('error', authError());
      let position = this.lastReplayId;
      if (req.replayPreset === 'EARLIEST') position = this.retainedFrom - 1;
      if (req.replayPreset === 'CUSTOM') {
        if (replayId === undefined || replayId + 1 < this.retainedFrom || replayId > this.lastReplayId) {
          const trailer = new grpc.Metadata();
          trailer.set('error-code', 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted');
          return call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'The Replay ID validation failed. rpcId: rpc', metadata: trailer });
        }
        position = replayId;
      }
      const s: Stream = { call, topic: req.topicName, position, pending: req.numRequested, silent: false, keepalive: setInterval(() => this.keepalive(s), this.keepaliveMs) };
      stream = s;
      this.streams.add(s);
      this.deliver(s);
    });
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('cancelled', close);
    call.on('error', close);
  }

  /** Sends what the stream asked for and what is there, in one FetchResponse. */
  private deliver(s: Stream): void {
    if (s.silent || s.pending <= 0) return;
    const events = this.log.filter((e) => e.topic === s.topic && e.replayId > s.position).slice(0, s.pending);
    if (events.length === 0) return;
    s.position = events.at(-1)!.replayId;
    s.pending -= events.length;
    s.call.write({
      events: events.map((e) => ({ event: { id: `evt-${e.replayId}`, schemaId: e.schemaId, payload: e.payload }, replayId: encodeReplayId(e.replayId) })),
      latestReplayId: encodeReplayId(s.position),
      rpcId: 'rpc',
      pendingNumRequested: s.pending,
    });
  }

  private keepalive(s: Stream): void {
    if (s.silent) return;
    s.call.write({ events: [], latestReplayId: encodeReplayId(this.lastReplayId), rpcId: 'rpc', pendingNumRequested: s.pending });
  }
}

function authError(): grpc.ServiceError {
  const trailer = new grpc.Metadata();
  trailer.set('error-code', 'sfdc.platform.eventbus.grpc.service.auth.error');
  return Object.assign(new Error('An error occurred while trying to authenticate'), { code: grpc.status.UNAUTHENTICATED, details: 'An error occurred while trying to authenticate. rpcId: rpc', metadata: trailer });
}
