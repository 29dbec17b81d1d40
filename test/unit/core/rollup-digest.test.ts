/**
 * A rollup's content digest (core/rollup.ts): exact over the per-object rows it was built from,
 * whatever their order, kept through the stored parts, and never part of the row the audit reads.
 */
import { describe, expect, it } from 'vitest';
import type { UsageRow } from '../../../functions/core/ledger.ts';
import {
  buildRollup,
  contentDigest,
  joinRollup,
  rollupRow,
  splitRollup,
} from '../../../functions/core/rollup.ts';

const counts = (requests: number, records: number) => ({ requests, records, bytes: 10 * records, errors: 0 });

function objectRow(n: number, records = n + 1, gen = `g${n}`): UsageRow {
  return {
    app: 'a1',
    day: '2026-11-02',
    ...counts(1, records),
    endpoints: { 'GET /x': counts(1, records) },
    categories: {},
    sources: [{ key: `logs/${n}.jsonl`, gen }],
  };
}

const rows = [objectRow(0), objectRow(1), objectRow(2)];
const keyOf = (part: number) => ({ pk: 'RU#2026-11', sk: `2026-11-02#a1#${part}` });

describe('a rollup’s content digest', () => {
  it('is the same for the same rows in any order (and any key order)', () => {
    const r = buildRollup('a1', '2026-11-02', rows, '1@t');
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(buildRollup('a1', '2026-11-02', [...rows].reverse(), '2@t').digest).toBe(r.digest);
    const reordered = rows.map((x) => Object.fromEntries(Object.entries(x).reverse()) as unknown as UsageRow);
    expect(contentDigest(reordered)).toBe(r.digest);
    // Another app-day's rows are not the rollup's.
    expect(buildRollup('a1', '2026-11-02', [...rows, { ...objectRow(3), app: 'a2' }], '1@t').digest).toBe(
      r.digest,
    );
  });

  it('changes with any object: one more, another generation of one with the same sums, other counts', () => {
    const base = contentDigest(rows);
    expect(contentDigest([...rows, objectRow(3)])).not.toBe(base);
    expect(contentDigest([objectRow(0, 1, 'g9'), objectRow(1), objectRow(2)])).not.toBe(base);
    const moved = [objectRow(0, 2), objectRow(1, 1), objectRow(2)];
    // Same sums, different objects' shares.
    expect(buildRollup('a1', '2026-11-02', moved, '1@t').records).toBe(
      buildRollup('a1', '2026-11-02', rows, '1@t').records,
    );
    expect(contentDigest(moved)).not.toBe(base);
  });

  it('is kept on part 0 of the stored parts, and is not in the row the audit reads', () => {
    const r = buildRollup('a1', '2026-11-02', rows, '1@t');
    const parts = splitRollup(r, keyOf);
    expect(parts[0]?.digest).toBe(r.digest);
    expect(joinRollup(parts)).toEqual(r);
    expect(rollupRow(r)).not.toHaveProperty('digest');
    // A rollup stored before digests were kept joins without one (the store rebuilds it).
    const { digest: _d, ...old } = r;
    expect(joinRollup(splitRollup(old, keyOf))).toEqual(old);
  });
});
