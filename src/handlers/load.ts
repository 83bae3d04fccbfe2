import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import type { Handler } from './define-handler.js';
import { handlers as builtIn } from './index.js';

/**
 * The built-in handlers plus those of the modules named in FORCEHOOK_HANDLERS (comma-separated
 * paths, relative to the working directory): every export made with defineHandler counts. Lets a
 * deployment add handlers without editing src/.
 */
export async function loadHandlers(modules: string | undefined): Promise<Handler[]> {
  const list = [...builtIn];
  for (const path of (modules ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    let exported: Record<string, unknown>;
    try {
      exported = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`FORCEHOOK_HANDLERS: could not load ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const found = Object.values(exported).filter(isHandler);
    if (found.length === 0) throw new ConfigError(`FORCEHOOK_HANDLERS: ${path} exports no handler made with defineHandler`);
    list.push(...found);
  }
  return list;
}

function isHandler(value: unknown): value is Handler {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Partial<Handler>;
  return typeof h.name === 'string' && typeof h.queue === 'string' && typeof h.handle === 'function' && typeof h.match === 'object';
}
