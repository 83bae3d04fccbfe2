import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Tests run from the repository root (jest's rootDir). */
export const FIXTURES_DIR = resolve('test/fixtures');
/** Real payloads captured by others, beside the repository; not copied in. */
export const SHARED_FIXTURES_DIR = resolve('../shared/fixtures');

export function fixture(path: string): Buffer {
  return readFileSync(join(FIXTURES_DIR, path));
}

export function sharedOutboundFixtures(): { name: string; body: Buffer }[] {
  const dir = join(SHARED_FIXTURES_DIR, 'outbound');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((name) => ({ name, body: readFileSync(join(dir, name)) }));
}
