import type { Handler } from './define-handler.js';
import { mirrorHandler } from './mirror.js';

/**
 * The handlers forcehook itself runs in every deployment. Yours go in handlers/ at the package
 * root (see src/user-code.ts): each gets its own queue, retries and dead-letter queue; an event
 * goes to every handler whose `match` it fits.
 */
export const handlers: readonly Handler[] = [mirrorHandler];
