/**
 * forcehook/testing: what a deployment's own tests need — a signed Apex callout, a fake Salesforce
 * (REST, Bulk 2.0, Composite, CometD streaming, OAuth) and a fresh database per test file.
 */
export { signApexCallout, type SignOptions } from './sign.js';
export { signPayload, signedHeaders, verifyWebhook } from '../verification/standard-webhooks.js';
export * from './fake-salesforce.js';
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './database.js';
