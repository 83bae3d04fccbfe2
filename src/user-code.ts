import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readMigrations, type Migration } from './db/migrations.js';
import { ConfigError, describeError } from './errors.js';
import type { Handler } from './work/define-handler.js';
import { handlers as builtInHandlers } from './work/built-in.js';
import { isPushMapping, type PushMapping } from './writeback/define-mapping.js';
import { registerPush, type RegisteredPush } from './writeback/push-order.js';
import { packageRoot } from './package-root.js';

/**
 * What a deployment adds to forcehook lives outside src/, at the package root, so upgrading
 * forcehook never conflicts with it:
 *
 *   handlers/    TypeScript modules exporting handlers made with defineHandler
 *   mappings/    modules exporting push mappings made with definePushMapping
 *   migrations/  SQL files NNNN_name.sql for your own tables, applied after forcehook's
 *
 * `npm run build` compiles handlers/ and mappings/ to dist/handlers and dist/mappings, which is
 * where they are loaded from (every process: web, worker and the CLI). The examples in examples/
 * have the same three folders; copy one in, or name it in FORCEHOOK_EXAMPLES to run it in place.
 */
export interface UserCodeFolders {
  /** Folders of compiled handler modules (.js, .mjs). */
  handlers: Folder[];
  /** Folders of compiled push-mapping modules. */
  mappings: Folder[];
  /** Folders of NNNN_name.sql files. */
  migrations: Folder[];
}

/** A folder of user code; `setBy` names the variable that chose it, which must then exist. */
export interface Folder {
  dir: string;
  setBy?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Where user code is read from. FORCEHOOK_HANDLERS_DIR, FORCEHOOK_MAPPINGS_DIR and
 * FORCEHOOK_MIGRATIONS_DIR (relative to the working directory) replace the defaults
 * (dist/handlers, dist/mappings, migrations under the package root); FORCEHOOK_EXAMPLES
 * (comma-separated example names, e.g. `contact-match`) adds the folders of those examples.
 */
export function userCodeFolders(env: Env): UserCodeFolders {
  const root = packageRoot();
  const chosen = (name: string, fallback: string): Folder => {
    const value = env[name];
    return value ? { dir: resolve(value), setBy: name } : { dir: fallback };
  };
  const folders: UserCodeFolders = {
    handlers: [chosen('FORCEHOOK_HANDLERS_DIR', join(root, 'dist', 'handlers'))],
    mappings: [chosen('FORCEHOOK_MAPPINGS_DIR', join(root, 'dist', 'mappings'))],
    migrations: [chosen('FORCEHOOK_MIGRATIONS_DIR', join(root, 'migrations'))],
  };
  for (const name of list(env['FORCEHOOK_EXAMPLES'])) {
    const source = join(root, 'examples', name);
    if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(source)) {
      const known = readdirSync(join(root, 'examples')).filter((f) => statSync(join(root, 'examples', f)).isDirectory());
      throw new ConfigError(`FORCEHOOK_EXAMPLES: there is no example "${name}" in examples/ (there are: ${known.join(', ')})`);
    }
    folders.handlers.push({ dir: join(root, 'dist', 'examples', name, 'handlers') });
    folders.mappings.push({ dir: join(root, 'dist', 'examples', name, 'mappings') });
    folders.migrations.push({ dir: join(source, 'migrations') });
  }
  return folders;
}

/**
 * The built-in handlers (the mirror), those of the handler folders, and those of the modules named
 * in FORCEHOOK_HANDLERS (comma-separated paths, relative to the working directory). Every export
 * made with defineHandler counts. A name used twice, or the name of a built-in, is a ConfigError.
 */
export async function loadHandlers(env: Env): Promise<Handler[]> {
  const found: Found<Handler>[] = builtInHandlers.map((value) => ({ value, from: 'forcehook (built in)' }));
  for (const folder of userCodeFolders(env).handlers) {
    for (const file of modulesIn(folder, 'handlers')) {
      for (const value of exportsOf(await importModule(file, 'handlers'), isHandler)) found.push({ value, from: shown(file) });
    }
  }
  for (const path of list(env['FORCEHOOK_HANDLERS'])) {
    const handlers = exportsOf(await importModule(resolve(path), 'FORCEHOOK_HANDLERS'), isHandler);
    if (handlers.length === 0) throw new ConfigError(`FORCEHOOK_HANDLERS: ${path} exports no handler made with defineHandler`);
    for (const value of handlers) found.push({ value, from: shown(resolve(path)) });
  }
  return unique(found, 'handler');
}

/** The push mappings of the mapping folders, for `forcehook push <name>`. */
export async function loadPushMappings(env: Env): Promise<RegisteredPush[]> {
  const found: Found<PushMapping<unknown>>[] = [];
  for (const folder of userCodeFolders(env).mappings) {
    for (const file of modulesIn(folder, 'mappings')) {
      for (const value of exportsOf(await importModule(file, 'mappings'), isPushMapping)) found.push({ value, from: shown(file) });
    }
  }
  return unique(found, 'push mapping').map(registerPush);
}

/**
 * The SQL files of the migration folders, each folder in version order. A file name already seen
 * in an earlier folder (an example copied into migrations/ and also named in FORCEHOOK_EXAMPLES)
 * is the same migration and is read once.
 */
export function userMigrations(env: Env): Migration[] {
  const seen = new Set<string>();
  const migrations: Migration[] = [];
  for (const folder of userCodeFolders(env).migrations) {
    if (!present(folder)) continue;
    // readMigrations throws a ConfigError naming the file for a bad name or a repeated version.
    for (const m of readMigrations(folder.dir)) {
      if (seen.has(m.file)) continue;
      seen.add(m.file);
      migrations.push(m);
    }
  }
  return migrations;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * Whether a folder is there to read. A folder named by a variable (FORCEHOOK_*_DIR) must exist: a
 * typo must not silently load nothing. A default folder may be absent (a deployment without any).
 */
function present({ dir, setBy }: Folder): boolean {
  if (existsSync(dir)) return true;
  if (setBy) throw new ConfigError(`${setBy}: ${dir} does not exist`);
  return false;
}

/** The .js/.mjs files of a folder, sorted; none when a default folder does not exist. */
function modulesIn(folder: Folder, kind: 'handlers' | 'mappings'): string[] {
  const { dir } = folder;
  const files = present(folder)
    ? readdirSync(dir)
        .filter((f) => /\.m?js$/.test(f))
        .sort()
        .map((f) => join(dir, f))
    : [];
  uncompiled(kind, dir, files);
  return files;
}

/**
 * A TypeScript file in the package's handlers/ or mappings/ with no compiled twin in dist/ would be
 * silently ignored: say what to run instead.
 */
function uncompiled(kind: 'handlers' | 'mappings', dir: string, compiled: readonly string[]): void {
  const root = packageRoot();
  if (dir !== join(root, 'dist', kind)) return;
  const source = join(root, kind);
  if (!existsSync(source)) return;
  const names = new Set(compiled.map((f) => f.slice(dir.length + 1).replace(/\.m?js$/, '')));
  const missing = readdirSync(source).filter((f) => /\.m?ts$/.test(f) && !f.endsWith('.d.ts') && !names.has(f.replace(/\.m?ts$/, '')));
  if (missing.length > 0) throw new ConfigError(`${kind}/${missing[0]} is not compiled: run \`npm run build\` (npm start does) so dist/${kind} has it`);
}

async function importModule(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${what}: could not load ${shown(file)}: ${describeError(err).message}`);
  }
}

function exportsOf<T>(exported: Record<string, unknown>, is: (value: unknown) => value is T): T[] {
  return [...new Set(Object.values(exported).filter(is))];
}

interface Found<T extends { name: string }> {
  value: T;
  /** Where it came from, for messages. */
  from: string;
}

/** Each name once; the same object exported twice (a re-export) counts once. */
function unique<T extends { name: string }>(found: readonly Found<T>[], what: string): T[] {
  const byName = new Map<string, Found<T>>();
  for (const f of found) {
    const first = byName.get(f.value.name);
    if (first?.value === f.value) continue;
    if (first) throw new ConfigError(`two ${what}s are named "${f.value.name}": ${first.from} and ${f.from}; rename yours (the name names its queue and its records)`);
    byName.set(f.value.name, f);
  }
  return [...byName.values()].map((f) => f.value);
}

function shown(file: string): string {
  const rel = relative(packageRoot(), file);
  return rel.startsWith('..') ? file : rel;
}

function isHandler(value: unknown): value is Handler {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Partial<Handler>;
  return typeof h.name === 'string' && typeof h.queue === 'string' && typeof h.handle === 'function' && typeof h.match === 'object';
}
