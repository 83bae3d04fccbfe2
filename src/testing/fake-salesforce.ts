import { randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { toId18 } from '../events/salesforce-id.js';

/**
 * A small Salesforce for the tests: the REST endpoints forcehook uses (OAuth token, userinfo,
 * sObjects, sObject Collections, query), over real HTTP so jsforce talks to it as to an org, with
 * switches to answer each error forcehook must survive. It counts every request.
 */
/** The little of faye's Bayeux server (a jsforce dependency, untyped) the fake uses. */
interface BayeuxMessage {
  channel: string;
  subscription?: string;
  error?: string;
  ext?: Record<string, unknown>;
}
interface NodeAdapter {
  attach(server: Server): void;
  addExtension(extension: { incoming: (message: BayeuxMessage, callback: (message: BayeuxMessage) => void) => void }): void;
  getClient(): { publish(channel: string, data: unknown): unknown; disconnect(): unknown };
  close(): void;
}
const faye = createRequire(import.meta.url)('faye') as { NodeAdapter: new (options: { mount: string; timeout: number }) => NodeAdapter };

export interface FakeRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface RecordError {
  statusCode: string;
  message: string;
  fields?: string[];
}

interface FailRule {
  method?: string;
  pathIncludes?: string;
  status: number;
  body: unknown;
  times: number;
}

type Fields = Record<string, unknown>;

export class FakeSalesforce {
  readonly orgId = toId18('00D5g00000TESTa');
  /** The user forcehook calls Salesforce as. */
  readonly integrationUserId = toId18('0055g00000Int01');
  readonly requests: FakeRequest[] = [];
  readonly records = new Map<string, Map<string, Fields>>();
  /** Field names the org does not have: a query selecting one is refused with INVALID_FIELD, as Salesforce does. */
  readonly missingFields = new Set<string>();
  /** Set to verify JWT bearer assertions with this key. */
  jwtPublicKey: KeyObject | undefined;
  private readonly tokens = new Set<string>();
  private readonly refreshTokens = new Set<string>(['refresh-token-for-tests']);
  private readonly failRules: FailRule[] = [];
  private readonly recordErrors = new Map<string, { error: RecordError; times: number }>();
  private readonly eventErrors: { match: (fields: Fields) => boolean; error: RecordError; times: number }[] = [];
  /** Platform Events published through sObject Collections create, in the order they were accepted. */
  readonly publishedEvents: { type: string; fields: Fields; uuid: string }[] = [];
  private readonly bulkQueries = new Map<string, { soql: string; all: boolean }>();
  private readonly bulkJobs = new Map<string, { id: string; state: string; object: string; operation: string; externalIdFieldName: string; csv: string; results: string[][] }>();
  private server: Server | undefined;
  private bayeux: NodeAdapter | undefined;
  private lastReplayId = 0;
  private publishing: Promise<unknown> = Promise.resolve();
  private retainedFrom = 0;
  private readonly streamLog: { channel: string; replayId: number; message: unknown }[] = [];
  private readonly subscribeLog: { channel: string; replayId: number }[] = [];
  private nextId = 1;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.attachStreaming(this.server);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    // The server's own client (it publishes the events) polls the server until it says goodbye.
    this.bayeux?.getClient().disconnect();
    this.bayeux?.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** REST API calls (what counts against the org's daily limit); token requests excluded. */
  apiRequests(filter?: (r: FakeRequest) => boolean): FakeRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/services/data/') && (!filter || filter(r)));
  }

  collectionCalls(): FakeRequest[] {
    return this.apiRequests((r) => r.method === 'PATCH' && r.path.includes('/composite/sobjects'));
  }

  /** The next `times` matching requests get this answer instead. */
  failNext(rule: Omit<FailRule, 'times'> & { times?: number }): void {
    this.failRules.push({ times: 1, ...rule });
  }

  /** Writes to this record (id or external id value) fail with this per-record error. */
  failRecord(key: string, error: RecordError, times = Number.POSITIVE_INFINITY): void {
    this.recordErrors.set(key, { error, times });
  }

  /** Platform Events whose fields match fail with this per-event error (the others of the call succeed). */
  failEvent(match: (fields: Fields) => boolean, error: RecordError, times = Number.POSITIVE_INFINITY): void {
    this.eventErrors.push({ match, error, times });
  }

  /** sObject Collections create calls (POST /composite/sobjects): how Platform Events are published in bulk. */
  createCalls(): FakeRequest[] {
    return this.apiRequests((r) => r.method === 'POST' && /\/composite\/sobjects$/.test(r.path.split('?')[0]!));
  }

  /**
   * Streaming (CometD at /cometd/62.0, served by faye): publish a Change Data Capture or Platform
   * Event message; it gets the next replay id and is kept, so a subscriber that comes back with a
   * replay id gets what it missed. Replay ids before `retainedFrom` are "no longer available".
   */
  publish(channel: string, payload: Record<string, unknown>): number {
    const replayId = ++this.lastReplayId;
    const message = { schema: 'fake', payload, event: { replayId } };
    this.streamLog.push({ channel, replayId, message });
    // One after the other, as Salesforce delivers a channel's events in replay order.
    this.publishing = this.publishing.then(() => this.bayeux?.getClient().publish(channel, message));
    return replayId;
  }

  /** Forget events up to this replay id, as Salesforce does after 72 hours. */
  expireEventsThrough(replayId: number): void {
    this.retainedFrom = replayId + 1;
  }

  subscriptions(): { channel: string; replayId: number }[] {
    return [...this.subscribeLog];
  }

  private attachStreaming(server: Server): void {
    const bayeux = new faye.NodeAdapter({ mount: '/cometd/62.0', timeout: 5 });
    this.bayeux = bayeux;
    bayeux.addExtension({
      incoming: (message: BayeuxMessage, callback: (m: BayeuxMessage) => void) => {
        if (message.channel === '/meta/subscribe' && message.subscription) {
          const channel = message.subscription;
          const replay = (message.ext?.['replay'] as Record<string, number> | undefined)?.[channel] ?? -1;
          this.subscribeLog.push({ channel, replayId: replay });
          if (replay >= 0 && replay + 1 < this.retainedFrom) {
            message.error = `400::The replayId {${replay}} you provided was invalid. Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;
          } else if (replay !== -1) {
            // Replay what the subscriber missed, once its subscription is in place.
            const missed = this.streamLog.filter((e) => e.channel === channel && e.replayId > replay && e.replayId >= this.retainedFrom);
            setTimeout(() => {
              for (const e of missed) this.publishing = this.publishing.then(() => this.bayeux?.getClient().publish(channel, e.message));
            }, 100);
          }
        }
        callback(message);
      },
    });
    bayeux.attach(server);
  }

  /** Every access token issued so far stops working: the next call gets 401 INVALID_SESSION_ID. */
  expireSessions(): void {
    this.tokens.clear();
  }

  /** Whether an access token this fake issued is still good (the Pub/Sub stand-in asks). */
  acceptsToken(token: string): boolean {
    return this.tokens.has(token);
  }

  /** A session token as an Outbound Message would carry it. */
  issueSession(): string {
    const token = `${this.orgId}!session.${randomBytes(8).toString('hex')}`;
    this.tokens.add(token);
    return token;
  }

  put(type: string, fields: Fields & { Id: string }): void {
    this.table(type).set(fields.Id, { ...fields });
  }

  get(type: string, id: string): Fields | undefined {
    return this.table(type).get(id);
  }

  private table(type: string): Map<string, Fields> {
    let t = this.records.get(type);
    if (!t) this.records.set(type, (t = new Map()));
    return t;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString('utf8')));
      req.on('end', () => resolve(data));
    });
    const url = new URL(req.url ?? '/', this.url);
    const body = parseBody(raw, req.headers['content-type']);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname + url.search, body });
    const send = (status: number, payload?: unknown): void => {
      res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json' });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const rule = this.failRules.find((r) => r.times > 0 && (!r.method || r.method === method) && (!r.pathIncludes || url.pathname.includes(r.pathIncludes)));
    if (rule) {
      rule.times--;
      return send(rule.status, rule.body);
    }
    if (url.pathname === '/services/oauth2/token' && method === 'POST') return send(...this.token(body as Record<string, string>));
    if (!this.authorized(req)) return send(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    if (url.pathname === '/services/oauth2/userinfo') {
      return send(200, { user_id: this.integrationUserId, organization_id: this.orgId, preferred_username: 'integration@example.com' });
    }
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(url.pathname);
    if (!m) return send(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    const rest = m[2]!;
    const bulkQuery = /^\/jobs\/query(?:\/(\w+))?(?:\/(\w+))?$/.exec(rest);
    if (bulkQuery) return this.bulkQuery(method, bulkQuery[1], bulkQuery[2], body, res);
    const bulk = /^\/jobs\/ingest(?:\/(\w+))?(?:\/(\w+))?$/.exec(rest);
    if (bulk) return this.bulkIngest(method, bulk[1], bulk[2], body, res);
    if (rest === '/query' || rest === '/queryAll') {
      const soql = url.searchParams.get('q') ?? '';
      const missing = /^SELECT (.*?) FROM (\w+)/i.exec(soql)?.[1]?.split(',').map((f) => f.trim()).find((f) => this.missingFields.has(f));
      if (missing) return send(400, [{ errorCode: 'INVALID_FIELD', message: `No such column '${missing}' on entity` }]);
      return send(200, this.query(soql, rest === '/queryAll'));
    }
    const describe = /^\/sobjects\/(\w+)\/describe$/.exec(rest);
    if (describe && method === 'GET') return send(200, this.describe(describe[1]!));
    if (rest === '/composite/sobjects' && method === 'POST') {
      const created = this.createMany(body as { allOrNone?: boolean; records: Fields[] });
      return created ? send(200, created) : send(400, [{ errorCode: 'INVALID_TYPE', message: 'only Platform Events (__e) can be created in this fake' }]);
    }
    if (rest === '/composite/sobjects' && method === 'PATCH') return send(200, this.updateMany(body as { records: Fields[] }));
    const upsertMany = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(rest);
    if (upsertMany && method === 'PATCH') return send(200, this.upsertMany(upsertMany[1]!, upsertMany[2]!, body as { records: Fields[] }));
    const one = /^\/sobjects\/(\w+)\/(\w+)$/.exec(rest);
    if (one && method === 'GET') {
      const record = this.get(one[1]!, one[2]!);
      return record ? send(200, { attributes: { type: one[1] }, ...record }) : send(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    }
    if (one && method === 'PATCH') {
      const [result] = this.updateMany({ records: [{ attributes: { type: one[1] }, id: one[2], ...(body as Fields) }] });
      return result?.success ? send(204) : send(400, result?.errors.map((e) => ({ errorCode: e.statusCode, message: e.message, fields: e.fields })));
    }
    return send(404, [{ errorCode: 'NOT_FOUND', message: `no fake for ${method} ${rest}` }]);
  }

  private authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^(Bearer|OAuth) /, '');
    return this.tokens.has(token);
  }

  private token(params: Record<string, string>): [number, unknown] {
    const grant = params['grant_type'];
    if (grant === 'password') {
      if (params['password'] !== 'secret-passwordTOKEN') return [400, { error: 'invalid_grant', error_description: 'authentication failure' }];
    } else if (grant === 'refresh_token') {
      if (!this.refreshTokens.has(params['refresh_token'] ?? '')) return [400, { error: 'invalid_grant', error_description: 'expired access/refresh token' }];
    } else if (grant === 'client_credentials') {
      // Salesforce answers this flow only for an app with a "Run As" user and its own secret.
      if (params['client_id'] !== 'fake-consumer-key' || params['client_secret'] !== 'fake-consumer-secret') {
        return [400, { error: 'invalid_client', error_description: 'invalid client credentials' }];
      }
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      if (!this.validJwt(params['assertion'] ?? '')) return [400, { error: 'invalid_grant', error_description: 'invalid assertion' }];
    } else {
      return [400, { error: 'unsupported_grant_type' }];
    }
    const token = `${this.orgId}!token.${randomBytes(12).toString('hex')}`;
    this.tokens.add(token);
    return [
      200,
      {
        access_token: token,
        instance_url: this.url,
        id: `${this.url}/id/${this.orgId}/${this.integrationUserId}`,
        token_type: 'Bearer',
        issued_at: String(Date.now()),
        signature: 'fake',
      },
    ];
  }

  private validJwt(assertion: string): boolean {
    const [header, payload, signature] = assertion.split('.');
    if (!header || !payload || !signature || !this.jwtPublicKey) return false;
    const ok = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.jwtPublicKey, Buffer.from(signature, 'base64url'));
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number; iss?: string; sub?: string; aud?: string };
    return ok && !!claims.iss && !!claims.sub && !!claims.aud && (claims.exp ?? 0) * 1000 > Date.now();
  }

  /**
   * Just the SOQL forcehook writes: FROM, the (SystemModstamp, Id) keyset or `SystemModstamp >=`,
   * ORDER BY SystemModstamp, Id and LIMIT. Deleted records only through queryAll.
   */
  private query(soql: string, all: boolean): unknown {
    const type = /\bFROM\s+(\w+)/i.exec(soql)?.[1] ?? '';
    const ms = (v: unknown): number => Date.parse(String(v));
    let records = [...this.table(type).values()].filter((r) => all || r['IsDeleted'] !== true);
    const keyset = /SystemModstamp > (\S+) OR \(SystemModstamp = (\S+) AND Id > '(\w+)'\)/.exec(soql);
    if (keyset) records = records.filter((r) => ms(r['SystemModstamp']) > ms(keyset[1]) || (ms(r['SystemModstamp']) === ms(keyset[2]) && String(r['Id']) > keyset[3]!));
    const ids = /\bId IN \(([^)]*)\)/.exec(soql);
    if (ids) {
      const wanted = new Set(ids[1]!.split(',').map((x) => x.trim().replace(/^'|'$/g, '')));
      records = records.filter((r) => wanted.has(String(r['Id'])));
    }
    const since = /SystemModstamp >= (\S+)/.exec(soql);
    if (since) records = records.filter((r) => ms(r['SystemModstamp']) >= ms(since[1]));
    if (/ORDER BY SystemModstamp ASC, Id ASC/.test(soql)) records.sort((a, b) => ms(a['SystemModstamp']) - ms(b['SystemModstamp']) || String(a['Id']).localeCompare(String(b['Id'])));
    const limit = /LIMIT (\d+)/.exec(soql);
    if (limit) records = records.slice(0, Number(limit[1]));
    if (/SELECT COUNT\(\)/i.test(soql)) return { totalSize: records.length, done: true, records: [] };
    return { totalSize: records.length, done: true, records: records.map((r) => ({ attributes: { type, url: `/services/data/v62.0/sobjects/${type}/${String(r['Id'])}` }, ...r })) };
  }

  /** Bulk API 2.0 query: the job is complete at once; results are one CSV page. */
  private bulkQuery(method: string, id: string | undefined, part: string | undefined, body: unknown, res: ServerResponse): void {
    const json = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!id && method === 'POST') {
      const { operation, query } = body as { operation: string; query: string };
      const jobId = `750QUERY${String(this.nextId++).padStart(7, '0')}`;
      this.bulkQueries.set(jobId, { soql: query, all: operation === 'queryAll' });
      return json(200, { id: jobId, operation, state: 'UploadComplete' });
    }
    const job = id ? this.bulkQueries.get(id) : undefined;
    if (!job) return json(404, [{ errorCode: 'NOT_FOUND', message: 'no such job' }]);
    if (!part && method === 'GET') return json(200, { id, state: 'JobComplete', numberRecordsProcessed: 0 });
    if (part === 'results') {
      const columns = (/^SELECT\s+(.*?)\s+FROM/i.exec(job.soql)?.[1] ?? 'Id').split(',').map((c) => c.trim());
      const { records } = this.query(job.soql, job.all) as { records: Record<string, unknown>[] };
      res.writeHead(200, { 'content-type': 'text/csv', 'sforce-locator': 'null', 'sforce-numberofrecords': String(records.length) });
      return void res.end(toCsv([columns, ...records.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '' : String(r[c]))))]));
    }
    return json(404, [{ errorCode: 'NOT_FOUND', message: `no fake for ${method} ${part ?? ''}` }]);
  }

  /** Bulk API 2.0 ingest, enough of it for jsforce's loadAndWaitForResults: open, upload CSV, close, poll, results. */
  private bulkIngest(method: string, id: string | undefined, part: string | undefined, body: unknown, res: ServerResponse): void {
    const json = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const csv = (text: string): void => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.end(text);
    };
    if (!id && method === 'POST') {
      const options = body as { object: string; operation: string; externalIdFieldName?: string };
      const job = { id: `750FAKE${String(this.nextId++).padStart(8, '0')}`, state: 'Open', object: options.object, operation: options.operation, externalIdFieldName: options.externalIdFieldName ?? 'Id', csv: '', results: [] as string[][] };
      this.bulkJobs.set(job.id, job);
      return json(200, { id: job.id, state: job.state, object: job.object, operation: job.operation, contentUrl: `services/data/v62.0/jobs/ingest/${job.id}/batches` });
    }
    const job = id ? this.bulkJobs.get(id) : undefined;
    if (!job) return json(404, [{ errorCode: 'NOT_FOUND', message: 'no such job' }]);
    if (part === 'batches' && method === 'PUT') {
      job.csv += String(body);
      res.writeHead(201);
      return void res.end();
    }
    if (!part && method === 'PATCH') {
      job.state = 'JobComplete';
      const [header, ...lines] = parseCsv(job.csv);
      const records = lines.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? ''])));
      const results = this.upsertMany(job.object, job.externalIdFieldName, { records });
      job.results = [['sf__Id', 'sf__Created', ...header!], ...records.map((r, i) => [results[i]!.id, String(results[i]!.created), ...header!.map((h) => String(r[h]))])];
      return json(200, { id: job.id, state: 'UploadComplete' });
    }
    if (!part && method === 'GET') return json(200, { id: job.id, state: job.state, numberRecordsProcessed: job.results.length - 1, numberRecordsFailed: 0 });
    if (part === 'successfulResults') return csv(toCsv(job.results));
    if (part === 'failedResults') return csv('"sf__Id","sf__Error"\n');
    if (part === 'unprocessedrecords') return csv('\n');
    return json(404, [{ errorCode: 'NOT_FOUND', message: `no fake for ${method} ${part ?? ''}` }]);
  }

  private describe(type: string): unknown {
    const names = new Set(['Id', 'SystemModstamp', 'IsDeleted']);
    for (const r of this.table(type).values()) for (const k of Object.keys(r)) names.add(k);
    return { name: type, fields: [...names].map((name) => ({ name, type: name === 'Id' ? 'id' : 'string' })) };
  }

  private consumeError(key: string): RecordError | undefined {
    const entry = this.recordErrors.get(key);
    if (!entry || entry.times <= 0) return undefined;
    entry.times--;
    return entry.error;
  }

  /**
   * Collections create of Platform Events: each event is published on its own (allOrNone false), and
   * a published one is delivered on /event/<Type> with CreatedById = the publishing user, as
   * Salesforce does. A success carries OPERATION_ENQUEUED with the EventUuid, as the API answers.
   */
  private createMany(body: { records: Fields[] }): { id: string; success: boolean; errors: RecordError[] }[] | undefined {
    if (body.records.length > 200) return undefined;
    if (!body.records.every((r) => /__e$/.test((r['attributes'] as { type?: string } | undefined)?.type ?? ''))) return undefined;
    return body.records.map((r) => {
      const { attributes, ...fields } = r as Fields & { attributes: { type: string } };
      const rule = this.eventErrors.find((e) => e.times > 0 && e.match(fields));
      if (rule) {
        rule.times--;
        return { id: '', success: false, errors: [rule.error] };
      }
      const uuid = randomUUID();
      this.publishedEvents.push({ type: attributes.type, fields, uuid });
      this.publish(`/event/${attributes.type}`, { ...fields, EventUuid: uuid, CreatedById: this.integrationUserId, CreatedDate: new Date().toISOString() });
      return { id: `e00FAKE${String(this.nextId++).padStart(8, '0')}`, success: true, errors: [{ statusCode: 'OPERATION_ENQUEUED', message: uuid }] };
    });
  }

  private updateMany(body: { records: Fields[] }): { id: string; success: boolean; errors: RecordError[] }[] {
    return body.records.map((r) => {
      const { id, attributes, ...fields } = r as Fields & { id: string; attributes: { type: string } };
      const error = this.consumeError(id);
      if (error) return { id, success: false, errors: [error] };
      const table = this.table(attributes.type);
      table.set(id, { ...(table.get(id) ?? { Id: id }), ...fields });
      return { id, success: true, errors: [] };
    });
  }

  private upsertMany(type: string, field: string, body: { records: Fields[] }): { id: string; success: boolean; created: boolean; errors: RecordError[] }[] {
    const table = this.table(type);
    return body.records.map((r) => {
      const { attributes: _attributes, ...fields } = r;
      const key = String(fields[field]);
      const error = this.consumeError(key);
      if (error) return { id: '', success: false, created: false, errors: [error] };
      const existing = [...table.values()].find((x) => String(x[field]) === key);
      const id = (existing?.['Id'] as string | undefined) ?? toId18(`003FAKE${String(this.nextId++).padStart(8, '0')}`);
      table.set(id, { ...(existing ?? { Id: id }), ...fields });
      return { id, success: true, created: !existing, errors: [] };
    });
  }
}

/** RFC 4180 CSV: quoted cells, doubled quotes, CRLF or LF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((x) => x !== '')) rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

function toCsv(rows: string[][]): string {
  return rows.map((r) => r.map((c) => `"${c.replace(/"/g, '""')}"`).join(',')).join('\n') + '\n';
}

function parseBody(raw: string, type: string | undefined): unknown {
  if (!raw) return undefined;
  if (type?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

