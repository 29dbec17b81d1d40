/**
 * The KMV sketch of request_ids across objects (issue 11 item 5): merging is associative and
 * commutative, exact below k distinct ids, and within its documented error above.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  estimateDistinct,
  estimateDuplicated,
  type Kmv,
  KmvBuilder,
  mergeAllKmv,
  mergeKmv,
} from '../../../functions/core/kmv.ts';
import { seededRandom } from '../../../functions/core/support.ts';

const K = 16;
const hash = fc.integer({ min: 0, max: 2 ** 52 - 1 });
const sketchOf = (hashes: readonly number[], k = K): Kmv => {
  const b = new KmvBuilder(k);
  for (const h of hashes) b.add(h);
  return b.result();
};
const sketch = fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }).map((l) => sketchOf(l));

describe('KMV sketch of request_ids', () => {
  it('keeps the k smallest distinct hashes, ascending', () => {
    fc.assert(
      fc.property(fc.array(hash, { maxLength: 100 }), (hs) => {
        const expected = [...new Set(hs)].sort((a, b) => a - b).slice(0, K);
        expect(sketchOf(hs).h).toEqual(expected);
      }),
    );
  });

  it('merges associatively and commutatively', () => {
    fc.assert(
      fc.property(sketch, sketch, sketch, (a, b, c) => {
        expect(mergeKmv(a, b, K)).toEqual(mergeKmv(b, a, K));
        expect(mergeKmv(mergeKmv(a, b, K), c, K)).toEqual(mergeKmv(a, mergeKmv(b, c, K), K));
      }),
    );
  });

  it('is exact below k distinct ids: ids in two or more objects, and distinct ids', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 14 }), { maxLength: 10 }), { maxLength: 6 }),
        (objects) => {
          const merged = mergeAllKmv(
            objects.map((o) => sketchOf(o)),
            K,
          ) ?? { h: [] };
          const inObjects = new Map<number, number>();
          for (const o of objects)
            for (const id of new Set(o)) inObjects.set(id, (inObjects.get(id) ?? 0) + 1);
          expect(estimateDistinct(merged, K)).toBe(inObjects.size);
          expect(estimateDuplicated(merged, K)).toBe([...inObjects.values()].filter((n) => n >= 2).length);
        },
      ),
    );
  });

  it('estimates within a few standard errors above k (k = 256, 20,000 ids, 30 % in two objects)', () => {
    const random = seededRandom(7);
    const ids = Array.from({ length: 20_000 }, () => Math.floor(random() * 2 ** 52));
    const a = new KmvBuilder();
    const b = new KmvBuilder();
    ids.forEach((id, i) => {
      if (i % 10 < 7) a.add(id);
      else b.add(id);
      if (i % 10 < 3) b.add(id); // 30 % of the ids are in both objects
    });
    const merged = mergeKmv(a.result(), b.result());
    // Relative standard errors (kmv.ts): distinct 1/√254 ≈ 6 %, the duplicated fraction √(0.7/(0.3·256)) ≈ 10 %.
    expect(Math.abs(estimateDistinct(merged) / 20_000 - 1)).toBeLessThan(0.25);
    expect(Math.abs(estimateDuplicated(merged) / 6_000 - 1)).toBeLessThan(0.4);
  });
});
