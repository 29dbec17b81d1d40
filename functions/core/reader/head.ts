/**
 * The first bytes of an object, enough to tell gzip from plain text. Shared by the reader
 * (log-reader.ts) and the evidence check (evidence-check.ts), which must agree on what an object is.
 */
import { isGzip } from './decompress.ts';

export interface ObjectHead {
  /** The chunks read to see the first two bytes (no empty ones), to be processed first. */
  chunks: Buffer[];
  /** True when the source ended within them. */
  ended: boolean;
  /** True when the object starts with the gzip magic 1f 8b. */
  gzip: boolean;
}

/**
 * Reads chunks from `next` until at least two bytes are in hand (skipping empty chunks) or the
 * source ends, so a first chunk of 0 or 1 bytes does not hide the gzip magic.
 */
export async function readHead(next: () => Promise<Buffer | undefined>): Promise<ObjectHead> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < 2) {
    const chunk = await next();
    if (chunk === undefined) {
      ended = true;
      break;
    }
    if (chunk.length === 0) continue;
    chunks.push(chunk);
    length += chunk.length;
  }
  const first = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  return { chunks, ended, gzip: isGzip(first) };
}
