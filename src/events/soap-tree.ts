/**
 * A one-pass reader for the plain XML that Salesforce sends, building exactly the tree that
 * fast-xml-parser builds with the options in outbound-message.ts (namespace prefixes removed,
 * attributes as `@_name`, text as `#text`, `Notification` always an array, text untrimmed) — or
 * answering `undefined` the moment the document steps outside that plain subset, so that the full
 * validator and parser handle it, errors and all.
 *
 * The subset: an optional `<?xml version="1.0" ...?>` declaration at the very start, then one root
 * element `Envelope` (any prefix); ASCII names with at most one prefix; attributes written
 * `name="value"`; text and attribute values whose only references are the five predefined entities
 * (numeric references were decoded before); no comments, CDATA, processing instructions or DTD;
 * at most 16 levels. A document in it is well-formed, so the validator would accept it too; the
 * differential test (test/unit/soap-tree.test.ts) holds the two to the same tree.
 *
 * Why: on a 100-notification message the generic validator and parser took about a third of the
 * web process's CPU (character-by-character string building and a node per text run); this reads
 * the same message in a small fraction of that.
 */

const LT = 60; // <
const GT = 62; // >
const SLASH = 47;
const QUOTE = 34; // "
const EQUALS = 61;
const COLON = 58;
const MAX_DEPTH = 16;
const MAX_ATTRIBUTES = 64;

const DECLARATION = /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*"1\.0"(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*"[A-Za-z][A-Za-z0-9._-]*")?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*"(?:yes|no)")?[ \t\n]*\?>/y;

const ENTITIES = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

/** Names fast-xml-parser refuses or renames (prototype pollution guards): left to it. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

interface Element {
  /** As written, prefix included: the end tag must repeat it exactly. */
  raw: string;
  /** Without its prefix: the key in the tree. */
  name: string;
  attrs: Record<string, string> | undefined;
  children: Record<string, unknown>;
  hasChildren: boolean;
  text: string;
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isNameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9;
}

/** End of a name starting at `i` (ASCII, at most one `prefix:`), or -1. */
function nameEnd(xml: string, i: number): number {
  if (!isNameStart(xml.charCodeAt(i))) return -1;
  let j = i + 1;
  while (isNameChar(xml.charCodeAt(j))) j++;
  if (xml.charCodeAt(j) === COLON) {
    if (!isNameStart(xml.charCodeAt(j + 1))) return -1;
    j += 2;
    while (isNameChar(xml.charCodeAt(j))) j++;
    if (xml.charCodeAt(j) === COLON) return -1;
  }
  return j;
}

/** Decodes the five predefined entities; undefined for any other `&`. */
function decodeEntities(text: string): string | undefined {
  let out = '';
  let from = 0;
  for (let amp = text.indexOf('&'); amp !== -1; amp = text.indexOf('&', from)) {
    const semi = text.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 5) return undefined;
    const value = ENTITIES.get(text.slice(amp + 1, semi));
    if (value === undefined) return undefined;
    out += text.slice(from, amp) + value;
    from = semi + 1;
  }
  return out + text.slice(from);
}

/** The value of a finished element, as fast-xml-parser's compress step makes it. */
function valueOf(el: Element): unknown {
  const obj = el.children;
  if (el.text.length > 0) obj['#text'] = el.text;
  if (el.attrs) return Object.assign(obj, el.attrs);
  if (!el.hasChildren) return el.text;
  return obj;
}

function addChild(parent: Element, name: string, value: unknown): void {
  const existing = parent.children[name];
  if (existing === undefined) {
    parent.children[name] = name === 'Notification' ? [value] : value;
  } else if (Array.isArray(existing)) {
    existing.push(value);
  } else {
    parent.children[name] = [existing, value];
  }
  parent.hasChildren = true;
}

/** The document's tree as `{ Envelope }`, or undefined: not in the plain subset, use the full parser. */
export function readSoapTree(input: string): { Envelope: unknown } | undefined {
  // The parser reads CR LF and lone CR as LF.
  const xml = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input;
  const len = xml.length;
  let i = 0;
  if (xml.startsWith('<?')) {
    DECLARATION.lastIndex = 0;
    if (!DECLARATION.test(xml)) return undefined;
    i = DECLARATION.lastIndex;
  }
  while (i < len && isSpace(xml.charCodeAt(i))) i++;
  const stack: Element[] = [];
  let root: unknown;
  let rootSeen = false;
  while (i < len) {
    // At a '<': a start tag, or an end tag of the element on top of the stack.
    if (xml.charCodeAt(i) !== LT) return undefined;
    if (xml.charCodeAt(i + 1) === SLASH) {
      const top = stack.pop();
      if (!top) return undefined;
      const end = i + 2 + top.raw.length;
      if (!xml.startsWith(top.raw, i + 2)) return undefined;
      let j = end;
      while (isSpace(xml.charCodeAt(j))) j++;
      if (xml.charCodeAt(j) !== GT) return undefined;
      i = j + 1;
      const value = valueOf(top);
      const parent = stack[stack.length - 1];
      if (parent) addChild(parent, top.name, value);
      else root = value;
    } else {
      if (rootSeen && stack.length === 0) return undefined;
      const start = i + 1;
      const end = nameEnd(xml, start);
      if (end === -1) return undefined;
      const raw = xml.slice(start, end);
      const colon = raw.indexOf(':');
      const name = colon === -1 ? raw : raw.slice(colon + 1);
      if (RESERVED.has(name) || (colon !== -1 && raw.startsWith('xmlns:'))) return undefined;
      if (stack.length === 0 && name !== 'Envelope') return undefined;
      let attrs: Record<string, string> | undefined;
      let seen: Set<string> | undefined;
      let j = end;
      for (;;) {
        const spaced = isSpace(xml.charCodeAt(j));
        while (isSpace(xml.charCodeAt(j))) j++;
        const c = xml.charCodeAt(j);
        if (c === GT || c === SLASH) break;
        if (!spaced) return undefined;
        const attrEnd = nameEnd(xml, j);
        if (attrEnd === -1 || xml.charCodeAt(attrEnd) !== EQUALS || xml.charCodeAt(attrEnd + 1) !== QUOTE) return undefined;
        const attrRaw = xml.slice(j, attrEnd);
        const close = xml.indexOf('"', attrEnd + 2);
        if (close === -1) return undefined;
        let value = xml.slice(attrEnd + 2, close);
        if (value.includes('<')) return undefined;
        if (value.includes('&')) {
          const decoded = decodeEntities(value);
          if (decoded === undefined) return undefined;
          value = decoded;
        }
        seen ??= new Set();
        // Salesforce writes one or two attributes an element: many more is not its plain XML.
        if (seen.has(attrRaw) || seen.size >= MAX_ATTRIBUTES) return undefined;
        seen.add(attrRaw);
        const attrColon = attrRaw.indexOf(':');
        const prefix = attrColon === -1 ? attrRaw : attrRaw.slice(0, attrColon);
        if (prefix !== 'xmlns') {
          const attrName = attrColon === -1 ? attrRaw : attrRaw.slice(attrColon + 1);
          if (RESERVED.has(attrName)) return undefined;
          attrs ??= {};
          if (Object.hasOwn(attrs, `@_${attrName}`)) return undefined;
          attrs[`@_${attrName}`] = value;
        }
        j = close + 1;
      }
      const element: Element = { raw, name, attrs, children: {}, hasChildren: false, text: '' };
      if (xml.charCodeAt(j) === SLASH) {
        if (xml.charCodeAt(j + 1) !== GT) return undefined;
        i = j + 2;
        const parent = stack[stack.length - 1];
        if (parent) addChild(parent, name, valueOf(element));
        else root = valueOf(element);
        rootSeen = true;
      } else {
        i = j + 1;
        if (stack.length >= MAX_DEPTH) return undefined;
        stack.push(element);
        rootSeen = true;
      }
    }
    // Text up to the next '<'.
    const next = xml.indexOf('<', i);
    const stop = next === -1 ? len : next;
    if (stop > i) {
      const top = stack[stack.length - 1];
      if (!top) {
        // After the root element: only white space.
        for (let k = i; k < stop; k++) if (!isSpace(xml.charCodeAt(k))) return undefined;
      } else {
        let text = xml.slice(i, stop);
        if (text.includes('&')) {
          const decoded = decodeEntities(text);
          if (decoded === undefined) return undefined;
          text = decoded;
        }
        top.text += text;
      }
    }
    if (next === -1) break;
    if (stack.length === 0 && rootSeen) {
      // Anything after the root element (a comment, a second root) is the full parser's business.
      return undefined;
    }
    i = next;
    const after = xml.charCodeAt(i + 1);
    if (after === 33 || after === 63) return undefined; // <! or <?
  }
  if (stack.length > 0 || !rootSeen) return undefined;
  return { Envelope: root };
}
