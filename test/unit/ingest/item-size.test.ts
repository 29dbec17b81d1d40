/** Issue 8 #3/#5: item sizes by DynamoDB's rules, usage split by them, and bounded reasons. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  boundReason,
  chunkEntries,
  fitManifest,
  ITEM_BUDGET_BYTES,
  ITEM_LIMIT_BYTES,
  itemBytes,
  MAX_REASON_CHARS,
  olderThanCommitted,
  splitUsageForItems,
  utf8Bytes,
  type WriteRef,
} from '../../../functions/core/ledger.ts';
import type { DayUsage } from '../../../functions/core/types.ts';
import { sumDayUsage } from '../../../functions/core/usage-math.ts';

const counts = (n: number) => ({ requests: n, records: n, bytes: n, errors: 0 });

describe('itemBytes', () => {
  it('counts names and string values in UTF-8 bytes, maps and lists with their overheads', () => {
    expect(itemBytes({ a: 'xyz' })).toBe(4);
    expect(itemBytes({ k: '數據' })).toBe(1 + 6);
    expect(itemBytes({ m: { 數: 'a' } })).toBe(1 + 3 + 1 + 3 + 1);
    expect(itemBytes({ l: ['ab', 'c'] })).toBe(1 + 3 + 3 + 2);
  });
});

describe('splitUsageForItems', () => {
  it('keeps every part of 300 CJK endpoints (877 KB in UTF-8, 292k UTF-16 units) under the budget', () => {
    const endpoints: DayUsage['endpoints'] = {};
    for (let i = 0; i < 300; i++) endpoints[`GET /${i}/${'數據'.repeat(485)}`] = counts(i);
    const u: DayUsage = { app: 'a', day: '2026-11-07', ...counts(300), endpoints, categories: {} };
    expect(utf8Bytes(JSON.stringify(u))).toBeGreaterThan(870_000);
    const parts = splitUsageForItems(u, 200);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) expect(200 + itemBytes({ ...p })).toBeLessThanOrEqual(ITEM_BUDGET_BYTES);
    expect(sumDayUsage(parts)).toEqual(sumDayUsage([u]));
  });

  it('splits category maps by organisation names in UTF-8 and sums back exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4000 }), fc.nat(1000)), {
          maxLength: 400,
        }),
        fc.integer({ min: 20_000, max: 120_000 }),
        (orgs, budget) => {
          const map: Record<string, { requests: number; records: number }> = {};
          for (const [o, n] of orgs) map[`組織-${o}`] = { requests: n, records: n };
          const u: DayUsage = {
            app: 'a',
            day: '2026-11-07',
            ...counts(5),
            endpoints: { 'GET /x': counts(5) },
            categories: { 'media-監視': { requests: 5, records: 5, orgs: map } },
          };
          const parts = splitUsageForItems(u, 300, budget);
          for (const p of parts)
            expect(300 + itemBytes({ ...p })).toBeLessThanOrEqual(budget + 5_000 * 3 + 64);
          expect(sumDayUsage(parts)).toEqual(sumDayUsage([u]));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('chunkEntries', () => {
  it('cuts part lists by bytes as well as by count', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => `${'a'.repeat(120)}/2026-11-01/${i}`);
    const chunks = chunkEntries(entries, 2000, 100_000);
    expect(chunks.flat()).toEqual(entries);
    for (const c of chunks) expect(itemBytes({ entries: c })).toBeLessThanOrEqual(100_000 + 8);
    expect(chunks.length).toBeGreaterThan(3);
  });
});

describe('boundReason', () => {
  it('keeps short reasons and cuts long ones to MAX_REASON_CHARS, saying how much is left out', () => {
    expect(boundReason('missing field app_id')).toBe('missing field app_id');
    const long = `CSV header: duplicate column "${'x'.repeat(900_000)}"`;
    const b = boundReason(long);
    expect(b.startsWith(long.slice(0, MAX_REASON_CHARS))).toBe(true);
    expect(b.endsWith(`…(${long.length - MAX_REASON_CHARS} more chars)`)).toBe(true);
    // Never half a surrogate pair.
    const emoji = `${'x'.repeat(MAX_REASON_CHARS - 1)}😀😀`;
    expect(utf8Bytes(boundReason(emoji))).toBe(Buffer.byteLength(boundReason(emoji)));
    expect(boundReason(emoji)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('fitManifest', () => {
  it('drops the oldest pending cleanups so the manifest stays under the limit, never the committed write', () => {
    const cleanup: WriteRef[] = Array.from({ length: 10_000 }, (_, i) => ({
      wid: `w${i}`.padEnd(80, 'x'),
      chunks: 1,
    }));
    const item = { pk: 'O#k', sk: 'M', key: 'k', wid: 'now', cleanup };
    const dropped = fitManifest(item);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]?.wid).toMatch(/^w0x/);
    expect(itemBytes(item)).toBeLessThanOrEqual(ITEM_BUDGET_BYTES);
    expect(ITEM_BUDGET_BYTES).toBeLessThan(ITEM_LIMIT_BYTES);
  });
});

describe('olderThanCommitted', () => {
  it('compares LastModified with what the manifest recorded; unknown on either side is not older', () => {
    const m = { modified: '2026-11-27T00:00:02.000Z' } as Parameters<typeof olderThanCommitted>[0];
    expect(olderThanCommitted(m, new Date('2026-11-27T00:00:01Z'))).toBe(true);
    expect(olderThanCommitted(m, new Date('2026-11-27T00:00:02Z'))).toBe(false);
    expect(olderThanCommitted(m, undefined)).toBe(false);
    expect(olderThanCommitted(undefined, new Date(0))).toBe(false);
  });
});
