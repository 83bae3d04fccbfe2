import { contactMatchHandler } from '../../examples/contact-match/handlers/contact-match.js';
import type { Handler } from './define-handler.js';
import { mirrorHandler } from './mirror.js';

/**
 * The handlers this deployment runs: add yours here. Each gets its own queue, retries and
 * dead-letter queue; an event goes to every handler whose `match` it fits.
 */
export const handlers: readonly Handler[] = [mirrorHandler, contactMatchHandler];
