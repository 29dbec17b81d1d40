/**
 * Checking recorded line references against a log object (issue 11 item 5): the object is streamed
 * (gzip cannot be read by range), told gzip or plain by the reader's own peek (reader/head.ts) and
 * split by the reader's own line splitter, so line numbers and the bytes hashed are exactly what
 * the reader recorded (evidence.ts); only the wanted lines are kept, and reading stops at the last.
 * No AWS.
 */

import { type LineRef, lineSha256 } from './evidence.ts';
import { gunzipInto } from './reader/decompress.ts';
import { readHead } from './reader/head.ts';
import { DEFAULT_LIMITS, type ReaderLimits } from './reader/limits.ts';
import { LineSplitter } from './reader/lines.ts';

/** Thrown by the line sink to stop gunzipping once the last wanted line is found. */
const STOP = new Error('every wanted line was found');

/** What one recorded line is now. */
export interface CheckedLine {
  ref: LineRef;
  /** The line's current text (UTF-8, invalid bytes replaced), or null when the object has no such line. */
  text: string | null;
  /** The current sha256 of the line's bytes, or null when there is no such line. */
  sha256: string | null;
  ok: boolean;
}

/**
 * The lines `refs` name, read from `source` (plain or gzip), each checked against its recorded
 * sha256. Lines over the reader's line limit cannot be recorded, so they are never wanted.
 */
export async function checkLines(
  source: AsyncIterable<Uint8Array>,
  refs: readonly LineRef[],
  limits: Partial<ReaderLimits> = {},
): Promise<CheckedLine[]> {
  const lim: ReaderLimits = { ...DEFAULT_LIMITS, ...limits };
  const wanted = new Map<number, { text: string; sha256: string } | null>();
  for (const r of refs) wanted.set(r.line, null);
  let last = 0;
  for (const r of refs) last = Math.max(last, r.line);
  let done = false;
  const splitter = new LineSplitter(lim.maxLineBytes, {
    line(buf, start, end, lineNo) {
      if (wanted.has(lineNo))
        wanted.set(lineNo, { text: buf.toString('utf8', start, end), sha256: lineSha256(buf, start, end) });
      if (lineNo >= last) done = true;
    },
    overlong(lineNo) {
      if (lineNo >= last) done = true;
    },
  });
  const iterator = source[Symbol.asyncIterator]();
  // Nothing more is read once the last wanted line is found.
  const next = async (): Promise<Buffer | undefined> => {
    if (done) return undefined;
    const r = await iterator.next();
    if (r.done) return undefined;
    return Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  };
  const push = (chunk: Buffer): void => {
    if (done) return;
    splitter.push(chunk);
    // Cutting gzip short: this unwinds gunzipInto, whose pipeline destroys the gunzip.
    if (done && gzip) throw STOP;
  };
  const { chunks: head, ended, gzip } = await readHead(next);
  try {
    if (gzip) await gunzipInto(head, ended ? async () => undefined : next, lim, push);
    else {
      for (const chunk of head) push(chunk);
      if (!ended) for (let c = await next(); c !== undefined; c = await next()) push(c);
    }
  } catch (err) {
    // Once every wanted line is in hand, what the rest of the object holds does not matter.
    if (!done) throw err;
  }
  if (!done) splitter.finish();
  else await iterator.return?.();
  return refs.map((ref) => {
    const got = wanted.get(ref.line) ?? null;
    return { ref, text: got?.text ?? null, sha256: got?.sha256 ?? null, ok: got?.sha256 === ref.sha256 };
  });
}
