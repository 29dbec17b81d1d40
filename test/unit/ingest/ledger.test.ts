/** The ingest ledger's domain rules (functions/core/ledger.ts), pure. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  byKey,
  chunkEntries,
  cleanupAfter,
  dayOfEntry,
  ENTRIES_PER_CHUNK,
  entryOf,
  monthsBetween,
  type ObjectManifest,
  orderToken,
  parseEntry,
  writeId,
} from '../../../functions/core/ledger.ts';

const manifest = (over: Partial<ObjectManifest>): ObjectManifest => ({
  key: 'logs/a.jsonl',
  gen: 'g1',
  wid: 'w1',
  seq: orderToken('01'),
  status: 'ingested',
  format: 'jsonl',
  compressed: false,
  lines: 1,
  counted: 1,
  rejected: 0,
  chunks: 1,
  registryHash: 'empty',
  ingestedAt: '2026-11-27T00:00:00.000Z',
  ...over,
});

describe('orderToken', () => {
  it('pads S3 sequencers to 40 upper-case characters so that string order is event order', () => {
    expect(orderToken('0055AED6DCD90281E5')).toBe(`${'0'.repeat(22)}0055AED6DCD90281E5`);
    expect(orderToken('abc')).toBe(orderToken('ABC'));
    expect(orderToken(undefined)).toBe('0'.repeat(40));
    // A longer sequencer is a later event (S3 compares them after padding).
    expect(orderToken('FF') < orderToken('100')).toBe(true);
  });

  it('orders hex sequencers as their numeric values', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 120n }),
        fc.bigInt({ min: 0n, max: 2n ** 120n }),
        (a, b) => {
          const [ta, tb] = [orderToken(a.toString(16)), orderToken(b.toString(16))];
          expect(ta < tb).toBe(a < b);
        },
      ),
    );
  });
});

describe('writeId', () => {
  it('names the version, its place in the order and the registry (first 12 characters of its hash)', () => {
    expect(writeId('v1', orderToken('0A1B'), 'abcdef0123456789')).toBe('v1.A1B.abcdef012345');
    expect(writeId('etag', orderToken(undefined), 'empty')).toBe('etag.0.empty');
  });
});

describe('entries', () => {
  it('round-trip app, day and part', () => {
    const e = entryOf('nw.search:v2', '2026-11-27', 3);
    expect(e).toBe('nw.search:v2/2026-11-27/3');
    expect(parseEntry(e)).toEqual({ app: 'nw.search:v2', day: '2026-11-27', part: 3 });
    expect(dayOfEntry(e)).toBe('2026-11-27');
  });

  it('are cut into part lists of ENTRIES_PER_CHUNK, at least one', () => {
    expect(chunkEntries([])).toEqual([[]]);
    const many = Array.from({ length: 2 * ENTRIES_PER_CHUNK + 1 }, (_, i) => entryOf('a', '2026-11-01', i));
    const chunks = chunkEntries(many);
    expect(chunks.map((c) => c.length)).toEqual([ENTRIES_PER_CHUNK, ENTRIES_PER_CHUNK, 1]);
    expect(chunks.flat()).toEqual(many);
  });
});

describe('monthsBetween', () => {
  it('lists the months of a range, across a year end', () => {
    expect(monthsBetween('2026-11-15', '2027-02-01')).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(monthsBetween('2026-11-01', '2026-11-30')).toEqual(['2026-11']);
    expect(monthsBetween('2026-12-01', '2026-11-30')).toEqual([]);
  });
});

describe('cleanupAfter', () => {
  it('lists what the replaced manifest still had to delete, then its own write, never the new one', () => {
    expect(cleanupAfter(undefined, 'w2')).toEqual([]);
    const before = manifest({ wid: 'w1', chunks: 2, cleanup: [{ wid: 'w0', chunks: 1 }] });
    expect(cleanupAfter(before, 'w2')).toEqual([
      { wid: 'w0', chunks: 1 },
      { wid: 'w1', chunks: 2 },
    ]);
    expect(cleanupAfter(before, 'w1')).toEqual([{ wid: 'w0', chunks: 1 }]);
    expect(cleanupAfter(manifest({ wid: 'w1', cleanup: [{ wid: 'w2', chunks: 1 }] }), 'w2')).toEqual([
      { wid: 'w1', chunks: 1 },
    ]);
  });
});

describe('byKey', () => {
  it('sorts by key in code-unit order (not the locale’s)', () => {
    const keys = ['logs/b', 'logs/B', 'logs/a', 'logs/ä'].map((key) => manifest({ key }));
    expect(keys.sort(byKey).map((m) => m.key)).toEqual(['logs/B', 'logs/a', 'logs/b', 'logs/ä']);
  });
});
