import fc from 'fast-check';
import { parseOutboundMessage, parseXmlDocument, soapText } from '../../src/events/outbound-message.js';
import { readSoapTree } from '../../src/events/soap-tree.js';
import { fixture, sharedOutboundFixtures } from '../helpers/fixtures.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';

/**
 * The one-pass reader must build exactly fast-xml-parser's tree for every document it accepts
 * (and accept what Salesforce sends): whatever it takes, the full parser would have taken and read
 * the same way. What it declines goes to the full parser, so declining is always safe.
 */

/** The full parser's tree, when the prechecks and the validator accept the text; undefined otherwise. */
function slowTree(text: string): Record<string, unknown> | undefined {
  try {
    return parseXmlDocument(soapText(Buffer.from(text))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function fastTree(text: string): { Envelope: unknown } | undefined {
  let prechecked: string;
  try {
    prechecked = soapText(Buffer.from(text));
  } catch {
    return undefined;
  }
  return readSoapTree(prechecked);
}

/** Same tree, same key order (the order fields are stored in). */
function expectSameTree(text: string): boolean {
  const fast = fastTree(text);
  if (fast === undefined) return false;
  const slow = slowTree(text);
  expect(slow).toBeDefined();
  expect(Object.keys(slow!).filter((k) => k !== '?xml')).toEqual(['Envelope']);
  expect(fast.Envelope).toStrictEqual(slow!['Envelope']);
  expect(JSON.stringify(fast.Envelope)).toBe(JSON.stringify(slow!['Envelope']));
  return true;
}

describe('readSoapTree: the same tree as fast-xml-parser', () => {
  test('every fixture, ours and the shared captures, is read in one pass', () => {
    const bodies = [
      ...['contacts-two.xml', 'invoice-custom-object.xml', 'account-id-only-single-line.xml'].map((f) => fixture(`outbound/${f}`)),
      ...sharedOutboundFixtures().map((f) => f.body),
    ];
    for (const body of bodies) expect(expectSameTree(body.toString('utf8'))).toBe(true);
  });

  test('built messages with entities, nil, white space, CR LF, non-ASCII and prefixes are read in one pass', () => {
    const xml = buildOutboundMessage({
      orgId: '00D5g00000TESTa',
      sessionId: 'secret-session',
      notifications: Array.from({ length: 100 }, (_, i) => ({
        id: fakeId('04l', i),
        sobjectType: i % 2 ? 'Contact' : 'Invoice__c',
        fields: { Id: fakeId('003', i), Name: `  A & B <c> "q" 'a' é 日本 ${i}\n`, Empty: '', Nil: null, Amount__c: '1.50' },
      })),
    });
    expect(expectSameTree(xml)).toBe(true);
    expect(expectSameTree(xml.replace(/\n/g, '\r\n'))).toBe(true);
    expect(expectSameTree(xml.replace('&amp;', '&#38;').replace('A ', '&#x41; '))).toBe(true);
    const message = parseOutboundMessage(Buffer.from(xml));
    expect(message.notifications).toHaveLength(100);
    expect(message.notifications[1]!.fields).toEqual({ Id: fakeId('003', 1), Name: `  A & B <c> "q" 'a' é 日本 1\n`, Empty: '', Nil: null, Amount__c: '1.50' });
  });

  test('declines what it does not read: comments, CDATA, processing instructions, unknown entities, single quotes', () => {
    const base = buildOutboundMessage({ orgId: '00D5g00000TESTa', notifications: [{ id: fakeId('04l', 1), sobjectType: 'Contact', fields: { Id: fakeId('003', 1), LastName: 'x' } }] });
    for (const edit of [
      (x: string) => x.replace('<sf:LastName>x', '<sf:LastName><!-- c -->x'),
      (x: string) => x.replace('<sf:LastName>x', '<sf:LastName><![CDATA[x]]>'),
      (x: string) => x.replace('<soapenv:Body>', '<soapenv:Body><?pi x?>'),
      (x: string) => x.replace('>x<', '>&nbsp;<'),
      (x: string) => x.replace('xsi:type="sf:Contact"', "xsi:type='sf:Contact'"),
      (x: string) => `${x}<!-- after -->`,
      (x: string) => `  ${x}`,
    ]) {
      const text = edit(base);
      expect(fastTree(text)).toBeUndefined();
      // The full parser still takes it or refuses it, as before.
      expect(() => parseOutboundMessage(Buffer.from(text))).not.toThrow(TypeError);
    }
  });

  // --- generated documents ---------------------------------------------------------------------

  const ws = fc.constantFrom(' ', '  ', '\n', '\t', '\r\n', ' \n ');
  const optWs = fc.oneof(fc.constant(''), ws);
  const name = fc.tuple(fc.constantFrom('', 'sf:', 'soapenv:', 'a:', 'xsi:'), fc.constantFrom('Id', 'sObject', 'Notification', 'OrganizationId', 'Body', 'x', 'Name__c', 'a.b', 'a-b', '_u', 'Envelope'));
  const attr = fc.tuple(
    fc.constantFrom('xsi:type', 'xsi:nil', 'type', 'nil', 'xmlns', 'xmlns:sf', 'a', 'sf:a', 'b:c'),
    fc.constantFrom('sf:Contact', 'true', 'false', '', 'x &amp; y', 'a&lt;b', '&quot;', 'http://x/y', 'a>b', "it's", ' pad ', 'tab\there', 'nl\nhere'),
  );
  const textPiece = fc.constantFrom('x', 'Ada', ' ', '\n', '\r\n', '\r', '\t', '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&amp;lt;', '&#233;', '&#x3C;', 'é', '日本', '>', ']]>', '"', "'", '0035g00000XyZ01', '  00D5g00000TESTa ');
  const text = fc.array(textPiece, { maxLength: 5 }).map((p) => p.join(''));

  type Gen = fc.Arbitrary<string>;
  const element: (depth: number) => Gen = (depth) =>
    fc
      .tuple(
        name,
        fc.uniqueArray(fc.tuple(ws, attr), { maxLength: 3, selector: ([, [n]]) => n.split(':').pop() }),
        optWs,
        fc.oneof(
          { weight: 2, arbitrary: text.map((t) => ({ kind: 'text' as const, t })) },
          { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
          { weight: depth > 0 ? 3 : 0, arbitrary: fc.array(fc.tuple(text, depth > 0 ? element(depth - 1) : fc.constant('')), { maxLength: 4 }).map((c) => ({ kind: 'children' as const, c })) },
        ),
        optWs,
        text,
      )
      .map(([[prefix, local], attrs, spaceBeforeClose, content, endSpace, tail]) => {
        const tag = prefix + local;
        const open = `<${tag}${attrs.map(([s, [n, v]]) => `${s}${n}="${v.replace(/"/g, '&quot;')}"`).join('')}${spaceBeforeClose}`;
        if (content.kind === 'empty') return `${open}/>`;
        const inner = content.kind === 'text' ? content.t : content.c.map(([t, e]) => t + e).join('') + tail;
        return `${open}>${inner}</${tag}${endSpace}>`;
      });

  const document = fc
    .tuple(
      fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>\n', '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n', "<?xml version='1.0'?>"),
      fc.constantFrom('soapenv:', '', 's:'),
      fc.array(fc.tuple(text, element(3)), { maxLength: 4 }),
      text,
      fc.constantFrom('', '\n', '  \n', '', '\n', '  \n', 'x', '<!-- c -->'),
    )
    .map(([decl, prefix, children, tail, after]) => `${decl}<${prefix}Envelope xmlns:${prefix.replace(':', '') || 'x'}="urn:e">${children.map(([t, e]) => t + e).join('')}${tail}</${prefix}Envelope>${after}`);

  test('generated documents: whatever is read in one pass is read the same by the full parser', () => {
    let read = 0;
    fc.assert(
      fc.property(document, (xml) => {
        if (expectSameTree(xml)) read++;
      }),
      { numRuns: 3_000 },
    );
    // Most generated documents are plain enough: the property above is not vacuous.
    expect(read).toBeGreaterThan(1_000);
  });

  test('mutated messages: whatever is read in one pass is read the same by the full parser', () => {
    const base = buildOutboundMessage({
      orgId: '00D5g00000TESTa',
      notifications: [0, 1, 2].map((i) => ({ id: fakeId('04l', i), sobjectType: 'Contact', fields: { Id: fakeId('003', i), LastName: `Name ${i} & co`, Email: null } })),
    });
    const token = fc.constantFrom('<', '>', '&', '&#', '&#0;', '&amp;', '&lt;', '"', "'", '/', '=', ' ', '\n', '\r', ':', 'a:', '<a>', '</a>', '<a/>', '<Notification>', '</Notification>', 'xsi:nil="true"', ' x="1"', '<!-- -->', '<?x?>', '\ufeff');
    const edit = fc.oneof(
      fc.record({ at: fc.nat(), del: fc.integer({ min: 0, max: 12 }), text: fc.oneof(token, fc.string({ maxLength: 4 })) }),
      fc.record({ at: fc.nat(), del: fc.constant(0), text: token }),
    );
    let read = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let xml = base;
        for (const e of edits) {
          const at = e.at % (xml.length + 1);
          xml = xml.slice(0, at) + e.text + xml.slice(at + e.del);
        }
        if (expectSameTree(xml)) read++;
      }),
      { numRuns: 5_000 },
    );
    expect(read).toBeGreaterThan(500);
  });
});

test('an element with thousands of attributes is declined to the full parser at once, not read in quadratic time', () => {
  const attrs = Array.from({ length: 20_000 }, (_, i) => `a${i}=""`).join(' ');
  expect(readSoapTree(`<Envelope><x ${attrs}/></Envelope>`)).toBeUndefined();
  expect(readSoapTree(`<Envelope><x ${Array.from({ length: 64 }, (_, i) => `a${i}=""`).join(' ')}/></Envelope>`)).toBeDefined();
});
