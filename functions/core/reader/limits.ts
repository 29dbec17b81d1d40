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

/**
 * Bounds on the distinct values kept per app × UTC day of one object (SPEC §2): past them, usage
 * rolls into one overflow entry whose counts are the exact sums of what it holds, so totals never
 * change; the outcome says how many distinct values overflowed.
 */
export interface UsageBounds {
  /** Distinct endpoints kept per app-day; default 10,000. */
  maxEndpointsPerDay: number;
  /** Distinct organisations kept per recipient category of an app-day; default 1,000. */
  maxOrganisationsPerCategory: number;
  /**
   * Distinct app × UTC day pairs one object may hold; default 10,000. Past it the object is
   * quarantined (each app-day is at least one item to write: memory and write time grow with it).
   */
  maxAppDaysPerObject: number;
  /**
   * Distinct (app-day, endpoint) plus (app-day, category, organisation) entries one object may
   * hold, the overflow entries included; default 1,000,000. Past it the object is quarantined (the
   * per-app-day bounds times maxAppDaysPerObject would otherwise allow 100M entries in memory).
   */
  maxEntriesPerObject: number;
}

/** The bounds on distinct values per app-day (those that also apply across objects). */
export type DistinctBounds = Pick<UsageBounds, 'maxEndpointsPerDay' | 'maxOrganisationsPerCategory'>;

export const DEFAULT_BOUNDS: UsageBounds = Object.freeze({
  maxEndpointsPerDay: 10_000,
  maxOrganisationsPerCategory: 1_000,
  maxAppDaysPerObject: 10_000,
  maxEntriesPerObject: 1_000_000,
});

/** The endpoint that endpoints past UsageBounds.maxEndpointsPerDay roll into. */
export const OTHER_ENDPOINTS = '(other endpoints)';
/** The organisation that organisations past UsageBounds.maxOrganisationsPerCategory roll into. */
export const OTHER_ORGANISATIONS = '(other organisations)';

/**
 * Most UTF-8 bytes of one object's rejects file (env MAX_REJECTS_FILE_BYTES): past it the rejected
 * lines are counted but not listed (ingest-object.ts rejectsFile).
 */
export const DEFAULT_MAX_REJECTS_FILE_BYTES = 64 * 1024 ** 2;

/** Rejects held in memory (the first ones); the rest are spilled to a temporary file. */
export const MAX_HELD_REJECTS = 1000;
