/** The reader's limits (SPEC §2) and how they are named in reasons. */

export interface ReaderLimits {
  /** Longest accepted line in bytes (without its line break); default 1 MiB. */
  maxLineBytes: number;
  /** Most bytes a compressed object may decompress to; default 8 GiB. */
  maxDecompressedBytes: number;
  /** Highest decompressed:compressed ratio; default 200. */
  maxCompressionRatio: number;
  /** The ratio is checked only once this many bytes have been decompressed; default 16 MiB. */
  ratioCheckAfterBytes: number;
}

export const DEFAULT_LIMITS: ReaderLimits = Object.freeze({
  maxLineBytes: 1_048_576,
  maxDecompressedBytes: 8 * 1024 ** 3,
  maxCompressionRatio: 200,
  ratioCheckAfterBytes: 16 * 1024 ** 2,
});

/** The object is not a log: nothing of it counts. The message is the quarantine reason. */
export class Quarantine extends Error {}

/** 1048576 → "1 MiB", 8589934592 → "8 GiB", other values in bytes. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}
