/**
 * Use case: reconcile. S3 event notifications can be lost (a misconfigured notification, a
 * message that expired in its queue, a bucket restored from backup): reconcile lists the log
 * objects last modified in a window and ingests every one that has no manifest, or whose manifest
 * names another ETag than the object's current one. A second run over the same window finds
 * nothing. Ports only: the CLI (`auditor reconcile`) and the scheduled Lambda wire the adapters.
 *
 * With a `cursor` (the scheduled run), the listing resumes where the previous run's stopped short
 * (S3 StartAfter) and saves where this one stops, so keys late in key order are reached too.
 *
 * A reconciled object is ingested without an S3 sequencer: it keeps its predecessor's place in
 * the order, and the LastModified its manifest records keeps a late event for an older version
 * from replacing it (functions/core/ledger.ts, olderThanCommitted).
 */
import type { ObjectManifest } from '../core/ledger.ts';
import { compareStrings } from '../core/support.ts';
import { LOG_PREFIX } from '../shared/resources.ts';
import { type IngestRequest, type IngestResult, isLogKey } from './ingest-object.ts';
import type { ListedObject, ListingCursor, ManifestReader, ObjectLister, ObjectReader } from './ports.ts';

export interface ReconcileDeps {
  lister: ObjectLister;
  manifests: ManifestReader;
  /** Used only for manifests written before the ETag was recorded, to see their version id. */
  objects: ObjectReader;
  /** Ingest one object; undefined when it was given up for lack of time (then it is deferred). */
  ingest: (req: IngestRequest) => Promise<IngestResult | undefined>;
  /** Whether there is time to start ingesting one more object (a Lambda's remaining time). */
  hasTime?: () => boolean;
  /**
   * Where an earlier run's listing stopped short: listing resumes after it, and the new stopping
   * point (or the end) is saved, so keys late in key order are reached across runs.
   */
  cursor?: ListingCursor;
}

export interface ReconcileWindow {
  bucket: string;
  /** First and last instant (inclusive) of LastModified to look at. */
  from: Date;
  to: Date;
}

export type ReconcileWhy = 'no manifest' | 'older version counted';

export interface ReconciledObject {
  key: string;
  etag: string;
  lastModified: string | null;
  why: ReconcileWhy;
  /** What ingesting it gave; absent when the run stopped for time before this object. */
  result?: IngestResult;
}

export interface ReconcileReport {
  /** Log objects last modified in the window (among those listed). */
  listed: number;
  /** The objects found missing or stale, in key order, with what ingesting each gave. */
  found: ReconciledObject[];
  /** Found objects left for the next run (no time left). */
  deferred: number;
  /**
   * The listing of `logs/` stopped for lack of time (`hasTime`) before its end: objects after
   * `listedThrough` were not looked at. Absent when the whole prefix was listed.
   */
  partial?: { listedThrough: string | null; scanned: number };
  /** The listing resumed after this key, where the previous run's stopped (absent: from the start). */
  resumedAfter?: string;
}

/** The default window: the last `days` days up to `now`. */
export function defaultWindow(now: Date, days = 2): { from: Date; to: Date } {
  return { from: new Date(now.getTime() - days * 86_400_000), to: now };
}

/** Whether the manifest counts the version S3 holds now (by ETag, or version id for old manifests). */
async function isCurrent(
  deps: ReconcileDeps,
  bucket: string,
  o: ListedObject,
  m: ObjectManifest,
): Promise<boolean> {
  if (m.etag !== undefined) return m.etag === o.etag;
  if (m.gen === o.etag) return true;
  // An older manifest of a versioned bucket: compare the current version id with its gen.
  const opened = await deps.objects.open(bucket, o.key);
  if (!opened) return true; // deleted since the listing: nothing to count
  opened.abort();
  return (opened.versionId ?? opened.etag) === m.gen;
}

const BATCH = 100;

/**
 * Lists `logs/` (in S3's key order) and, a batch of in-window objects at a time, reads their
 * manifests and ingests the missing or stale ones, so listing and ingesting share the time. Before
 * each listed object it asks `hasTime`: once there is none, the listing stops (the report says how
 * far it got, `partial`) and what was found but not ingested is `deferred`.
 */
export async function reconcile(deps: ReconcileDeps, window: ReconcileWindow): Promise<ReconcileReport> {
  const from = window.from.getTime();
  const to = window.to.getTime();
  const hasTime = () => deps.hasTime?.() ?? true;
  const found: ReconciledObject[] = [];
  let listed = 0;
  let scanned = 0;
  let deferred = 0;
  let lastKey: string | null = null;
  let partial = false;
  let batch: ListedObject[] = [];
  const resumedAfter = await deps.cursor?.load();
  // The key listed just before the current batch's first object, and where the next run must
  // resume: after the last object before the first one deferred (`undefined`: from the start).
  let beforeBatch: string | undefined = resumedAfter;
  let prevScanned: string | undefined = resumedAfter;
  let resume: { after: string | undefined } | undefined;

  const flush = async (): Promise<void> => {
    const objects = batch;
    batch = [];
    if (objects.length === 0) return;
    let prev = beforeBatch;
    const manifests = new Map(
      (await deps.manifests.getManifests(objects.map((o) => o.key))).map((m) => [m.key, m]),
    );
    for (const o of objects.sort((a, b) => compareStrings(a.key, b.key))) {
      const before = prev;
      prev = o.key;
      const m = manifests.get(o.key);
      const why: ReconcileWhy | undefined = !m
        ? 'no manifest'
        : (await isCurrent(deps, window.bucket, o, m))
          ? undefined
          : 'older version counted';
      if (!why) continue;
      const f: ReconciledObject = {
        key: o.key,
        etag: o.etag,
        lastModified: o.lastModified?.toISOString() ?? null,
        why,
      };
      found.push(f);
      const result = hasTime()
        ? await deps.ingest({ bucket: window.bucket, key: f.key, etag: f.etag })
        : undefined;
      if (result) f.result = result;
      else {
        deferred++;
        resume ??= { after: before };
      }
    }
  };

  for await (const o of deps.lister.listObjects(window.bucket, LOG_PREFIX, resumedAfter)) {
    if (!hasTime()) {
      partial = true;
      break;
    }
    scanned++;
    lastKey = o.key;
    const t = o.lastModified?.getTime();
    if (isLogKey(o.key) && t !== undefined && t >= from && t <= to) {
      listed++;
      if (batch.length === 0) beforeBatch = prevScanned;
      batch.push(o);
      if (batch.length >= BATCH) await flush();
    }
    prevScanned = o.key;
  }
  await flush();
  // The next run resumes just before the first object deferred, else after the last key looked at
  // when the listing stopped short; once everything to the end was handled, from the beginning.
  if (deps.cursor) {
    const after = resume ? resume.after : partial ? (lastKey ?? resumedAfter) : undefined;
    if (after !== resumedAfter) await deps.cursor.save(after);
  }
  found.sort((a, b) => compareStrings(a.key, b.key));
  return {
    listed,
    found,
    deferred,
    ...(partial ? { partial: { listedThrough: lastKey, scanned } } : {}),
    ...(resumedAfter !== undefined ? { resumedAfter } : {}),
  };
}
