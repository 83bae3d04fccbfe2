import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers, kept by lint. Only src/db/ talks to PostgreSQL; pg-boss stays behind the queue; the
// HTTP layer never reaches into the database. Types may cross (they run nothing).
const pgOnlyInDb = {
  name: 'pg',
  allowTypeImports: true,
  message: 'Only src/db/ talks to PostgreSQL: put the SQL in a small src/db/ module named for what it does, and call that.',
};
const bossOnlyInQueue = {
  name: 'pg-boss',
  allowTypeImports: true,
  message: 'pg-boss is used from src/queue/ (and the composition root and CLI that start it): go through a src/queue/ function.',
};
const noDbFromHttp = {
  group: ['**/db/*', '**/db/**'],
  allowTypeImports: true,
  message: 'src/http/ never imports src/db/: take what the route needs as a dependency (see createApp) from the layer below.',
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
    // src/odata/ (merged from issue 14) still runs its statements itself: the re-layout moves them to db/.
    ignores: ['src/db/**', 'src/odata/**'],
    rules: {
      'no-restricted-syntax': ['error', sqlOutsideDb],
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb, bossOnlyInQueue] }],
    },
  },
  {
    // For now pg-boss is also started by the composition root and the CLI; the re-layout into
    // inbox/ and work/ narrows this to those two folders.
    files: ['src/queue/**', 'src/runtime.ts', 'src/cli/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb] }] },
  },
  {
    files: ['src/http/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb, bossOnlyInQueue], patterns: [noDbFromHttp] }] },
  },
  {
    // The one exception: the admin page still reads db/reports directly. The read side (status,
    // events, dead letters) moves to ops/ in the re-layout, shared with the CLI; then this goes.
    files: ['src/http/routes/admin.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [pgOnlyInDb, bossOnlyInQueue] }] },
  },
  {
    // Plain CommonJS that must run on the old Node it refuses.
    files: ['scripts/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-var': 'off' },
  },
);
