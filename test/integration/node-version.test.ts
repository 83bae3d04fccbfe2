import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** A Node older than forcehook needs, found on PATH (machines here have Debian's Node 20 beside ours). */
function olderNode(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const major = Number(execFileSync(candidate, ['-p', 'process.versions.node.split(".")[0]']).toString().trim());
    if (major < 22) return candidate;
  }
  return ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]']).toString().trim()) < 22);
}

const old = olderNode();
const onOldNode = old ? test : test.skip;

describe('an older Node', () => {
  onOldNode('the CLI says in one line which Node it needs, and exits 1 without a stack trace', () => {
    const run = spawnSync(old!, [resolve('dist/src/cli/main.js'), 'status'], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^forcehook needs Node\.js 22\.19 or newer, this is v\d+\.\d+\.\d+: install Node 22 \(nvm install 22/);
  });

  onOldNode('npm start and npm test stop at the same line before building anything', () => {
    const check = spawnSync(old!, [resolve('scripts/check-node.cjs')], { encoding: 'utf8' });
    expect(check.status).toBe(1);
    expect(check.stderr.trim().split('\n')).toHaveLength(1);
    // The package scripts run exactly that check first.
    const scripts = (JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json").scripts)']).toString()) as Record<string, string>);
    for (const name of ['prestart', 'pretest', 'bench']) expect(scripts[name]).toMatch(/^node scripts\/check-node\.cjs && /);
  });

  test('this Node passes the check', () => {
    expect(spawnSync(process.execPath, [resolve('scripts/check-node.cjs')]).status).toBe(0);
  });
});
