/**
 * Decompression: gzip recognised by its magic bytes, multi-member gzip read whole, a suspected
 * decompression bomb (too many bytes, or too high a ratio) stopped as it streams, corrupt or
 * truncated compression named as such.
 */
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { formatBytes, Quarantine, type ReaderLimits } from './limits.ts';

/**
 * zlib inflates on the libuv thread pool. Large output chunks mean few round trips to it (each one
 * wakes a thread and resumes the consumer), and room for a second chunk lets it inflate the next
 * chunk while this thread splits and scans the current one.
 */
export const GUNZIP_OPTIONS = Object.freeze({ chunkSize: 256 * 1024, readableHighWaterMark: 512 * 1024 });

/** True when the first bytes of an object are the gzip magic 1f 8b. */
export function isGzip(first: Uint8Array): boolean {
  return first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
}

/** Gunzip `head` then the rest of `next()` into `push`. Throws Quarantine for a suspected bomb. */
export async function gunzipInto(
  head: Buffer[],
  next: () => Promise<Buffer | undefined>,
  limits: ReaderLimits,
  push: (chunk: Buffer) => void,
): Promise<void> {
  let compressedBytes = 0;
  let decompressedBytes = 0;
  async function* input(): AsyncGenerator<Buffer> {
    for (const chunk of head) {
      compressedBytes += chunk.length;
      yield chunk;
    }
    for (let chunk = await next(); chunk !== undefined; chunk = await next()) {
      compressedBytes += chunk.length;
      yield chunk;
    }
  }
  await pipeline(input(), createGunzip(GUNZIP_OPTIONS), async (output: AsyncIterable<Buffer>) => {
    for await (const chunk of output) {
      decompressedBytes += chunk.length;
      if (decompressedBytes > limits.maxDecompressedBytes) {
        throw new Quarantine(
          `suspected decompression bomb: more than ${formatBytes(limits.maxDecompressedBytes)} decompressed`,
        );
      }
      if (
        decompressedBytes >= limits.ratioCheckAfterBytes &&
        decompressedBytes > compressedBytes * limits.maxCompressionRatio
      ) {
        throw new Quarantine(
          `suspected decompression bomb: compression ratio above ${limits.maxCompressionRatio}:1`,
        );
      }
      push(chunk);
    }
  });
}

/** The quarantine reason of a zlib error, or undefined when `error` is not one. */
export function gzipErrorReason(error: unknown): string | undefined {
  const code: unknown = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || !code.startsWith('Z_')) return undefined;
  const message = (error as Error).message;
  return code === 'Z_BUF_ERROR' ? `truncated gzip: ${message}` : `corrupt gzip: ${message}`;
}
