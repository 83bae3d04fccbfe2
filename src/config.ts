import { z } from 'zod';
import { ConfigError } from './errors.js';
import { isSalesforceId } from './events/salesforce-id.js';

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
  logLevel: Env['LOG_LEVEL'];
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
    logLevel: e.LOG_LEVEL,
  };
}

/** An empty variable (`FOO=`) means unset, as most people expect from a .env file. */
function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
