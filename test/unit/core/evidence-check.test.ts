/**
 * checkLines (what `auditor evidence` runs on a fetched object): gzip recognised however the first
 * bytes are chunked, as the reader does, and the object read only up to the last wanted line.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { lineSha256 } from '../../../functions/core/evidence.ts';
import { checkLines } from '../../../functions/core/evidence-check.ts';
import { seededRandom } from '../../../functions/core/support.ts';
import { cut, source } from './helpers.ts';

const sha = (line: string): string => {
  const b = Buffer.from(line);
  return lineSha256(b, 0, b.length);
};

/** `n` lines of random hex (gzip cannot shrink them much), deterministic. */
function hexLines(n: number): string[] {
  const rnd = seededRandom(11);
  return Array.from(
    { length: n },
    (_, i) => `${i} ${Array.from({ length: 48 }, () => Math.floor(rnd() * 16).toString(16)).join('')}`,
  );
}

const refsOf = (lines: readonly string[], numbers: readonly number[]) =>
  numbers.map((line) => ({ line, request_id: null, sha256: sha(lines[line - 1] as string) }));

/** A source over `chunks` that counts the chunks pulled from it and whether it was closed. */
function counted(chunks: readonly Buffer[]) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (const c of chunks) {
        state.pulled++;
        yield c;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, body: gen() };
}

describe('checkLines', () => {
  const lines = hexLines(40);
  const text = `${lines.join('\n')}\n`;
  const gz = gzipSync(Buffer.from(text));

  it('recognises gzip when the first chunk is 1 byte or empty (the reader peeks the same way)', async () => {
    const refs = refsOf(lines, [1, 20, 40]);
    for (const chunks of [
      [gz.subarray(0, 1), gz.subarray(1)],
      [Buffer.alloc(0), gz],
      [Buffer.alloc(0), gz.subarray(0, 1), Buffer.alloc(0), gz.subarray(1, 2), gz.subarray(2)],
    ]) {
      const checked = await checkLines(source(chunks), refs);
      expect(checked.map((c) => [c.ok, c.text])).toEqual(refs.map((r) => [true, lines[r.line - 1]]));
    }
  });

  it('stops reading a gzip object once the last wanted line is found, and closes the source', async () => {
    const big = hexLines(8000);
    const data = gzipSync(Buffer.from(`${big.join('\n')}\n`));
    const chunks = cut(data, 256);
    expect(chunks.length).toBeGreaterThan(500);
    const { state, body } = counted(chunks);
    const refs = refsOf(big, [2, 3]);
    const checked = await checkLines(body, refs);
    expect(checked.map((c) => c.ok)).toEqual([true, true]);
    // What the pipeline buffers ahead (some 16 KiB) is pulled, not the rest of the object.
    expect(state.pulled).toBeLessThan(chunks.length / 4);
    expect(state.closed).toBe(true);
  });

  it('stops reading plain text once the last wanted line is found, and closes the source', async () => {
    const { state, body } = counted(cut(Buffer.from(text), 64));
    const refs = refsOf(lines, [1, 3]);
    const checked = await checkLines(body, refs);
    expect(checked.map((c) => c.ok)).toEqual([true, true]);
    // Line 3 ends within the first 4 chunks of 64 bytes (each line is about 51 bytes).
    expect(state.pulled).toBeLessThanOrEqual(4);
    expect(state.closed).toBe(true);
  });

  it('a gzip object cut short after the last wanted line still checks; cut before it, it is an error', async () => {
    const refs = refsOf(lines, [1, 2]);
    const trailerCut = gz.subarray(0, gz.length - 6);
    expect((await checkLines(source([trailerCut]), refs)).map((c) => c.ok)).toEqual([true, true]);
    const pastTheEnd = [...refsOf(lines, [40]), { line: 41, request_id: null, sha256: sha('x') }];
    await expect(checkLines(source([trailerCut]), pastTheEnd)).rejects.toMatchObject({
      code: 'Z_BUF_ERROR',
    });
  });
});
