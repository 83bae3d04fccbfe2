/**
 * Type tests: `npm run typecheck` fails when a line marked @ts-expect-error compiles, so these
 * pin down the mistakes the handler API must refuse at compile time. Jest runs the few runtime checks.
 */
import { defineHandler, type HandlerContext, type SalesforceEvent } from 'forcehook';

describe('the handler API refuses wrong states at compile time', () => {
  test('a well-formed handler compiles and gets defaults', () => {
    const h = defineHandler({
      name: 'ok',
      match: { flow: ['a', 'b'], sobjectType: 'Contact', operations: ['insert', 'update'], source: 'apex' },
      async handle(events: SalesforceEvent[], ctx: HandlerContext) {
        // Write-back is optional: it is null without Salesforce credentials, and must be checked.
        ctx.salesforce?.update('Contact', events[0]!.recordId, { Title: 'x' });
        return { skipped: [] };
      },
    });
    expect(h.queue).toBe('forcehook.ok');
    expect(h.deadLetterQueue).toBe('forcehook.ok.dead');
    expect(h.retryLimit).toBe(5);
  });

  test('mistakes do not compile', () => {
    const mistakes = () => {
      defineHandler({
        name: 'x',
        // @ts-expect-error 'merge' is not an operation
        match: { operations: ['merge'] },
        handle: async () => undefined,
      });
      defineHandler({
        name: 'x',
        // @ts-expect-error source is 'outbound' or 'apex'
        match: { source: 'soap' },
        handle: async () => undefined,
      });
      // @ts-expect-error a handler needs a match
      defineHandler({ name: 'x', handle: async () => undefined });
      defineHandler({
        name: 'x',
        match: {},
        // @ts-expect-error skipped lists delivery ids, not events
        handle: async (events) => ({ skipped: events }),
      });
      defineHandler({
        name: 'x',
        match: {},
        async handle(events, ctx) {
          // @ts-expect-error ctx.salesforce may be null (no credentials configured)
          ctx.salesforce.update('Contact', events[0]!.recordId, {});
        },
      });
      defineHandler({
        name: 'x',
        match: {},
        async handle(events) {
          // @ts-expect-error field values are text, numbers, booleans or null, never objects
          const v: object = events[0]!.fields['Name']!;
          void v;
        },
      });
    };
    expect(typeof mistakes).toBe('function');
  });

  test('a name that cannot be a queue name is refused when defined', () => {
    expect(() => defineHandler({ name: 'Not OK', match: {}, handle: async () => undefined })).toThrow(TypeError);
  });
});
