const ID_PATTERN = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export function isSalesforceId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/**
 * The case-insensitive 18-character form of a Salesforce id. Outbound Messages from old API
 * versions carry 15-character ids and Apex sends 18: one form keeps one mirror row per record.
 * The 3-character suffix encodes which of the first 15 characters are upper case, 5 bits per block.
 */
export function toId18(id: string): string {
  if (!isSalesforceId(id)) throw new TypeError('not a Salesforce id');
  const base = id.slice(0, 15);
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = base.charCodeAt(block * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return base + suffix;
}

/** An sObject API name: `Contact`, `Invoice__c`, `ns__Thing__c` (letters, digits, underscores; up to 80). */
export const SOBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function isSObjectName(name: string): boolean {
  return SOBJECT_NAME.test(name);
}
