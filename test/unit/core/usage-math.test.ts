import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DayUsage } from '../../../functions/core/types.ts';
import { add, normalise, OverflowError, sumDayUsage } from '../../../functions/core/usage-math.ts';

const counts = fc.record({
  requests: fc.nat(1e6),
  records: fc.nat(1e9),
  bytes: fc.nat(1e12),
  errors: fc.nat(1e6),
});
const name = fc.string({ minLength: 1, maxLength: 300 });
const dayUsage: fc.Arbitrary<DayUsage> = fc.record({
  app: fc.constant('app-1'),
  day: fc.constant('2026-11-27'),
  requests: fc.nat(1e6),
  records: fc.nat(1e9),
  bytes: fc.nat(1e12),
  errors: fc.nat(1e6),
  endpoints: fc.dictionary(name, counts, { maxKeys: 400 }),
  categories: fc.dictionary(
    fc.constantFrom('government', 'data-broker', 'press'),
    fc.record({
      requests: fc.nat(1e6),
      records: fc.nat(1e9),
      orgs: fc.dictionary(name, fc.record({ requests: fc.nat(1e6), records: fc.nat(1e9) }), { maxKeys: 300 }),
    }),
  ),
});

describe('sumDayUsage', () => {
  it('gives one app-day back as it was (keys sorted), and two copies of it twice its counts', () => {
    fc.assert(
      fc.property(dayUsage, (u) => {
        expect(sumDayUsage([u])).toEqual([normalise(u)]);
        const [two] = sumDayUsage([u, u]);
        expect(two?.requests).toBe(2 * u.requests);
        expect(two?.records).toBe(2 * u.records);
        for (const [ep, c] of Object.entries(u.endpoints))
          expect(Object.getOwnPropertyDescriptor(two?.endpoints, ep)?.value.requests).toBe(2 * c.requests);
      }),
      { numRuns: 100 },
    );
  });
});

describe('exact sums', () => {
  it('refuses a total past 2^53 − 1 instead of rounding it', () => {
    expect(add(2 ** 53 - 2, 1)).toBe(2 ** 53 - 1);
    expect(() => add(2 ** 53 - 1, 1)).toThrow(OverflowError);
  });
});
