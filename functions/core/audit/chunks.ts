/**
 * Text rendered as a stream of bounded chunks instead of one string (issue 10: report files are
 * written as streams, never built whole). A renderer is a generator of pieces; `coalesce` joins
 * consecutive pieces into chunks of about CHUNK_CHARS; `sha256Chunks` hashes a stream without
 * holding it; `replayable` makes an AsyncIterable body (ReportFileBody) that renders the stream
 * again each time it is read. Pure: no I/O.
 */
import { createHash } from 'node:crypto';

/** The size chunks are coalesced to, in UTF-16 code units (at most three UTF-8 bytes each). */
export const CHUNK_CHARS = 32 * 1024;

/**
 * Consecutive pieces joined into chunks of at least `size` characters (the last one may be
 * shorter); a piece is never split, so a chunk is shorter than `size` plus the longest piece.
 */
export function* coalesce(pieces: Iterable<string>, size = CHUNK_CHARS): Generator<string> {
  let buf = '';
  for (const p of pieces) {
    buf += p;
    if (buf.length >= size) {
      yield buf;
      buf = '';
    }
  }
  if (buf !== '') yield buf;
}

/** The sha256 (hex) of the UTF-8 bytes of the chunks, one after another; none is kept. */
export function sha256Chunks(chunks: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

/**
 * A body that renders `chunks()` again each time it is read (for await): nothing is kept between
 * two reads, and rendering is deterministic, so each read has the same bytes.
 */
export function replayable(chunks: () => Iterable<string>): AsyncIterable<string> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* chunks();
    },
  };
}

/**
 * The whole text of a stream, as one string: for tests and tools that want a file's text (the
 * audit never joins a report file; it writes the chunks as they come).
 */
export function joinChunks(chunks: Iterable<string>): string {
  let out = '';
  for (const c of chunks) out += c;
  return out;
}
