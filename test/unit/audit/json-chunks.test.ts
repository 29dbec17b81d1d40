/**
 * stableJson as a stream (json-chunks.ts): for any JSON value, indent and chunk size, the chunks
 * joined are stableJson's text byte for byte; and report.json's run field filled into its hole
 * (report.ts fillRun) gives the bytes of withRunField, which the audit used before (and the bytes
 * of rendering the document with the run).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinChunks } from '../../../functions/core/audit/chunks.ts';
import { stableJson } from '../../../functions/core/audit/format.ts';
import { JSON_HOLE, stableJsonChunks, stableJsonParts } from '../../../functions/core/audit/json-chunks.ts';
import { fillRun, type RunInfo, withRunField } from '../../../functions/core/audit/report.ts';

const indent = fc.constantFrom(0, 1, 2, 4);
const size = fc.constantFrom(1, 7, 64, 32 * 1024);

describe('stableJsonChunks', () => {
  it('joins to stableJson’s text for any JSON value, indent, key order and chunk size', () => {
    fc.assert(
      fc.property(fc.jsonValue(), indent, fc.boolean(), size, (value, n, sortKeys, s) => {
        const chunks = [...stableJsonChunks(value, { indent: n, sortKeys, size: s })];
        expect(chunks.join('')).toBe(stableJson(value, n, sortKeys));
        expect(chunks.every((c) => c.length > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('writes what stableJson writes of what is not JSON: undefined members, array-index keys, __proto__', () => {
    const odd = JSON.parse('{"b":1,"10":2,"9":{"__proto__":{"x":1},"y":[]},"a":{}}') as Record<
      string,
      unknown
    >;
    const value = {
      ...odd,
      gone: undefined,
      fn: () => 1,
      list: [undefined, () => 1, Symbol('s'), -0, 'é\u2028"'],
    };
    for (const sortKeys of [false, true])
      for (const n of [0, 2])
        expect(joinChunks(stableJsonChunks(value, { indent: n, sortKeys }))).toBe(
          stableJson(value, n, sortKeys),
        );
    expect(() => [...stableJsonChunks({ a: [Number.NaN] })]).toThrow('non-finite number in JSON output');
    expect(() => [...stableJsonChunks({ a: 1n })]).toThrow('bigint in JSON output');
  });

  it('keeps chunks bounded: at least the chunk size (but the last), shorter than it plus the longest piece', () => {
    const value = { rows: Array.from({ length: 5_000 }, (_, i) => ({ i, key: `logs/${i}.jsonl` })) };
    const chunks = [...stableJsonChunks(value, { indent: 2, size: 1_000 })];
    expect(chunks.length).toBeGreaterThan(100);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(1_000 + 40);
  });
});

/** A report.json-shaped document: the run field fourth, nested objects before and after it. */
const doc = (run: unknown, rest: Record<string, unknown>) => ({
  format: 'usage-auditor/report@1',
  report_date: '2026-11-27',
  window: { start: '2026-11-01', end: '2026-11-27', run: null },
  run,
  summary: { findings: 2, by_rule: { run: null } },
  findings: [{ run: null, detail: '\n  "run": null,\n' }],
  ...rest,
});

describe('report.json’s run field, streamed', () => {
  it('is filled in with withRunField’s bytes, for any run and any document around it', () => {
    const rest = fc.dictionary(
      fc.string().filter((k) => !['format', 'report_date', 'window', 'run', '__proto__'].includes(k)),
      fc.jsonValue(),
      { maxKeys: 4 },
    );
    const run = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
    fc.assert(
      fc.property(rest, fc.option(run), size, (others, r, s) => {
        const parts = () => [...stableJsonParts(doc(JSON_HOLE, others), { indent: 2, size: s }), '\n'];
        const withoutRun = `${stableJson(doc(null, others), 2)}\n`;
        expect(joinChunks(fillRun(parts(), null))).toBe(withoutRun);
        expect(joinChunks(fillRun(parts(), r as RunInfo | null))).toBe(
          withRunField(withoutRun, r as RunInfo | null),
        );
      }),
      { numRuns: 300 },
    );
  });
});
