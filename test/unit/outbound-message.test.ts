import { outboundEvents, parseOutboundMessage } from '../../src/events/outbound-message.js';
import { buildOutboundMessage, fakeId } from '../helpers/outbound-builder.js';
import { fixture } from '../helpers/fixtures.js';
import { errorCodeOf as codeOf } from '../helpers/error-code.js';

const ENVELOPE = (body: string): string =>
  `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe('parseOutboundMessage', () => {
  test('two Contacts, org id and modstamps; the SessionId of an old capture is dropped unread', () => {
    const message = parseOutboundMessage(fixture('outbound/contacts-two.xml'));
    expect(message.organizationId).toBe('00D5g00000TESTaEAP');
    expect(fixture('outbound/contacts-two.xml').toString()).toContain('<SessionId>00D5g00000TESTa!');
    expect(JSON.stringify(message)).not.toContain('00D5g00000TESTa!');
    expect(message.actionId).toBe('04k5g000000FhkXAAS');
    expect(message.partnerUrl).toBe('https://forcehook-test.my.salesforce.com/services/Soap/u/62.0/00D5g00000TESTa');
    expect(message.notifications.map((n) => n.id)).toEqual(['04l5g00000Ab1CdAAJ', '04l5g00000Ab1CeAAJ']);
    expect(message.notifications[0]).toEqual({
      id: '04l5g00000Ab1CdAAJ',
      sobjectType: 'Contact',
      fields: {
        Id: '0035g00000XyZ01AAF',
        Email: 'ada.lovelace@example.com',
        FirstName: 'Ada',
        LastModifiedById: '0055g00000Int01AAB',
        LastName: 'Lovelace',
        SystemModstamp: '2026-11-20T10:00:00.000Z',
      },
    });
  });

  test('custom object: BOM, no declaration, entities, numeric references, multi-line, non-ASCII, nil, text kept as text', () => {
    const [n] = parseOutboundMessage(fixture('outbound/invoice-custom-object.xml')).notifications;
    expect(n?.sobjectType).toBe('Invoice__c');
    expect(n?.fields).toEqual({
      Id: 'a015g00000Inv01',
      Amount__c: '1250.50',
      Customer_Name__c: 'Zoë Müller & Søn 日本',
      Description__c: 'Line one <b>bold</b>\nLine two with café and ☺\n  indented line three',
      Due_Date__c: '2026-12-31',
      LastModifiedDate: '2026-11-21T08:30:00.000Z',
      Notes__c: null,
      Paid__c: 'false',
      Postal_Code__c: '02134',
      Reference__c: 'literal &#233; stays text',
    });
  });

  test('single-line body whose sObject carries only its Id', () => {
    const message = parseOutboundMessage(fixture('outbound/account-id-only-single-line.xml'));
    expect(message.notifications).toEqual([{ id: '04l5g00000Ab1Cg', sobjectType: 'Account', fields: { Id: '0015g00000Acc01' } }]);
  });

  test('lenient with what forcehook does not need: any ActionId, nil or missing URLs', () => {
    const notification = '<Notification><Id>04l5g00000Ab1Cg</Id><sObject xsi:type="sf:Account"><sf:Id>0015g00000Acc01</sf:Id></sObject></Notification>';
    const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    for (const actionId of ['<ActionId>replayed-by-a-test-tool</ActionId>', '<ActionId/>', '<ActionId xsi:nil="true"/>', '']) {
      const message = parseOutboundMessage(Buffer.from(ENVELOPE(`<notifications ${xsi}><OrganizationId>00D5g00000TESTa</OrganizationId>${actionId}<EnterpriseUrl xsi:nil="true"/>${notification}</notifications>`)));
      expect(message.notifications).toHaveLength(1);
      expect(message.enterpriseUrl).toBeNull();
      expect(message.partnerUrl).toBeNull();
    }
  });

  test('events: 18-character org and record ids, modstamp from SystemModstamp else LastModifiedDate', () => {
    const at = new Date('2026-11-24T00:00:00Z');
    const [contact] = outboundEvents(parseOutboundMessage(fixture('outbound/contacts-two.xml')), 'contacts', at);
    expect(contact).toMatchObject({
      deliveryId: '04l5g00000Ab1CdAAJ',
      source: 'outbound',
      flow: 'contacts',
      orgId: '00D5g00000TESTaEAP',
      recordId: '0035g00000XyZ01AAF',
      operation: 'upsert',
      modstamp: '2026-11-20T10:00:00.000Z',
      receivedAt: '2026-11-24T00:00:00.000Z',
    });
    const [invoice] = outboundEvents(parseOutboundMessage(fixture('outbound/invoice-custom-object.xml')), 'invoices', at);
    expect(invoice?.orgId).toBe('00D5g00000TESTaEAP');
    expect(invoice?.recordId).toBe('a015g00000Inv01AAB');
    expect(invoice?.modstamp).toBe('2026-11-21T08:30:00.000Z');
    const [account] = outboundEvents(parseOutboundMessage(fixture('outbound/account-id-only-single-line.xml')), 'accounts', at);
    expect(account?.modstamp).toBeUndefined();
  });

  test('a modstamp more than 5 minutes ahead of receipt is refused: it would pin the mirrored record', () => {
    const at = new Date('2026-11-24T00:00:00Z');
    const message = (stamp: string) =>
      parseOutboundMessage(Buffer.from(buildOutboundMessage({ orgId: '00D5g00000TESTa', notifications: [{ id: fakeId('04l', 1), sobjectType: 'Contact', fields: { Id: fakeId('003', 1), SystemModstamp: stamp } }] })));
    expect(codeOf(() => outboundEvents(message('2099-01-01T00:00:00.000Z'), 'contacts', at))).toBe('MODSTAMP_IN_FUTURE');
    expect(codeOf(() => outboundEvents(message('2026-11-24T00:05:01.000Z'), 'contacts', at))).toBe('MODSTAMP_IN_FUTURE');
    expect(outboundEvents(message('2026-11-24T00:04:59.000Z'), 'contacts', at)[0]?.modstamp).toBe('2026-11-24T00:04:59.000Z');
  });

  test('100 notifications are accepted, 101 are not', () => {
    const spec = (count: number) =>
      buildOutboundMessage({
        orgId: '00D5g00000TESTa',
        notifications: Array.from({ length: count }, (_, i) => ({ id: fakeId('04l', i), sobjectType: 'Contact', fields: { Id: fakeId('003', i) } })),
      });
    expect(parseOutboundMessage(Buffer.from(spec(100))).notifications).toHaveLength(100);
    expect(codeOf(() => parseOutboundMessage(Buffer.from(spec(101))))).toBe('INVALID_MESSAGE');
  });

  test.each([
    ['empty body', 'BODY_EMPTY', ''],
    ['whitespace only', 'BODY_EMPTY', '  \n '],
    ['not XML', 'BODY_MALFORMED', '{"orgId":"00D"}'],
    ['truncated', 'BODY_MALFORMED', fixture('outbound/contacts-two.xml').toString('utf8').slice(0, 900)],
    ['XML that is not SOAP', 'NOT_SOAP', '<notifications><OrganizationId>00D5g00000TESTa</OrganizationId></notifications>'],
    ['SOAP that is not notifications', 'NOT_NOTIFICATIONS', ENVELOPE('<login xmlns="urn:partner.soap.sforce.com"><username>x</username></login>')],
    ['no Notification', 'INVALID_MESSAGE', ENVELOPE('<notifications><OrganizationId>00D5g00000TESTa</OrganizationId><ActionId>04k5g000000FhkZ</ActionId></notifications>')],
    ['bad org id', 'INVALID_MESSAGE', ENVELOPE('<notifications><OrganizationId>not-an-id</OrganizationId><ActionId>04k5g000000FhkZ</ActionId><Notification><Id>04l5g00000Ab1Cg</Id><sObject xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="sf:Account"><Id>0015g00000Acc01</Id></sObject></Notification></notifications>')],
    ['sObject without type', 'INVALID_MESSAGE', ENVELOPE('<notifications><OrganizationId>00D5g00000TESTa</OrganizationId><ActionId>04k5g000000FhkZ</ActionId><Notification><Id>04l5g00000Ab1Cg</Id><sObject><Id>0015g00000Acc01</Id></sObject></Notification></notifications>')],
    ['sObject without Id', 'INVALID_MESSAGE', ENVELOPE('<notifications><OrganizationId>00D5g00000TESTa</OrganizationId><ActionId>04k5g000000FhkZ</ActionId><Notification><Id>04l5g00000Ab1Cg</Id><sObject xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="sf:Account"><Name>x</Name></sObject></Notification></notifications>')],
    ['an invalid character reference', 'BODY_MALFORMED', ENVELOPE('<x>&#0;</x>')],
    ['a raw NUL character', 'BODY_MALFORMED', ENVELOPE('<x>a\u0000b</x>')],
    ['a raw control character', 'BODY_MALFORMED', ENVELOPE('<x>a\u0007b</x>')],
  ])('%s is refused as %s', (_name, code, body) => {
    expect(codeOf(() => parseOutboundMessage(Buffer.from(body)))).toBe(code);
  });

  test('the same notification twice in one message is refused', () => {
    const xml = buildOutboundMessage({
      orgId: '00D5g00000TESTa',
      notifications: [0, 0].map((i) => ({ id: fakeId('04l', i), sobjectType: 'Contact', fields: { Id: fakeId('003', i) } })),
    });
    expect(codeOf(() => parseOutboundMessage(Buffer.from(xml)))).toBe('INVALID_MESSAGE');
  });

  test('invalid UTF-8 is refused', () => {
    const bytes = Buffer.concat([Buffer.from(ENVELOPE('<x>')), Buffer.from([0xc3, 0x28]), Buffer.from('</x>')]);
    expect(codeOf(() => parseOutboundMessage(bytes))).toBe('BODY_MALFORMED');
  });

  test('a DOCTYPE (entity bomb, external entity) is refused before parsing, quickly', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]>${ENVELOPE('<x>&lol9;</x>')}`;
    const xxe = `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${ENVELOPE('<x>&xxe;</x>')}`;
    const lowercase = `<!doctype x>${ENVELOPE('')}`;
    const started = performance.now();
    for (const body of [bomb, xxe, lowercase]) expect(codeOf(() => parseOutboundMessage(Buffer.from(body)))).toBe('DTD_FORBIDDEN');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test('deeply nested elements are refused, not recursed into', () => {
    const deep = ENVELOPE(`${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`);
    expect(codeOf(() => parseOutboundMessage(Buffer.from(deep)))).toBe('BODY_MALFORMED');
  });
});
