/** The database-per-test helper lives in forcehook/testing (src/testing/database.ts). */
export { createTestDatabase, type TestDatabase } from '../../src/testing/database.js';
