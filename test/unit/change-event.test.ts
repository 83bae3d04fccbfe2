import { streamEvents } from '../../src/events/change-event.js';
import { toId18 } from '../../src/events/salesforce-id.js';

const ORG = toId18('00D5g00000TESTa');
const at = new Date('2026-12-01T12:00:00.000Z');

describe('streamed events with times that are no dates', () => {
  test('a Platform Event whose CreatedDate is malformed is stored without a modstamp, not thrown on', () => {
    for (const created of ['not a date', 8.64e15 + 1, Number.NaN]) {
      const [event] = streamEvents('/event/Order__e', 'orders', ORG, { event: { replayId: 7 }, payload: { EventUuid: 'e-1', CreatedDate: created } }, at);
      expect(event).toMatchObject({ recordId: 'e-1', operation: 'insert' });
      expect(event?.modstamp).toBeUndefined();
    }
    const [good] = streamEvents('/event/Order__e', 'orders', ORG, { event: { replayId: 8 }, payload: { EventUuid: 'e-2', CreatedDate: Date.UTC(2026, 11, 1) } }, at);
    expect(good?.modstamp).toBe('2026-12-01T00:00:00.000Z');
  });

  test('a change event whose commitTimestamp is out of range keeps its records, without a modstamp', () => {
    const header = { entityName: 'Contact', changeType: 'UPDATE', recordIds: [toId18('003000000000001')], commitTimestamp: 1e20 };
    const events = streamEvents('/data/ContactChangeEvent', 'contacts', ORG, { event: { replayId: 9 }, payload: { ChangeEventHeader: header, LastName: 'X' } }, at);
    expect(events).toHaveLength(1);
    expect(events[0]?.modstamp).toBeUndefined();
  });
});
