// Jest runs this file outside its module system, so it imports the build (`pretest` makes it).
import { PgBoss } from 'pg-boss';
import { adminQuery, canConnect, withDatabase } from '../../dist/src/db/admin.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../dist/src/db/embedded.js';
import { migrate } from '../../dist/src/db/migrate.js';
import { createPool } from '../../dist/src/db/pool.js';
import { createLogger } from '../../dist/src/log.js';

declare global {
  var __forcehookEmbedded: EmbeddedPostgres | undefined;
}

/**
 * Once per `npm test`: find PostgreSQL — TEST_DATABASE_URL, else DATABASE_URL, else the machine's
 * server on 127.0.0.1:5432 (user postgres, trust auth), else an embedded one started here — then
 * build a template database with forcehook's migrations and pg-boss's schema, from which each test
 * file clones its own database.
 */
export default async function globalSetup(): Promise<void> {
  const log = createLogger('silent');
  const candidates = [process.env['TEST_DATABASE_URL'], process.env['DATABASE_URL'], 'postgres://postgres@127.0.0.1:5432/postgres'];
  let serverUrl: string | undefined;
  for (const url of candidates) {
    if (url && (await canConnect(url))) {
      serverUrl = url;
      break;
    }
  }
  if (!serverUrl) {
    console.log('\nno PostgreSQL server reachable: starting an embedded one for the tests');
    const embedded = await startEmbeddedPostgres({
      dir: `.forcehook/test-${process.pid}`,
      log,
      persistent: false,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    globalThis.__forcehookEmbedded = embedded;
    serverUrl = embedded.url;
  }
  const template = `fh_template_${process.pid}`;
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${template}`);
  await adminQuery(serverUrl, `CREATE DATABASE ${template}`);
  const url = withDatabase(serverUrl, template);
  const pool = createPool({ connectionString: url, ssl: false, max: 2 }, log);
  await migrate(pool);
  await pool.end();
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, close: true });
  process.env['FORCEHOOK_TEST_SERVER_URL'] = serverUrl;
  process.env['FORCEHOOK_TEST_TEMPLATE'] = template;
}
