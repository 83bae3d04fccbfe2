import { VerificationError } from '../errors.js';

/**
 * Accepts an org whose 15-character id prefix is allowed. 15-character ids are case-sensitive and
 * the 18-character form only appends a checksum, so the prefix compare covers both forms.
 * `null` allows any org (local use only; config refuses it with a real database).
 */
export function verifyOrgAllowed(allowedPrefixes: ReadonlySet<string> | null, orgId: string): void {
  if (allowedPrefixes === null) return;
  if (!allowedPrefixes.has(orgId.slice(0, 15))) {
    throw new VerificationError(
      'ORG_NOT_ALLOWED',
      `Organization ${orgId} is not allowed to send here; add its id to SALESFORCE_ORG_IDS if it should be.`,
    );
  }
}
