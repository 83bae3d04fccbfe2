// Jest runs this file outside its module system, so it imports the build (`pretest` makes it).
import { adminQuery } from '../../dist/src/db/admin.js';

export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env['FORCEHOOK_TEST_SERVER_URL'];
  const template = process.env['FORCEHOOK_TEST_TEMPLATE'];
  if (serverUrl && template) await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await globalThis.__forcehookEmbedded?.stop();
}
