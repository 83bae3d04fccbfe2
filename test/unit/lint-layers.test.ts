import { resolve } from 'node:path';
import { ESLint } from 'eslint';

/** The layer rules of eslint.config.js fire on code that breaks them, and only there. */
describe('lint keeps the layers', () => {
  const eslint = new ESLint({ cwd: resolve('.'), overrideConfigFile: resolve('eslint.config.js') });
  const messages = async (code: string, filePath: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath: resolve(filePath) });
    return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
  };
  const violating = [
    "import pg from 'pg';",
    "import { PgBoss } from 'pg-boss';",
    "import { findEvents } from '../db/reports.js';",
    'export const parts = [PgBoss, findEvents, pg];',
    "export async function f(db: pg.Pool): Promise<void> { await db.query('SELECT 1'); }",
    '',
  ].join('\n');

  test('src/http/ may not import pg, pg-boss or src/db/, nor run SQL', async () => {
    const found = await messages(violating, 'src/http/routes/fake.ts');
    expect(found.filter((m) => m.includes("'pg' import is restricted"))).toHaveLength(1);
    expect(found.filter((m) => m.includes("'pg-boss' import is restricted"))).toHaveLength(1);
    expect(found.filter((m) => m.includes('src/http/ never imports src/db/'))).toHaveLength(1);
    expect(found.filter((m) => m.startsWith('no-restricted-syntax: SQL runs only in src/db/'))).toHaveLength(1);
  });

  test('src/db/ may; types cross layers; jsforce SOQL is not SQL; user code may run SQL', async () => {
    expect(await messages(violating.replace('../db/reports.js', './reports.js'), 'src/db/fake.ts')).toEqual([]);
    const typesOnly = "import type pg from 'pg';\nimport type { EventRow } from '../../db/reports.js';\nexport type T = [pg.Pool, EventRow];\n";
    expect(await messages(typesOnly, 'src/http/routes/fake.ts')).toEqual([]);
    const soql = 'export async function f(conn: { query(s: string): Promise<unknown> }): Promise<unknown> { return conn.query(`SELECT Id FROM Contact`); }\n';
    expect(await messages(soql, 'src/writeback/fake.ts')).toEqual([]);
    expect(await messages("export async function f(db: { query(s: string): Promise<unknown> }): Promise<void> { await db.query('SELECT 1'); }\n", 'handlers/fake.ts')).toEqual([]);
  });

  const bossAndPg = violating.replace("import { findEvents } from '../db/reports.js';\n", '').replace('findEvents', 'null');

  test.each(['src/inbox/fake.ts', 'src/work/fake.ts'])('pg-boss is allowed in %s, pg is not', async (file) => {
    const found = await messages(bossAndPg, file);
    expect(found.some((m) => m.includes("'pg-boss'"))).toBe(false);
    expect(found.some((m) => m.includes("'pg' import is restricted"))).toBe(true);
  });

  test.each(['src/runtime.ts', 'src/cli/fake.ts', 'src/ops/fake.ts', 'src/ingress/fake.ts', 'src/writeback/fake.ts', 'src/odata/fake.ts'])('pg-boss, pg and SQL are refused in %s', async (file) => {
    const found = await messages(bossAndPg, file);
    expect(found.filter((m) => m.includes("'pg-boss' import is restricted"))).toHaveLength(1);
    expect(found.filter((m) => m.includes("'pg' import is restricted"))).toHaveLength(1);
    expect(found.filter((m) => m.startsWith('no-restricted-syntax: SQL runs only in src/db/'))).toHaveLength(1);
  });

  test('the admin route may not import src/db/ either (it reads through src/ops/)', async () => {
    const found = await messages(violating, 'src/http/routes/admin.ts');
    expect(found.filter((m) => m.includes('src/http/ never imports src/db/'))).toHaveLength(1);
  });

  test('src/inbox/ never imports src/work/ (work/ takes jobs from the inbox); the other way round is fine', async () => {
    const code = "import { mirrorHandler } from '../work/mirror.js';\nexport const h = mirrorHandler;\n";
    expect((await messages(code, 'src/inbox/fake.ts')).filter((m) => m.includes('src/inbox/ never imports src/work/'))).toHaveLength(1);
    expect(await messages("import { jobInboxIds } from '../inbox/jobs.js';\nexport const f = jobInboxIds;\n", 'src/work/fake.ts')).toEqual([]);
  });
});
