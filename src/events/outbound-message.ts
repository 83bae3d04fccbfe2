import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { InputError, invalidMessage } from '../errors.js';
import { pushedModstamp } from './modstamp.js';
import type { FieldValue, SalesforceEvent } from './salesforce-event.js';
import { isSalesforceId, toId18 } from './salesforce-id.js';
import { readSoapTree } from './soap-tree.js';

/**
 * What Salesforce sends in one Outbound Message, before it becomes events. Only what forcehook needs is checked strictly (the org, each notification's id and record id).
 * ActionId and the API URLs are informational and kept as sent. A SessionId element, which old
 * captures carry and Salesforce no longer sends (since February 2026), is accepted and dropped
 * unread: it would be a credential, so it never reaches an event, a log or the database.
 */
export interface OutboundMessage {
  organizationId: string;
  actionId: string | null;
  enterpriseUrl: string | null;
  partnerUrl: string | null;
  notifications: OutboundNotification[];
}

export interface OutboundNotification {
  /** Stable across Salesforce's retries of the same notification: the dedupe key. */
  id: string;
  sobjectType: string;
  fields: Record<string, FieldValue>;
}

/** Salesforce sends at most 100 notifications in one message (the WSDL's maxOccurs). */
export const MAX_NOTIFICATIONS = 100;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  // Field values keep their exact text, leading/trailing spaces and newlines included.
  trimValues: false,
  // Only the Notification element repeats. Matching on the name alone spares the parser building a
  // path string for every element (a fifth of its time on a 100-notification message).
  isArray: (name) => name === 'Notification',
  jPath: false,
  maxNestedTags: 32,
  // Only XML's predefined entities: a DTD (the only way to declare more) is rejected before parsing.
  processEntities: true,
  htmlEntities: false,
});

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of a POST body -> a validated OutboundMessage. Throws InputError with a code and a
 * message the sender's admin can act on; never returns a partial message.
 */
export function parseOutboundMessage(body: Buffer): OutboundMessage {
  const text = soapText(body);
  // The plain XML Salesforce sends is read in one pass; anything else goes through the full
  // validator and parser, which build the same tree (see soap-tree.ts) or say what is wrong.
  const doc = readSoapTree(text) ?? parseXmlDocument(text);
  const envelope = child(doc, 'Envelope');
  const soapBody = child(envelope, 'Body');
  if (!isObject(envelope) || !isObject(soapBody)) {
    throw new InputError('NOT_SOAP', 'The body is XML but not a SOAP 1.1 Envelope with a Body.');
  }
  const notifications = child(soapBody, 'notifications');
  if (!isObject(notifications)) {
    throw new InputError('NOT_NOTIFICATIONS', 'The SOAP Body holds no <notifications> element: this endpoint accepts Salesforce Outbound Messages only.');
  }
  return toMessage(notifications);
}

/**
 * The body as text, with what no SOAP message may hold refused first: invalid UTF-8, nothing at
 * all, a DTD, control characters; numeric character references decoded. Exported for the tests.
 */
export function soapText(body: Buffer): string {
  const xml = decodeUtf8(body);
  if (!/\S/.test(xml)) throw new InputError('BODY_EMPTY', 'The request body is empty; expected a SOAP Outbound Message.');
  // SOAP 1.1 forbids a DTD, and a DTD is how entity bombs and external entities get in.
  if (/<!\s*(?:DOCTYPE|ENTITY)/i.test(xml)) {
    throw new InputError('DTD_FORBIDDEN', 'DOCTYPE and ENTITY declarations are not allowed in a SOAP message.');
  }
  // XML 1.0 allows no control characters but tab, CR and LF (and the database could not store NUL).
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const forbidden = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(xml);
  if (forbidden) {
    throw new InputError('BODY_MALFORMED', `The body contains a character XML does not allow (U+${forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}).`);
  }
  return decodeCharacterReferences(xml);
}

/** The full validator and parser: any XML, with a line and column when it is not well-formed. Exported for the tests. */
export function parseXmlDocument(text: string): unknown {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new InputError('BODY_MALFORMED', `The body is not well-formed XML (line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}).`);
  }
  try {
    return parser.parse(text) as unknown;
  } catch (err) {
    throw new InputError('BODY_MALFORMED', `The body could not be parsed as XML: ${err instanceof Error ? err.message : 'unknown error'}.`);
  }
}

/** Turns a parsed message into one event per notification. */
export function outboundEvents(message: OutboundMessage, flow: string, receivedAt: Date): SalesforceEvent[] {
  const orgId = toId18(message.organizationId);
  const at = receivedAt.toISOString();
  return message.notifications.map((n, i) => {
    const modstamp = pushedModstamp(n.fields, receivedAt, `Notification.${i}.sObject SystemModstamp/LastModifiedDate`);
    const event: SalesforceEvent = {
      deliveryId: n.id,
      source: 'outbound',
      flow,
      orgId,
      sobjectType: n.sobjectType,
      recordId: toId18(n.fields['Id'] as string),
      operation: 'upsert',
      fields: n.fields,
      receivedAt: at,
    };
    if (modstamp) event.modstamp = modstamp;
    return event;
  });
}

const idString = z
  .string()
  .transform((s) => s.trim())
  .refine(isSalesforceId, 'must be a 15- or 18-character Salesforce id');

const NotificationSchema = z.object({
  Id: idString,
  sObject: z.unknown(),
});

const NotificationsSchema = z.object({
  OrganizationId: idString,
  ActionId: z.unknown().optional(),
  EnterpriseUrl: z.unknown().optional(),
  PartnerUrl: z.unknown().optional(),
  Notification: z
    .array(NotificationSchema)
    .min(1, 'a message needs at least one Notification')
    .max(MAX_NOTIFICATIONS, `Salesforce sends at most ${MAX_NOTIFICATIONS} notifications in one message`),
});

type Notifications = z.infer<typeof NotificationsSchema>;

/**
 * What NotificationsSchema returns for a node it accepts, checked by hand (zod over a hundred
 * notifications cost more than reading them); undefined when anything is off, and the schema then
 * says what, with its own paths and messages.
 */
function checkedNotifications(node: Record<string, unknown>): Notifications | undefined {
  const org = node['OrganizationId'];
  if (typeof org !== 'string') return undefined;
  const organizationId = org.trim();
  const list = node['Notification'];
  if (!isSalesforceId(organizationId) || !Array.isArray(list) || list.length < 1 || list.length > MAX_NOTIFICATIONS) return undefined;
  const items: Notifications['Notification'] = [];
  for (const item of list as unknown[]) {
    if (!isObject(item) || typeof item['Id'] !== 'string' || !isObject(item['sObject'])) return undefined;
    const id = item['Id'].trim();
    if (!isSalesforceId(id)) return undefined;
    items.push({ Id: id, sObject: item['sObject'] });
  }
  return { OrganizationId: organizationId, ActionId: node['ActionId'], EnterpriseUrl: node['EnterpriseUrl'], PartnerUrl: node['PartnerUrl'], Notification: items };
}

function toMessage(node: Record<string, unknown>): OutboundMessage {
  let n = checkedNotifications(node);
  if (!n) {
    const parsed = NotificationsSchema.safeParse(node);
    if (!parsed.success) {
      throw invalidMessage('The Outbound Message', 'notifications', parsed.error);
    }
    n = parsed.data;
  }
  const seen = new Set<string>();
  const notifications = n.Notification.map((item, index) => {
    const path = `Notification.${index}`;
    if (seen.has(item.Id)) throw invalid(`${path}.Id`, `repeats notification ${item.Id} within one message`);
    seen.add(item.Id);
    return toNotification(item.Id, item.sObject, path);
  });
  return {
    organizationId: n.OrganizationId,
    actionId: textOrNull(n.ActionId),
    enterpriseUrl: textOrNull(n.EnterpriseUrl),
    partnerUrl: textOrNull(n.PartnerUrl),
    notifications,
  };
}

function toNotification(id: string, sobject: unknown, path: string): OutboundNotification {
  if (!isObject(sobject)) throw invalid(`${path}.sObject`, 'is missing or empty');
  const type = sobject['@_type'];
  if (typeof type !== 'string' || !/^(?:\w+:)?[A-Za-z][A-Za-z0-9_]*$/.test(type.trim())) {
    throw invalid(`${path}.sObject`, 'needs an xsi:type naming the sObject, such as sf:Contact');
  }
  const fields: Record<string, FieldValue> = {};
  flattenFields(sobject, '', fields, `${path}.sObject`);
  const recordId = fields['Id'];
  if (typeof recordId !== 'string' || !isSalesforceId(recordId.trim())) {
    throw invalid(`${path}.sObject.Id`, 'must be the 15- or 18-character id of the record');
  }
  fields['Id'] = recordId.trim();
  return { id, sobjectType: type.trim().replace(/^\w+:/, ''), fields };
}

/** A field is text, nil, or (rarely) a nested element whose children become `Parent.Child`. */
function flattenFields(node: Record<string, unknown>, prefix: string, out: Record<string, FieldValue>, path: string): void {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || key === '#text') continue;
    const name = prefix + key;
    if (Array.isArray(value)) throw invalid(`${path}.${name}`, 'appears more than once');
    if (typeof value === 'string') {
      out[name] = value;
    } else if (isObject(value)) {
      if (value['@_nil'] === 'true') out[name] = null;
      else if (typeof value['#text'] === 'string' && !hasElements(value)) out[name] = value['#text'];
      else if (!hasElements(value)) out[name] = '';
      else flattenFields(value, `${name}.`, out, path);
    }
  }
}

function hasElements(node: Record<string, unknown>): boolean {
  return Object.keys(node).some((k) => !k.startsWith('@_') && k !== '#text');
}

function textOrNull(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() || null;
  if (isObject(value) && typeof value['#text'] === 'string') return value['#text'].trim() || null;
  return null;
}

function invalid(path: string, message: string): InputError {
  return new InputError('INVALID_MESSAGE', `The Outbound Message is invalid: ${path} ${message}.`, { issues: [{ path, message }] });
}

function child(node: unknown, name: string): unknown {
  return isObject(node) ? node[name] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeUtf8(body: Buffer): string {
  try {
    // The decoder drops a leading byte-order mark, which some SOAP stacks send.
    return decoder.decode(body);
  } catch {
    throw new InputError('BODY_MALFORMED', 'The body is not valid UTF-8; Salesforce sends UTF-8.');
  }
}

const MARKUP: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

/**
 * The parser leaves numeric character references (`&#233;`) undecoded unless it is also told to
 * expand HTML's named entities, which XML without a DTD does not have. Decode them here, before
 * parsing, so `&amp;#233;` (the literal text) and `&#233;` (é) stay different.
 */
function decodeCharacterReferences(xml: string): string {
  if (!xml.includes('&#')) return xml;
  return xml.replace(/&#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}));/g, (ref, hex: string | undefined, dec: string | undefined) => {
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10);
    const valid = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!valid) throw new InputError('BODY_MALFORMED', `The body contains a character reference that XML does not allow: ${ref}.`);
    const ch = String.fromCodePoint(code);
    return MARKUP[ch] ?? ch;
  });
}
