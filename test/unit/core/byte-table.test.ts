/** ByteTable (the fast paths' values known by their bytes): found by bytes as it grows, bounded. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteTable, hashBytes } from '../../../functions/core/reader/bytes.ts';

describe('ByteTable', () => {
  it('finds every value it stored by its bytes, and nothing else, as it grows to its bound', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.boolean(),
        (values, probes, maxEntries, weakHash) => {
          const table = new ByteTable<string>(maxEntries);
          // A weak hash (first byte only) puts many values in one chain.
          const hash = (b: Buffer): number => (weakHash ? (b[0] ?? 0) : hashBytes(b, 0, b.length));
          const stored: string[] = [];
          for (const v of values) {
            const b = Buffer.from(`<${v}>`);
            const before = table.find(b, 1, b.length - 1, hash(b.subarray(1, b.length - 1)));
            expect(before).toBe(-1);
            if (table.add(b, 1, b.length - 1, hash(b.subarray(1, b.length - 1)), v)) stored.push(v);
          }
          expect(stored).toEqual(values.slice(0, maxEntries));
          for (const v of [...values, ...probes]) {
            const b = Buffer.from(v);
            const found = table.find(b, 0, b.length, hash(b));
            if (stored.includes(v)) expect(table.values[found]).toBe(v);
            else expect(found).toBe(-1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
