/**
 * Fuzz and accounting properties of the reader (issue 8), beside log-reader.property.test.ts
 * (independent sums, JSON Lines and CSV of the same records against the same expected usage,
 * chunking) and the fast-path property tests:
 * - arbitrary bytes, plain, gzip or corrupted gzip, never make the reader throw;
 * - every physical line is counted, rejected with a reason, or blank;
 * - an object split at line boundaries into several gives the same totals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allRejects, type ReadOutcome } from '../../../functions/core/log-reader.ts';
import { sumDayUsage } from '../../../functions/core/usage-math.ts';
import { gzip, ingested, jl, read, rec } from './helpers.ts';

const chunkingArb = fc.oneof(
  fc.constant<'whole'>('whole'),
  fc.integer({ min: 1, max: 64 }),
  fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
);

const validLine = fc
  .record({
    app: fc.constantFrom('a1', 'a2'),
    day: fc.integer({ min: 1, max: 3 }),
    endpoint: fc.constantFrom('GET /a', 'GET /b', 'POST /c'),
    status: fc.constantFrom(200, 404, 503),
    records: fc.nat({ max: 100 }),
    bytes: fc.nat({ max: 10_000 }),
  })
  .map((r) =>
    jl(
      rec({
        app_id: r.app,
        timestamp: `2026-11-0${r.day}T10:00:00Z`,
        endpoint: r.endpoint,
        status: r.status,
        records: r.records,
        bytes: r.bytes,
      }),
    ),
  );

/** Any text without a line break; may be blank, JSON-like or garbage. */
const otherLine = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', ' ', '\t \t', '{', '{}', '[]', 'null', '{"timestamp":1}', 'a,b,c'),
    validLine.map((l) => l.slice(0, Math.floor(l.length / 2))),
  )
  .map((s) => s.replace(/[\r\n]/g, ' '));

const lineArb = fc.oneof({ weight: 3, arbitrary: validLine }, { weight: 2, arbitrary: otherLine });

describe('reader fuzz', () => {
  it('never throws on arbitrary bytes, plain, gzip or corrupted gzip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom('plain', 'gzip', 'corrupt', 'truncated'),
        fc.nat(),
        chunkingArb,
        async (raw, mode, at, chunking) => {
          let data: Buffer = Buffer.from(raw);
          if (mode !== 'plain') data = gzip(data);
          if (mode === 'corrupt' && data.length > 0) {
            const i = at % data.length;
            data[i] = (data[i] as number) ^ (1 + (at % 255));
          }
          if (mode === 'truncated') data = data.subarray(0, at % (data.length + 1));
          const out: ReadOutcome = await read(data, {}, chunking);
          if (out.status !== 'quarantined') {
            expect(out.counted + out.rejected).toBeLessThanOrEqual(out.lines);
            expect(out.rejects.every((r) => r.reason.length > 0)).toBe(true);
          } else expect(out.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('every physical line is counted, rejected with a reason, or blank', async () => {
    await fc.assert(
      fc.asyncProperty(
        validLine,
        fc.array(lineArb, { maxLength: 60 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.integer({ min: 0, max: 5 }),
        chunkingArb,
        async (first, rest, eol, compressed, maxHeldRejects, chunking) => {
          const lines = [first, ...rest];
          const text = lines.join(eol) + eol;
          const out = ingested(await read(compressed ? gzip(text) : text, { maxHeldRejects }, chunking));
          const blank = lines.filter((l) => /^[ \t]*$/.test(l)).length;
          expect(out.lines).toBe(lines.length);
          expect(out.counted + out.rejected + blank).toBe(out.lines);
          const rejects: { line: number; reason: string }[] = [];
          for await (const r of allRejects(out)) rejects.push(r);
          expect(rejects).toHaveLength(out.rejected);
          expect(rejects.every((r) => r.reason.length > 0 && r.line >= 1 && r.line <= out.lines)).toBe(true);
          expect(rejects.map((r) => r.line)).toEqual([...rejects.map((r) => r.line)].sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an object split at line boundaries into several gives the same totals', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(validLine, { minLength: 1, maxLength: 60 }),
        fc.array(otherLine, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        async (valid, other, cuts) => {
          // Each part starts with a valid JSON line, so each is read as JSON Lines.
          const lines = [...valid];
          other.forEach((l, i) => {
            lines.splice(1 + (i % lines.length), 0, l);
          });
          const bounds = [...new Set(cuts.map((c) => c % lines.length))]
            .filter((c) => c > 0 && lines[c]?.startsWith('{"timestamp"') === true)
            .sort((a, b) => a - b);
          const parts: string[][] = [];
          let from = 0;
          for (const b of [...bounds, lines.length]) {
            parts.push(lines.slice(from, b));
            from = b;
          }
          const whole = ingested(await read(`${lines.join('\n')}\n`));
          let counted = 0;
          let rejected = 0;
          const usage = [];
          for (const p of parts) {
            const out = ingested(await read(`${p.join('\n')}\n`));
            counted += out.counted;
            rejected += out.rejected;
            usage.push(...out.usage);
          }
          expect(counted).toBe(whole.counted);
          expect(rejected).toBe(whole.rejected);
          expect(sumDayUsage(usage)).toEqual(sumDayUsage(whole.usage));
        },
      ),
      { numRuns: 200 },
    );
  });
});
