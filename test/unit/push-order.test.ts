import { pushOrder, type RegisteredPush } from '../../src/writeback/push-order.js';

const mapping = (name: string, dependsOn: string[] = []): RegisteredPush => ({
  name,
  sobjectType: name,
  dependsOn,
  run: async () => ({ considered: 0, unchanged: 0, upserted: 0, failed: [], via: 'none' }),
});

describe('push order (dependent resources)', () => {
  test('dependencies first, each once', () => {
    const registry = [mapping('contacts', ['accounts', 'owners']), mapping('accounts', ['owners']), mapping('owners')];
    expect(pushOrder(registry, 'contacts').map((m) => m.name)).toEqual(['owners', 'accounts', 'contacts']);
    expect(pushOrder(registry, 'owners').map((m) => m.name)).toEqual(['owners']);
  });

  test('a circle or an unknown name is refused with a message saying which', () => {
    expect(() => pushOrder([mapping('a', ['b']), mapping('b', ['a'])], 'a')).toThrow('push mappings depend on each other in a circle: a -> b -> a');
    expect(() => pushOrder([mapping('a', ['ghost'])], 'a')).toThrow(/^No push mapping ghost; known: a/);
  });
});
