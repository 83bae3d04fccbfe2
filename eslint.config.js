import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers, kept by lint. Only src/db/ talks to PostgreSQL; pg-boss stays behind src/inbox/
// (which stores and enqueues) and src/work/ (which takes jobs off it); the HTTP layer never reaches
// into the database (the admin page reads through src/ops/). Types may cross (they run nothing).
const pgOnlyInDb = {
  name: 'pg',
  allowTypeImports: true,
  message: 'Only src/db/ talks to PostgreSQL: put the SQL in a small src/db/ module named for what it does, and call that.',
};
const bossOnlyInInboxAndWork = {
  name: 'pg-boss',
  allowTypeImports: true,
  message: 'pg-boss is used only from src/inbox/ and src/work/: go through one of their functions (startBoss, createIngest, ...).',
};
const noDbFromHttp = {
  group: ['**/db/*', '**/db/**'],
  allowTypeImports: true,
  message: 'src/http/ never imports src/db/: take what the route needs as a dependency (see createApp) from the layer below.',
};
const noWorkFromInbox = {
  group: ['**/work/*', '**/work/**'],
  message: 'src/inbox/ never imports src/work/: work/ takes jobs from the inbox, not the other way round; describe what the inbox needs as an interface (see Router, HandlerQueue).',
};
// A `.query('…SQL…')` call: a string or template literal handed to `query`. jsforce's
// `conn.query` / `conn.bulk2.query` run SOQL against Salesforce, not SQL, so they are left alone;
// so is passing pg-boss's own SQL through (`client.query(text, values)`: no literal).
const sqlOutsideDb = {
  selector:
    "CallExpression[callee.property.name='query'][arguments.0.type=/^(Literal|TemplateLiteral)$/]:not([callee.object.name=/^(conn(ection)?|defaultParser)$/]):not([callee.object.property.name='bulk2'])",
  message: 'SQL runs only in src/db/: move this statement into a src/db/ module (one statement per function) and call it.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'apex/', '.forcehook/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'test/helpers/global-*.ts'],
    rules: { 'no-console': 'off' },
  },
  // Layers. User code (handlers/, mappings/, examples/), tests and the bench may run SQL through ctx.db.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: {
      'no-restricted-syntax': ['error', sqlOutsideDb],
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb, bossOnlyInInboxAndWork] }],
    },
  },
  {
    files: ['src/work/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb] }] },
  },
  {
    files: ['src/inbox/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb], patterns: [noWorkFromInbox] }] },
  },
  {
    files: ['src/http/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb, bossOnlyInInboxAndWork], patterns: [noDbFromHttp] }] },
  },
  {
    // Plain CommonJS that must run on the old Node it refuses.
    files: ['scripts/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-var': 'off' },
  },
);
