import { z } from 'zod';
import { ConfigError } from './errors.js';
import { createPrivateKey } from 'node:crypto';
import { FLOW_PATTERN } from './events/salesforce-event.js';
import { isSalesforceId, toId18 } from './events/salesforce-id.js';

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

const flowTokens = z
  .string()
  .transform((raw, ctx) => {
    const tokens: Record<string, string> = {};
    for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || eq === pair.length - 1) {
        ctx.addIssue({ code: 'custom', message: 'use flow=token pairs separated by commas' });
        return z.NEVER;
      }
      tokens[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return tokens;
  });

const secretList = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
  .refine((list) => list.every((s) => /^whsec_[A-Za-z0-9+/=]{16,}$/.test(s)), 'each secret must look like whsec_<base64> (make one with `forcehook secret new`)');

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
  OUTBOUND_TOKEN: z.string().min(16, 'use at least 16 characters (try `openssl rand -hex 24`)').optional(),
  OUTBOUND_FLOW_TOKENS: flowTokens.optional(),
  WEBHOOK_SECRETS: secretList.optional(),
  MAX_BODY_BYTES: wholeNumber('a byte count from 1024 to 104857600', 1024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** sObjects to reconcile on a schedule, each with its flow: `Contact=contacts,Account=accounts`. */
  RECONCILE: flowPairs(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'use SObject=flow pairs separated by commas, e.g. Contact=contacts').optional(),
  /** Streaming channels to subscribe to, each with its flow: `/data/ContactChangeEvent=contacts,/event/Order__e=orders`. */
  STREAM_CHANNELS: flowPairs(/^\/(?:data|event)\/[A-Za-z0-9_]+$/, 'use channel=flow pairs, e.g. /data/ContactChangeEvent=contacts,/event/Order__e=orders').optional(),
  /** Finished inbox rows are kept this long: they are the dedupe memory and the audit trail. */
  INBOX_RETENTION_DAYS: wholeNumber('a number of days from 2 to 3650', 2, 3_650).default(30),
  /** When reconciliation runs (cron, UTC). */
  RECONCILE_CRON: z.string().regex(/^(\S+\s+){4}\S+$/, 'must be a 5-field cron expression such as */15 * * * *').default('*/15 * * * *'),
  /** How often workers look for jobs a killed worker left behind (they are retried once expired). */
  QUEUE_SUPERVISE_SECONDS: wholeNumber('a number of seconds from 1 to 3600', 1, 3_600).default(60),
  /** A request (body included) must arrive within this; a trickled body is cut off. */
  REQUEST_TIMEOUT_MS: wholeNumber('a number of milliseconds from 1000 to 120000', 1_000, 120_000).default(30_000),
  ADMIN_PASSWORD: z.string().min(12, 'use at least 12 characters (try `openssl rand -hex 16`)').optional(),
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
  database: { url: string; ssl: Env['DATABASE_SSL']; poolMax: number } | { embedded: { dataDir: string }; poolMax: number };
  /** Allowed orgs by their 15-character prefix; `null` means any org (local use only). */
  allowedOrgPrefixes: ReadonlySet<string> | null;
  outboundToken: string | undefined;
  outboundFlowTokens: Readonly<Record<string, string>>;
  /** Verification keys for Apex callouts; the first one signs `forcehook send-test`. */
  webhookSecrets: readonly string[];
  maxBodyBytes: number;
  requestTimeoutMs: number;
  queueSuperviseSeconds: number;
  /** Scheduled reconciliation: which sObjects, into which flows, and when. */
  reconcile: { targets: readonly { sobjectType: string; flow: string }[]; cron: string };
  inboxRetentionDays: number;
  /** Change Data Capture / Platform Event channels the worker subscribes to. */
  streamChannels: readonly { channel: string; flow: string }[];
  logLevel: Env['LOG_LEVEL'];
  /** Turns on /admin (and protects /metrics) with HTTP Basic auth; off when unset. */
  adminPassword: string | undefined;
  /** How forcehook calls back into Salesforce; null when no credentials are configured. */
  salesforce: SalesforceConfig | null;
}

export type SalesforceAuth =
  | { kind: 'jwt'; clientId: string; username: string; privateKey: string }
  | { kind: 'refresh-token'; clientId: string; clientSecret: string | undefined; refreshToken: string; instanceUrl: string }
  | { kind: 'password'; username: string; password: string; clientId: string | undefined; clientSecret: string | undefined };

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
  return {
    port: e.PORT,
    database: e.DATABASE_URL
      ? { url: e.DATABASE_URL, ssl: e.DATABASE_SSL, poolMax: e.DATABASE_POOL_MAX }
      : { embedded: { dataDir: e.FORCEHOOK_DATA_DIR }, poolMax: e.DATABASE_POOL_MAX },
    allowedOrgPrefixes: orgs.includes('*') ? null : new Set(orgs.map((id) => id.slice(0, 15))),
    outboundToken: e.OUTBOUND_TOKEN,
    outboundFlowTokens: e.OUTBOUND_FLOW_TOKENS ?? {},
    webhookSecrets: e.WEBHOOK_SECRETS ?? [],
    maxBodyBytes: e.MAX_BODY_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    queueSuperviseSeconds: e.QUEUE_SUPERVISE_SECONDS,
    reconcile: { targets: (e.RECONCILE ?? []).map((p) => ({ sobjectType: p.name, flow: p.flow })), cron: e.RECONCILE_CRON },
    inboxRetentionDays: e.INBOX_RETENTION_DAYS,
    streamChannels: (e.STREAM_CHANNELS ?? []).map((p) => ({ channel: p.name, flow: p.flow })),
    logLevel: e.LOG_LEVEL,
    adminPassword: e.ADMIN_PASSWORD,
    salesforce: salesforceConfig(e),
  };
}

/** Which OAuth flow the variables describe: JWT bearer, refresh token, or username + password. */
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
