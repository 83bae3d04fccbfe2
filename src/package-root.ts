import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

let cached: string | undefined;

/**
 * The folder holding forcehook's package.json: the same answer whether this module runs compiled
 * (dist/src/package-root.js) or as TypeScript under jest (src/package-root.ts). Files shipped
 * beside the code (the SQL migrations) and the user's folders (handlers/, mappings/, migrations/)
 * are found from here, not from the working directory.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'forcehook') return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError(`forcehook's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
