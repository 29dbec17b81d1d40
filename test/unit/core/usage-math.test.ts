import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DayUsage } from '../../../functions/core/types.ts';
import {
  add,
  normalise,
  OverflowError,
  splitDayUsage,
  sumDayUsage,
} from '../../../functions/core/usage-math.ts';

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

describe('splitDayUsage', () => {
  it('parts sum back to the usage exactly, and each part stays under the bound', () => {
    fc.assert(
      fc.property(dayUsage, fc.integer({ min: 2_000, max: 60_000 }), (u, max) => {
        const parts = splitDayUsage(u, max);
        expect(sumDayUsage(parts)).toEqual([normalise(u)]);
        // Every part respects the bound, except a part holding one atom that alone is bigger.
        for (const p of parts) {
          if (JSON.stringify(p).length <= max) continue;
          const orgs = Object.values(p.categories).reduce((n, c) => n + Object.keys(c.orgs).length, 0);
          expect(Object.keys(p.endpoints).length + orgs).toBeLessThanOrEqual(1);
          expect(Object.keys(p.categories).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps a small app-day in one part', () => {
    const u: DayUsage = {
      app: 'a',
      day: '2026-11-01',
      requests: 1,
      records: 2,
      bytes: 3,
      errors: 0,
      endpoints: { 'GET /x': { requests: 1, records: 2, bytes: 3, errors: 0 } },
      categories: {},
    };
    expect(splitDayUsage(u)).toEqual([u]);
  });
});

describe('exact sums', () => {
  it('refuses a total past 2^53 − 1 instead of rounding it', () => {
    expect(add(2 ** 53 - 2, 1)).toBe(2 ** 53 - 1);
    expect(() => add(2 ** 53 - 1, 1)).toThrow(OverflowError);
  });
});
