/**
 * `npm run apex:check` (scripts/apex-check.sh) type-checks apex/ with apex-ls in CI. This proves the
 * check can fail: a throwaway sfdx project with one well-typed class and one with a type error must
 * be refused, naming the broken file and the error, and only that one. (.ci/run runs the check on
 * the real apex/ sources.) Skipped where there is no Java.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve('scripts/apex-check.sh');
const hasJava = spawnSync('java', ['-version'], { stdio: 'ignore' }).status === 0;

function sfdxProject(classes: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'apex-check-'));
  writeFileSync(
    join(dir, 'sfdx-project.json'),
    JSON.stringify({ packageDirectories: [{ path: 'force-app', default: true }], sourceApiVersion: '62.0' }),
  );
  const classesDir = join(dir, 'force-app/main/default/classes');
  mkdirSync(classesDir, { recursive: true });
  for (const [name, source] of Object.entries(classes)) {
    writeFileSync(join(classesDir, `${name}.cls`), source);
    writeFileSync(
      join(classesDir, `${name}.cls-meta.xml`),
      '<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata"><apiVersion>62.0</apiVersion><status>Active</status></ApexClass>\n',
    );
  }
  return dir;
}

(hasJava ? describe : describe.skip)('scripts/apex-check.sh', () => {
  test('refuses a type error that the grammar alone accepts, and names only the broken class', () => {
    const dir = sfdxProject({
      Fine: 'public class Fine { public static String mac() { return EncodingUtil.base64Encode(Crypto.generateAesKey(128)); } }',
      // Parses as Apex (apex-sources.test.ts would pass it) but Blob is not an Integer.
      Broken: 'public class Broken { public static Integer mac() { Integer key = Crypto.generateAesKey(128); return key; } }',
    });
    try {
      const run = spawnSync(SCRIPT, [dir], { encoding: 'utf8', timeout: 120_000 });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain('Broken.cls');
      expect(run.stdout).toMatch(/Incompatible types in assignment, from 'System.Blob' to 'System.Integer'/);
      expect(run.stdout).not.toContain('Fine.cls');
      expect(run.stderr).toContain('has Apex errors');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('says what is wrong when the directory is not an sfdx project', () => {
    const run = spawnSync(SCRIPT, [join(tmpdir(), 'no-such-sfdx-project')], { encoding: 'utf8' });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('sfdx-project.json not found');
  });
});
