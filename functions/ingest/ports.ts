/**
 * What the ingest use case needs from the outside world, owned here: the adapters
 * (functions/adapters/*) implement these; tests may stand in for them.
 */
import type { CommitResult, Entry, ObjectManifest, WriteRef } from '../core/ledger.ts';
import type { RecipientMatcher } from '../core/recipients.ts';
import type { RowEvidence } from '../core/request-evidence.ts';
import type { DayUsage, RecipientsRegistry, SourceRef } from '../core/types.ts';

export interface OpenedObject {
  body: AsyncIterable<Uint8Array>;
  /** ETag without quotes. */
  etag: string;
  versionId: string | undefined;
  lastModified: Date | undefined;
  size: number | undefined;
  /** Stops the download (the rest of the body is not needed). */
  abort(): void;
}

export interface ObjectReader {
  /** The object's content, or undefined if that key (or version) no longer exists. */
  open(bucket: string, key: string, versionId?: string): Promise<OpenedObject | undefined>;
}

export interface ObjectWriter {
  put(bucket: string, key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  /**
   * Writes an object from chunks as they come, holding at most one upload part in memory (a
   * multipart upload once the content outgrows one part).
   */
  putStream(
    bucket: string,
    key: string,
    chunks: AsyncIterable<string | Uint8Array>,
    contentType: string,
  ): Promise<void>;
}

/** The ingest ledger: writes, commits and clean-up of one object's contributions to usage. */
export interface UsageLedger {
  getManifest(key: string): Promise<ObjectManifest | undefined>;
  /** Puts one write's part lists and contributions (idempotent); returns the part-list count. */
  writeContributions(
    key: string,
    gen: string,
    wid: string,
    usage: readonly DayUsage[],
    /** Request-level evidence per app-day, aligned with `usage` (request-evidence.ts). */
    evidence?: readonly (RowEvidence | undefined)[],
  ): Promise<number>;
  /** The contributions a write made (empty if its part lists are gone or were never written). */
  entries(key: string, ref: WriteRef): Promise<Entry[]>;
  /** Deletes a write's contributions, then its part lists; returns the deleted entries. Idempotent. */
  deleteWrite(key: string, ref: WriteRef): Promise<Entry[]>;
  /** Records that usage of these days changed at `at` (markers only move forward). */
  markDaysChanged(days: Iterable<string>, at: string): Promise<void>;
  /** Lists an object with data-quality problems under the month it was processed. */
  indexDataQuality(manifest: ObjectManifest): Promise<void>;
  /** Switches the committed write, on the condition that the manifest is still `expected`. */
  commit(manifest: ObjectManifest, expected: ObjectManifest | undefined): Promise<CommitResult>;
  /** Drops the pending-cleanup list once its deletions are done, if `wid` is still committed. */
  finishCleanup(key: string, wid: string): Promise<void>;
}

/** The current recipients registry, compiled, with its hash (`fresh`: not from a cache). */
export type RegistrySource = (opts?: {
  fresh?: boolean;
}) => Promise<{ matcher: RecipientMatcher; hash: string }>;

/** Where the stored recipients registry is read from, with its hash ("empty" when none is loaded). */
export interface RegistryReader {
  getRegistry(): Promise<{ registry: RecipientsRegistry; hash: string }>;
}

/** Committed usage, as far as reprocessing needs it: the objects behind each app-day of [from, to]. */
export interface CommittedUsage {
  queryUsage(opts: { from: string; to: string }): Promise<readonly { sources: readonly SourceRef[] }[]>;
}

/** One object in a listing, with what identifies its current version. */
export interface ListedObject {
  key: string;
  /** ETag without quotes. */
  etag: string;
  lastModified: Date | undefined;
  size: number | undefined;
}

/** Lists a bucket's objects under a prefix (reconcile). */
export interface ObjectLister {
  /** Objects under `prefix` in key order, those after the key `startAfter` when it is given. */
  listObjects(bucket: string, prefix: string, startAfter?: string): AsyncIterable<ListedObject>;
}

/**
 * Where the scheduled reconcile's listing of `logs/` stopped short (the last key it looked at), so
 * that the next run resumes after it instead of starting from the beginning again.
 */
export interface ListingCursor {
  /** The key to list after; undefined to list from the beginning. */
  load(): Promise<string | undefined>;
  /** Remember `after` (undefined: the listing reached the end, start from the beginning next). */
  save(after: string | undefined): Promise<void>;
}

/** Committed manifests by key (missing ones left out). */
export interface ManifestReader {
  getManifests(keys: readonly string[]): Promise<ObjectManifest[]>;
}
