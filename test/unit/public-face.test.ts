import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** User code (handlers/, mappings/, examples/) imports forcehook only by its name: 'forcehook' or 'forcehook/testing'. */
describe('the public face', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });
  const userFiles = ['handlers', 'mappings', 'examples'].flatMap(files);

  test.each(userFiles)('%s imports forcehook by its name only', (file) => {
    const specifiers = [...readFileSync(file, 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]!);
    expect(specifiers.filter((s) => s.startsWith('.') && !s.startsWith('./') || /\/src\//.test(s))).toEqual([]);
  });

  test('forcehook and forcehook/testing export what a handler, a mapping and its tests use', async () => {
    const api = await import('forcehook');
    expect(Object.keys(api)).toEqual(expect.arrayContaining(['defineHandler', 'definePushMapping', 'AppError', 'PermanentError', 'signedHeaders', 'startForcehook']));
    const testing = await import('forcehook/testing');
    expect(Object.keys(testing)).toEqual(expect.arrayContaining(['signApexCallout', 'FakeSalesforce', 'createTestDatabase']));
  });
});
