import { parseSalesforceDatetime, modstampOf } from '../../src/events/modstamp.js';
import { isSalesforceId, toId18 } from '../../src/events/salesforce-id.js';

describe('toId18', () => {
  test.each([
    ['001000000000001', '001000000000001AAA'],
    ['00D5g00000TESTa', '00D5g00000TESTaEAP'],
    ['0015g00000Acc01', '0015g00000Acc01AAB'],
    ['006Q0000009N3gf', '006Q0000009N3gfIAC'],
  ])('%s -> %s', (id15, id18) => {
    expect(toId18(id15)).toBe(id18);
    expect(toId18(id18)).toBe(id18);
  });

  test('rejects what is not an id', () => {
    expect(isSalesforceId('0015g00000Acc0')).toBe(false);
    expect(isSalesforceId('0015g00000Acc01-AB')).toBe(false);
    expect(() => toId18('nope')).toThrow(TypeError);
  });
});

describe('Salesforce datetimes', () => {
  test.each([
    ['2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:00:00.000+0000', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T12:00:00.000+0200', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T05:00:00-05:00', '2026-11-20T10:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseSalesforceDatetime(text)).toBe(iso);
  });

  test.each(['2026-11-20', 'yesterday', '', '2026-13-45T99:00:00Z'])('%j is not a datetime', (text) => {
    expect(parseSalesforceDatetime(text)).toBeUndefined();
  });

  test('SystemModstamp wins over LastModifiedDate', () => {
    expect(modstampOf({ LastModifiedDate: '2026-01-01T00:00:00.000Z', SystemModstamp: '2026-01-02T00:00:00.000Z' })).toBe('2026-01-02T00:00:00.000Z');
    expect(modstampOf({ LastModifiedDate: '2026-01-01T00:00:00.000Z' })).toBe('2026-01-01T00:00:00.000Z');
    expect(modstampOf({ Name: 'x' })).toBeUndefined();
  });
});
