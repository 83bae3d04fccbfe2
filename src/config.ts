import { z } from 'zod';
import { ConfigError } from './errors.js';
import { createPrivateKey } from 'node:crypto';
import { FLOW_PATTERN } from './events/salesforce-event.js';
import { isSalesforceId, SOBJECT_NAME, toId18 } from './events/salesforce-id.js';

/** jsforce defaults to 50.0; always say which API version we speak. */
export const DEFAULT_API_VERSION = '62.0';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `*` means any org: allowed only on the local embedded database, never with DATABASE_URL. */
const orgIds = z
  .string()
  .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
  .refine((ids) => ids.length > 0, 'list at least one org id (00D...), comma-separated')
  .refine(
    (ids) => ids.every((id) => id === '*' || isSalesforceId(id)),
    'each org id must be a 15- or 18-character Salesforce id such as 00D5g000004abcd',
  );

/**
 * Outbound Messages carry no session since February 2026: the URL token is the only proof of
 * sender, so it must be long and random, not a word. (Messages never quote the value.)
 */
export const MIN_TOKEN_LENGTH = 24;

/** Long enough, no spaces, and not one character repeated: what a generated secret looks like. */
function isStrongSecret(value: string, minLength: number): boolean {
  return value.length >= minLength && !/\s/.test(value) && new Set(value).size >= 8;
}

const TOKEN_ADVICE = `use at least ${MIN_TOKEN_LENGTH} random characters without spaces (make one with \`openssl rand -hex 24\`)`;

const outboundToken = z.string().refine((t) => isStrongSecret(t, MIN_TOKEN_LENGTH), TOKEN_ADVICE);

const flowTokens = z
  .string()
  .transform((raw, ctx) => {
    const tokens: Record<string, string> = {};
    for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = pair.indexOf('=');
      const [flow, token] = [pair.slice(0, eq), pair.slice(eq + 1)];
      if (eq <= 0 || !FLOW_PATTERN.test(flow)) {
        ctx.addIssue({ code: 'custom', message: 'use flow=token pairs separated by commas' });
        return z.NEVER;
      }
      if (!isStrongSecret(token, MIN_TOKEN_LENGTH)) {
        ctx.addIssue({ code: 'custom', message: `the token of flow ${flow}: ${TOKEN_ADVICE}` });
        return z.NEVER;
      }
      tokens[flow] = token;
    }
    return tokens;
  });

/** Standard Webhooks keys are 24 to 64 random bytes; fewer is guessable. */
export const MIN_WEBHOOK_KEY_BYTES = 24;

const secretList = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
  .refine((list) => list.every((s) => /^whsec_[A-Za-z0-9+/=]+$/.test(s)), 'each secret must look like whsec_<base64> (make one with `forcehook secret new`)')
  .refine(
    (list) => list.every((s) => Buffer.from(s.slice('whsec_'.length), 'base64').length >= MIN_WEBHOOK_KEY_BYTES),
    `each secret's key must decode to at least ${MIN_WEBHOOK_KEY_BYTES} bytes (make one with \`forcehook secret new\`)`,
  );

/** `*` or a list of flows. */
const flowList = z
  .string()
  .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
  .refine((flows) => flows.every((f) => f === '*' || FLOW_PATTERN.test(f)), 'list flow names separated by commas, or * for every flow');

function wholeNumber(what: string, min: number, max: number) {
  const message = `must be ${what}`;
  return z.coerce.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

/** `name=flow,name=flow` where each name matches `name`: the pairs, in order. */
function flowPairs(name: RegExp, message: string) {
  return z.string().transform((raw, ctx) => {
    const pairs: { name: string; flow: string }[] = [];
    for (const pair of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const eq = pair.lastIndexOf('=');
      const [left, flow] = [pair.slice(0, eq), pair.slice(eq + 1)];
      if (eq <= 0 || !name.test(left) || !FLOW_PATTERN.test(flow)) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      pairs.push({ name: left, flow });
    }
    return pairs;
  });
}

const EnvSchema = z.object({
  PORT: wholeNumber('a port number from 0 to 65535', 0, 65535).default(3000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** `auto`: TLS without certificate verification for any non-local host (what Heroku Postgres needs). */
  DATABASE_SSL: z.enum(['auto', 'off', 'require', 'verify']).default('auto'),
  DATABASE_POOL_MAX: wholeNumber('a whole number from 2 to 200', 2, 200).default(10),
  FORCEHOOK_DATA_DIR: z.string().min(1).default('.forcehook'),
  SALESFORCE_ORG_IDS: orgIds.optional(),
  OUTBOUND_TOKEN: outboundToken.optional(),
  OUTBOUND_FLOW_TOKENS: flowTokens.optional(),
  /** Outbound flows whose notified records are read back from the org before handlers run. */
  OUTBOUND_VERIFY_BY_FETCH: flowList.optional(),
  WEBHOOK_SECRETS: secretList.optional(),
  MAX_BODY_BYTES: wholeNumber('a byte count from 1024 to 104857600', 1024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  /** Bytes all request bodies being received may hold together; beyond it a request gets 503. Default: 10 x MAX_BODY_BYTES. */
  MAX_INFLIGHT_BODY_BYTES: wholeNumber('a byte count from 1024 to 2147483648', 1024, 2 * 1024 * 1024 * 1024).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** sObjects to reconcile on a schedule, each with its flow: `Contact=contacts,Account=accounts`. */
  RECONCILE: flowPairs(SOBJECT_NAME, 'use SObject=flow pairs separated by commas, e.g. Contact=contacts').optional(),
  /** Streaming channels to subscribe to, each with its flow: `/data/ContactChangeEvent=contacts,/event/Order__e=orders`. */
  STREAM_CHANNELS: flowPairs(/^\/(?:data|event)\/[A-Za-z0-9_]+$/, 'use channel=flow pairs, e.g. /data/ContactChangeEvent=contacts,/event/Order__e=orders').optional(),
  /** How the worker subscribes to STREAM_CHANNELS: the gRPC Pub/Sub API (what Salesforce recommends) or CometD. */
  STREAM_TRANSPORT: z.enum(['pubsub', 'cometd'], { error: 'must be pubsub (the Pub/Sub API, recommended) or cometd (Streaming API)' }).default('pubsub'),
  PUBSUB_ENDPOINT: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port, e.g. api.pubsub.salesforce.com:7443').default('api.pubsub.salesforce.com:7443'),
  /** Salesforce sends a keepalive within 270 s: a stream silent for longer is subscribed again. */
  PUBSUB_KEEPALIVE_TIMEOUT_SECONDS: wholeNumber('a number of seconds from 1 to 3600', 1, 3_600).default(330),
  /** Events asked for at a time; more only after these are stored (Salesforce allows 100). */
  PUBSUB_BATCH_SIZE: wholeNumber('a whole number from 1 to 100', 1, 100).default(100),
  /** Finished inbox rows are kept this long: they are the dedupe memory and the audit trail. */
  INBOX_RETENTION_DAYS: wholeNumber('a number of days from 2 to 3650', 2, 3_650).default(30),
  /** When reconciliation runs (cron, UTC). */
  RECONCILE_CRON: z.string().regex(/^(\S+\s+){4}\S+$/, 'must be a 5-field cron expression such as */15 * * * *').default('*/15 * * * *'),
  /** How often workers look for jobs a killed worker left behind (they are retried once expired). */
  QUEUE_SUPERVISE_SECONDS: wholeNumber('a number of seconds from 1 to 3600', 1, 3_600).default(10),
  /** A request (body included) must arrive within this; a trickled body is cut off. */
  REQUEST_TIMEOUT_MS: wholeNumber('a number of milliseconds from 1000 to 120000', 1_000, 120_000).default(30_000),
  /** A JSON file naming the tables served to Salesforce Connect at /odata/v4/ (see README, External Objects). */
  ODATA_CONFIG: z.string().min(1).optional(),
  /** `user:password` pairs (comma-separated), one per Named Principal, for HTTP Basic on /odata/v4/. */
  ODATA_USERS: z
    .string()
    .transform((raw, ctx) => {
      const users: { user: string; password: string }[] = [];
      for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
        const colon = pair.indexOf(':');
        const user = pair.slice(0, colon);
        const password = pair.slice(colon + 1);
        if (colon <= 0 || !/^[\w.@-]{1,80}$/.test(user)) {
          ctx.addIssue({ code: 'custom', message: 'use user:password pairs separated by commas' });
          return z.NEVER;
        }
        if (!isStrongSecret(password, 16) || password.includes(',')) {
          ctx.addIssue({ code: 'custom', message: `the password of ${user}: use at least 16 characters without spaces or commas, not one repeated (try \`openssl rand -hex 16\`)` });
          return z.NEVER;
        }
        users.push({ user, password });
      }
      return users;
    })
    .optional(),
  /** Bearer tokens (space- or comma-separated) accepted on /odata/v4/. */
  ODATA_TOKENS: z
    .string()
    .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
    .refine((list) => list.every((t) => isStrongSecret(t, MIN_TOKEN_LENGTH)), `each token: ${TOKEN_ADVICE}`)
    .optional(),
  /** Most rows in one OData page (Salesforce may ask for fewer with Prefer: odata.maxpagesize). */
  ODATA_PAGE_SIZE: wholeNumber('a whole number from 1 to 2000', 1, 2_000).default(1_000),
  ADMIN_PASSWORD: z.string().refine((p) => isStrongSecret(p, 16), 'use at least 16 characters without spaces, not one repeated (try `openssl rand -hex 16`)').optional(),
  SALESFORCE_LOGIN_URL: z.url({ protocol: /^https?$/, error: 'must be a URL such as https://login.salesforce.com or https://test.salesforce.com' }).default('https://login.salesforce.com'),
  SALESFORCE_INSTANCE_URL: z.url({ protocol: /^https?$/, error: 'must be a URL such as https://yourdomain.my.salesforce.com' }).optional(),
  SALESFORCE_CLIENT_ID: z.string().optional(),
  SALESFORCE_CLIENT_SECRET: z.string().optional(),
  SALESFORCE_USERNAME: z.string().optional(),
  SALESFORCE_PASSWORD: z.string().optional(),
  SALESFORCE_SECURITY_TOKEN: z.string().optional(),
  SALESFORCE_PRIVATE_KEY: z
    .string()
    // Config vars often hold a PEM with its newlines written as \n.
    .transform((pem) => pem.replace(/\\n/g, '\n'))
    .refine(isPrivateKey, 'must be a PEM private key (-----BEGIN PRIVATE KEY----- ...) for the connected app\'s certificate')
    .optional(),
  SALESFORCE_REFRESH_TOKEN: z.string().optional(),
  SALESFORCE_API_VERSION: z.string().regex(/^\d{2}\.0$/, 'must look like 62.0').default(DEFAULT_API_VERSION),
  SALESFORCE_INTEGRATION_USER_ID: z.string().refine(isSalesforceId, 'must be the 15- or 18-character id of the user forcehook calls Salesforce as').optional(),
  /** How long writes to Salesforce wait to be merged with others to the same records. */
  SALESFORCE_WRITE_WINDOW_MS: wholeNumber('a number of milliseconds from 50 to 60000', 50, 60_000).default(1_000),
  NODE_ENV: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  port: number;
  /** Tables served to Salesforce Connect at /odata/v4/; undefined when ODATA_CONFIG is unset. */
  odata: ODataConfig | undefined;
  database: { url: string; ssl: Env['DATABASE_SSL']; poolMax: number } | { embedded: { dataDir: string }; poolMax: number };
  /** Allowed orgs by their 15-character prefix; `null` means any org (local use only). */
  allowedOrgPrefixes: ReadonlySet<string> | null;
  outboundToken: string | undefined;
  outboundFlowTokens: Readonly<Record<string, string>>;
  /**
   * Every Outbound Message must carry a token (true with DATABASE_URL): a flow without one of its
   * own, when there is no OUTBOUND_TOKEN, is refused.
   */
  outboundTokenRequired: boolean;
  /** Flows read back from the org before handlers run; `'*'` for all. */
  outboundVerifyByFetch: readonly string[] | '*';
  /** Verification keys for Apex callouts; the first one signs `forcehook send-test`. */
  webhookSecrets: readonly string[];
  maxBodyBytes: number;
  /** What all bodies in flight may hold together; at least maxBodyBytes. */
  maxInflightBodyBytes: number;
  requestTimeoutMs: number;
  queueSuperviseSeconds: number;
  /** Scheduled reconciliation: which sObjects, into which flows, and when. */
  reconcile: { targets: readonly { sobjectType: string; flow: string }[]; cron: string };
  inboxRetentionDays: number;
  /** Change Data Capture / Platform Event channels the worker subscribes to. */
  streamChannels: readonly { channel: string; flow: string }[];
  /** How streamChannels are subscribed: the Pub/Sub API (default) or CometD. */
  streamTransport: 'pubsub' | 'cometd';
  /** Pub/Sub API endpoint (host:port), keepalive watchdog and batch size. */
  pubsub: { endpoint: string; keepaliveTimeoutMs: number; batchSize: number };
  logLevel: Env['LOG_LEVEL'];
  /** Turns on /admin (and protects /metrics) with HTTP Basic auth; off when unset. */
  adminPassword: string | undefined;
  /** How forcehook calls back into Salesforce; null when no credentials are configured. */
  salesforce: SalesforceConfig | null;
}

export type SalesforceAuth =
  | { kind: 'jwt'; clientId: string; username: string; privateKey: string }
  | { kind: 'refresh-token'; clientId: string; clientSecret: string | undefined; refreshToken: string; instanceUrl: string }
  | { kind: 'password'; username: string; password: string; clientId: string | undefined; clientSecret: string | undefined }
  /** OAuth 2.0 client credentials: the app runs as its configured "Run As" user; no user secret kept. */
  | { kind: 'client-credentials'; clientId: string; clientSecret: string };

export interface SalesforceConfig {
  auth: SalesforceAuth;
  loginUrl: string;
  apiVersion: string;
  /** Configured; otherwise discovered once through /services/oauth2/userinfo. */
  integrationUserId: string | undefined;
  writeWindowMs: number;
}

/**
 * Parses configuration from an environment (process.env in production, a plain object in tests).
 * Throws a ConfigError whose message is one line naming the variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const orgs = e.SALESFORCE_ORG_IDS ?? (e.DATABASE_URL ? undefined : ['*']);
  if (!orgs) {
    throw new ConfigError('SALESFORCE_ORG_IDS: required (comma-separated org ids allowed to send, e.g. 00D5g000004abcd)');
  }
  if (orgs.includes('*') && e.DATABASE_URL) {
    throw new ConfigError('SALESFORCE_ORG_IDS: "*" (any org) is only allowed on the local embedded database; list your org ids');
  }
  const maxInflightBodyBytes = e.MAX_INFLIGHT_BODY_BYTES ?? 10 * e.MAX_BODY_BYTES;
  if (maxInflightBodyBytes < e.MAX_BODY_BYTES) {
    throw new ConfigError(`MAX_INFLIGHT_BODY_BYTES: must be at least MAX_BODY_BYTES (${e.MAX_BODY_BYTES}), or a body of the largest allowed size is never accepted`);
  }
  const salesforce = salesforceConfig(e);
  const verifyFlows = e.OUTBOUND_VERIFY_BY_FETCH ?? [];
  if (verifyFlows.length > 0 && !salesforce) {
    throw new ConfigError('OUTBOUND_VERIFY_BY_FETCH: needs Salesforce credentials (SALESFORCE_*) to read the notified records back from the org');
  }
  return {
    port: e.PORT,
    database: e.DATABASE_URL
      ? { url: e.DATABASE_URL, ssl: e.DATABASE_SSL, poolMax: e.DATABASE_POOL_MAX }
      : { embedded: { dataDir: e.FORCEHOOK_DATA_DIR }, poolMax: e.DATABASE_POOL_MAX },
    allowedOrgPrefixes: orgs.includes('*') ? null : new Set(orgs.map((id) => id.slice(0, 15))),
    outboundToken: e.OUTBOUND_TOKEN,
    outboundFlowTokens: e.OUTBOUND_FLOW_TOKENS ?? {},
    outboundTokenRequired: e.DATABASE_URL !== undefined,
    outboundVerifyByFetch: verifyFlows.includes('*') ? '*' : verifyFlows,
    webhookSecrets: e.WEBHOOK_SECRETS ?? [],
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxInflightBodyBytes,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    queueSuperviseSeconds: e.QUEUE_SUPERVISE_SECONDS,
    reconcile: { targets: (e.RECONCILE ?? []).map((p) => ({ sobjectType: p.name, flow: p.flow })), cron: e.RECONCILE_CRON },
    inboxRetentionDays: e.INBOX_RETENTION_DAYS,
    streamChannels: (e.STREAM_CHANNELS ?? []).map((p) => ({ channel: p.name, flow: p.flow })),
    streamTransport: e.STREAM_TRANSPORT,
    pubsub: { endpoint: e.PUBSUB_ENDPOINT, keepaliveTimeoutMs: e.PUBSUB_KEEPALIVE_TIMEOUT_SECONDS * 1_000, batchSize: e.PUBSUB_BATCH_SIZE },
    logLevel: e.LOG_LEVEL,
    adminPassword: e.ADMIN_PASSWORD,
    odata: odataConfig(e),
    salesforce,
  };
}

export interface ODataConfig {
  /** The JSON file of entity sets; read (and its tables checked) when the web process starts. */
  file: string;
  users: { user: string; password: string }[];
  tokens: string[];
  pageSize: number;
}

/** Off unless ODATA_CONFIG is set; then it must have a way to log in: never served to anyone. */
function odataConfig(e: { ODATA_CONFIG?: string | undefined; ODATA_USERS?: { user: string; password: string }[] | undefined; ODATA_TOKENS?: string[] | undefined; ODATA_PAGE_SIZE: number }): ODataConfig | undefined {
  if (!e.ODATA_CONFIG) {
    if (e.ODATA_USERS || e.ODATA_TOKENS) throw new ConfigError('ODATA_CONFIG: set it to the JSON file of tables to serve, or unset ODATA_USERS / ODATA_TOKENS');
    return undefined;
  }
  const users = e.ODATA_USERS ?? [];
  const tokens = e.ODATA_TOKENS ?? [];
  if (users.length === 0 && tokens.length === 0) throw new ConfigError('ODATA_USERS: /odata/v4/ is never served without a login: set ODATA_USERS (user:password for each Named Principal) or ODATA_TOKENS');
  return { file: e.ODATA_CONFIG, users, tokens, pageSize: e.ODATA_PAGE_SIZE };
}

/**
 * A web process on a real database must not take Outbound Messages without a token: since
 * February 2026 they carry no session, so the URL token is the only proof of sender. (Commands
 * such as `forcehook push` do not serve /outbound and need no token.)
 */
export function assertOutboundTokens(config: Pick<Config, 'outboundTokenRequired' | 'outboundToken' | 'outboundFlowTokens'>): void {
  if (config.outboundTokenRequired && config.outboundToken === undefined && Object.keys(config.outboundFlowTokens).length === 0) {
    throw new ConfigError(
      `OUTBOUND_TOKEN: required with DATABASE_URL, since Outbound Messages carry no session to check: set it (or OUTBOUND_FLOW_TOKENS) to ${MIN_TOKEN_LENGTH}+ random characters and put ?token=<it> in each endpoint URL`,
    );
  }
}

/**
 * Which OAuth flow the variables describe: JWT bearer, refresh token, username + password, or
 * (client id and secret alone) client credentials, Salesforce's recommended server-to-server flow.
 */
function salesforceConfig(e: Env): SalesforceConfig | null {
  const need = (name: keyof Env, why: string): string => {
    const value = e[name];
    if (typeof value !== 'string') throw new ConfigError(`${name}: required ${why}`);
    return value;
  };
  let auth: SalesforceAuth;
  if (e.SALESFORCE_PRIVATE_KEY) {
    auth = {
      kind: 'jwt',
      clientId: need('SALESFORCE_CLIENT_ID', "with SALESFORCE_PRIVATE_KEY (the connected app's consumer key)"),
      username: need('SALESFORCE_USERNAME', 'with SALESFORCE_PRIVATE_KEY (the user forcehook acts as)'),
      privateKey: e.SALESFORCE_PRIVATE_KEY,
    };
  } else if (e.SALESFORCE_REFRESH_TOKEN) {
    auth = {
      kind: 'refresh-token',
      clientId: need('SALESFORCE_CLIENT_ID', "with SALESFORCE_REFRESH_TOKEN (the connected app's consumer key)"),
      clientSecret: e.SALESFORCE_CLIENT_SECRET,
      refreshToken: e.SALESFORCE_REFRESH_TOKEN,
      instanceUrl: need('SALESFORCE_INSTANCE_URL', 'with SALESFORCE_REFRESH_TOKEN (your https://<domain>.my.salesforce.com)'),
    };
  } else if (e.SALESFORCE_PASSWORD) {
    auth = {
      kind: 'password',
      username: need('SALESFORCE_USERNAME', 'with SALESFORCE_PASSWORD'),
      // Salesforce expects the security token appended to the password.
      password: e.SALESFORCE_PASSWORD + (e.SALESFORCE_SECURITY_TOKEN ?? ''),
      clientId: e.SALESFORCE_CLIENT_ID,
      clientSecret: e.SALESFORCE_CLIENT_SECRET,
    };
  } else if (e.SALESFORCE_CLIENT_ID && e.SALESFORCE_CLIENT_SECRET) {
    // The client credentials flow is served only by the org's own My Domain, not login.salesforce.com.
    if (/^https:\/\/(login|test)\.salesforce\.com\/?$/.test(e.SALESFORCE_LOGIN_URL)) {
      throw new ConfigError('SALESFORCE_LOGIN_URL: the client credentials flow needs your My Domain URL (https://<domain>.my.salesforce.com), not login/test.salesforce.com');
    }
    auth = { kind: 'client-credentials', clientId: e.SALESFORCE_CLIENT_ID, clientSecret: e.SALESFORCE_CLIENT_SECRET };
  } else {
    return null;
  }
  return {
    auth,
    loginUrl: e.SALESFORCE_LOGIN_URL.replace(/\/$/, ''),
    apiVersion: e.SALESFORCE_API_VERSION,
    integrationUserId: e.SALESFORCE_INTEGRATION_USER_ID ? toId18(e.SALESFORCE_INTEGRATION_USER_ID) : undefined,
    writeWindowMs: e.SALESFORCE_WRITE_WINDOW_MS,
  };
}

function isPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

/** An empty variable (`FOO=`) means unset, as most people expect from a .env file. */
function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
