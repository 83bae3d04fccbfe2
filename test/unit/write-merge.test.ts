import type { ClaimedWrite } from '../../src/db/salesforce-writes.js';
import { merge } from '../../src/writeback/writer.js';

let nextId = 1;
function write(recordKey: string, fields: Record<string, unknown>, orderKey: string | null, extra: Partial<ClaimedWrite> = {}): ClaimedWrite {
  return {
    id: nextId++,
    sobjectType: 'Contact',
    operation: 'update',
    externalIdField: '',
    recordKey,
    fields,
    orderKey,
    handler: 'h',
    causeOrgId: null,
    causeDeliveryId: null,
    attempts: 1,
    ...extra,
  };
}

describe('merging writes to one record', () => {
  test('last value per field wins in modstamp order, whatever order the rows were added in', () => {
    const rows = [
      write('003A', { Title: 'third', Phone: '3' }, '2026-11-20T10:00:03.000Z'),
      write('003A', { Title: 'first', Email: 'a@x' }, '2026-11-20T10:00:01.000Z'),
      write('003A', { Title: 'second', Phone: '2' }, '2026-11-20T10:00:02.000Z'),
    ];
    const [merged, ...rest] = merge(rows);
    expect(rest).toEqual([]);
    expect(merged?.fields).toEqual({ Title: 'third', Phone: '3', Email: 'a@x' });
    expect(merged?.rows.map((r) => r.fields['Title'])).toEqual(['first', 'second', 'third']);
  });

  test('without modstamps, the order they were written in', () => {
    const [merged] = merge([write('003B', { Title: 'a' }, null), write('003B', { Title: 'b' }, null)]);
    expect(merged?.fields).toEqual({ Title: 'b' });
  });

  test('different records, operations and external id fields stay apart', () => {
    const merged = merge([
      write('003C', { Title: 'x' }, null),
      write('003D', { Title: 'y' }, null),
      write('ext-1', { Title: 'z' }, null, { operation: 'upsert', externalIdField: 'External_Id__c' }),
      write('ext-1', { Title: 'w' }, null, { operation: 'upsert', externalIdField: 'Other_Id__c' }),
    ]);
    expect(merged).toHaveLength(4);
  });
});
