/**
 * Use case: one log object version becomes its contribution to usage, exactly once in effect.
 *
 * 1. Skip what is not a log (outside logs/, folder markers) and what is already done: the same
 *    version already committed (a duplicate delivery) or a later version already committed.
 * 2. Read the object (the version the event names) and aggregate it in memory (pure core).
 * 3. Write the rejects file or quarantine record, then the write's part lists and contributions
 *    (idempotent puts), and commit the manifest (one put, conditional on the manifest read in 1).
 *    A crash anywhere before the commit leaves nothing counted; the retry writes the same items.
 * 4. Delete the contributions of the writes this one replaced and mark the changed days; a
 *    redelivery finishes this if a crash interrupted it.
 */

import { EVIDENCE_LINES } from '../core/evidence.ts';
import {
  boundReason,
  cleanupAfter,
  dayOfEntry,
  type ObjectManifest,
  olderThanCommitted,
  orderToken,
  writeId,
} from '../core/ledger.ts';
import {
  allRejects,
  type DayOverflow,
  OUT_OF_TIME_REASON,
  type ReaderLimits,
  type ReadOutcome,
  readLogObject,
  type UsageBounds,
} from '../core/log-reader.ts';
import { DEFAULT_MAX_REJECTS_FILE_BYTES } from '../core/reader/limits.ts';
import { RejectTally } from '../core/reject-classes.ts';
import { readEvidence } from '../core/request-evidence.ts';
import type { Reject } from '../core/types.ts';
import { LOG_PREFIX, QUARANTINE_PREFIX, REJECTS_PREFIX } from '../shared/resources.ts';
import type { ObjectReader, ObjectWriter, OpenedObject, RegistrySource, UsageLedger } from './ports.ts';

export interface IngestRequest {
  bucket: string;
  /** The object key, already URL-decoded. */
  key: string;
  versionId?: string;
  etag?: string;
  sequencer?: string;
  /** Re-read even if this version is already committed (reprocessing with a new registry). */
  force?: boolean;
}

export type IngestOutcome =
  | 'ingested'
  | 'empty'
  | 'quarantined'
  | 'duplicate'
  | 'superseded'
  | 'missing'
  | 'skipped';

export interface IngestResult {
  outcome: IngestOutcome;
  key: string;
  gen?: string;
  lines?: number;
  counted?: number;
  rejected?: number;
  reason?: string;
  /** App-days where distinct endpoints or organisations passed their bound (see UsageBounds): the first 20. */
  overflow?: DayOverflow[];
}

export interface IngestDeps {
  objects: ObjectReader;
  writer: ObjectWriter;
  store: UsageLedger;
  reportsBucket: string;
  /** The current recipients registry, compiled, with its hash (`fresh`: not from a cache). */
  registry: RegistrySource;
  limits: ReaderLimits;
  /** Bounds on distinct endpoints and organisations per app-day (default DEFAULT_BOUNDS). */
  bounds?: UsageBounds;
  /**
   * Most UTF-8 bytes of a rejects file (default DEFAULT_MAX_REJECTS_FILE_BYTES): past it the rejected
   * lines are still counted (manifest `rejected`, `rejectReasons`) but no longer listed; the
   * manifest's `rejectsWritten` then says how many are, and the file ends with a line saying so.
   */
  maxRejectsFileBytes?: number;
  /** Line references kept per app-day, endpoint and category (default EVIDENCE_LINES; 0: no evidence). */
  evidenceLines?: number;
  now: () => Date;
}

export interface IngestTiming {
  /**
   * Epoch ms by which the read must be done: past it the object is quarantined as too large to
   * finish within the function's time (the handler passes the invocation's end minus a margin).
   */
  deadline?: number;
  /**
   * When the read passes the deadline, give the object up (OutOfTimeError, nothing written)
   * instead of quarantining it: for an object that did not get the invocation's whole time.
   */
  abandonAtDeadline?: boolean;
  /**
   * Epoch ms by which the rejects file and the contributions must be written (the handler passes
   * the invocation's end minus a few seconds, to commit): checked before the rejects file, as it
   * streams, and before the contributions; past it the object is quarantined as too large to
   * finish within the function's time (nothing of it counts) instead of timing out on every retry.
   */
  writeDeadline?: number;
  /** The clock the deadlines are checked against (default Date.now). */
  now?: () => number;
}

/** The write phase passed IngestTiming.writeDeadline. */
class WriteOutOfTime extends Error {}

/** The object did not get enough of the invocation's time; nothing was written. */
export class OutOfTimeError extends Error {
  override name = 'OutOfTimeError';
}

export function isLogKey(key: string): boolean {
  return key.startsWith(LOG_PREFIX) && !key.endsWith('/');
}

export function rejectsKeyFor(key: string, gen: string): string {
  return `${REJECTS_PREFIX}${key}@${gen}.jsonl`;
}

export function quarantineKeyFor(key: string, gen: string): string {
  return `${QUARANTINE_PREFIX}${key}@${gen}.json`;
}

/** One line of a rejects file (the reason bounded like every stored reason). */
export function rejectLine(key: string, gen: string, r: Reject): string {
  return `${JSON.stringify({ key, gen, line: r.line, reason: boundReason(r.reason) })}\n`;
}

/** The last line of a rejects file cut at its byte bound. */
export function rejectsTruncatedLine(written: number, rejected: number): string {
  return `${JSON.stringify({ truncated: true, written, rejected })}\n`;
}

export interface RejectsFileOptions {
  /** Stop listing rejects past this many UTF-8 bytes (they are still counted and tallied). */
  maxBytes?: number;
  /** Called before each chunk and every 4,096 rejects; throwing stops the file. */
  check?: () => void;
  /** Receives the number of rejects listed and counted once the file is complete. */
  done?: (written: number, rejected: number) => void;
}

/**
 * The rejects file, in chunks of whole lines, as the rejects come: never held whole in memory, so it can be
 * streamed to S3 however many lines were rejected. Past `maxBytes` the rest are counted (and tallied) but
 * not listed, and a last line `{"truncated":true,"written":W,"rejected":R}` says so.
 */
export async function* rejectsFile(
  key: string,
  gen: string,
  rejects: AsyncIterable<Reject> | Iterable<Reject>,
  tally?: RejectTally,
  opts: RejectsFileOptions = {},
): AsyncGenerator<string> {
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  let batch = '';
  let bytes = 0;
  let written = 0;
  let seen = 0;
  let full = false;
  for await (const r of rejects) {
    tally?.add(r.reason);
    seen++;
    if (seen % 4096 === 0) opts.check?.();
    if (full) continue;
    const line = rejectLine(key, gen, r);
    const n = Buffer.byteLength(line);
    if (bytes + n > maxBytes) {
      full = true;
      continue;
    }
    bytes += n;
    written++;
    batch += line;
    if (batch.length >= REJECTS_CHUNK_CHARS) {
      opts.check?.();
      yield batch;
      batch = '';
    }
  }
  if (full) batch += rejectsTruncatedLine(written, seen);
  if (batch !== '') yield batch;
  opts.done?.(written, seen);
}

/** Rejects-file lines are handed on in strings of about this many characters. */
const REJECTS_CHUNK_CHARS = 64 * 1024;

/**
 * What a reprocess reads: the version the manifest names (its order token is then right for it),
 * never a newer one that has its own event still to come. Undefined (with the body aborted) when
 * that version cannot be read any more: an unversioned object overwritten since it was counted.
 */
async function openForReprocess(
  deps: IngestDeps,
  req: IngestRequest,
  before: ObjectManifest,
): Promise<OpenedObject | undefined | 'overwritten'> {
  const current = await deps.objects.open(req.bucket, req.key);
  if (!current) return undefined;
  if ((current.versionId ?? current.etag) === before.gen) return current;
  current.abort();
  if (current.versionId === undefined) return 'overwritten';
  return deps.objects.open(req.bucket, req.key, before.gen);
}

export async function ingestObject(
  deps: IngestDeps,
  req: IngestRequest,
  timing: IngestTiming = {},
): Promise<IngestResult> {
  const { key } = req;
  if (!isLogKey(key))
    return { outcome: 'skipped', key, reason: `not under ${LOG_PREFIX} or a folder marker` };

  const seq = orderToken(req.sequencer);
  const before = await deps.store.getManifest(key);
  const eventGen = req.versionId ?? req.etag;
  if (before && !req.force) {
    if (eventGen !== undefined && before.gen === eventGen) {
      // Redelivered: finish whatever an interrupted run of this version left undone.
      await settle(deps, before);
      return { outcome: 'duplicate', key, gen: before.gen, reason: 'this version is already counted' };
    }
    if (req.sequencer !== undefined && before.seq > seq) {
      return { outcome: 'superseded', key, reason: 'a later version of this object is already counted' };
    }
  }

  const reprocess = req.force === true && req.versionId === undefined && req.sequencer === undefined;
  const got =
    reprocess && before
      ? await openForReprocess(deps, req, before)
      : await deps.objects.open(req.bucket, key, req.versionId);
  if (got === 'overwritten') {
    return {
      outcome: 'superseded',
      key,
      reason:
        'the object was overwritten since it was counted: the newer version is counted by its own event',
    };
  }
  const opened = got;
  if (!opened) return { outcome: 'missing', key, reason: 'the object (or this version) no longer exists' };
  if (req.etag !== undefined && req.versionId === undefined && opened.etag !== req.etag) {
    // Overwritten since the event: the newer version has its own event.
    opened.abort();
    return { outcome: 'superseded', key, reason: 'the object was overwritten after this event' };
  }
  const gen = opened.versionId ?? opened.etag;
  if (!req.force && gen !== before?.gen && olderThanCommitted(before, opened.lastModified)) {
    // An intermediate version's late event after a newer version was counted without a sequencer.
    opened.abort();
    return { outcome: 'superseded', key, reason: 'a later version of this object is already counted' };
  }
  // Without a sequencer (reprocess, reconcile) the object keeps its place in the order; what it
  // read is then the version the manifest names (reprocess) or a newer one (reconcile), and the
  // LastModified recorded below keeps older versions out.
  const effectiveSeq = req.sequencer !== undefined ? seq : (before?.seq ?? seq);
  const { matcher, hash } = await deps.registry({ fresh: req.force === true });
  const wid = writeId(gen, effectiveSeq, hash);
  const outcome = await readLogObject(opened.body, {
    matcher,
    limits: deps.limits,
    ...(deps.bounds ? { bounds: deps.bounds } : {}),
    ...(timing.deadline !== undefined ? { deadline: timing.deadline } : {}),
    evidenceLines: deps.evidenceLines ?? EVIDENCE_LINES,
  });
  if (
    timing.abandonAtDeadline &&
    outcome.status === 'quarantined' &&
    outcome.reason.startsWith(OUT_OF_TIME_REASON)
  ) {
    throw new OutOfTimeError(`${key}: ${outcome.reason}; left for a later invocation`);
  }
  try {
    return await record(deps, req, before, opened, { gen, wid, seq: effectiveSeq, hash }, outcome, timing);
  } finally {
    // The spilled rejects are deleted once streamed; this covers a failure before or during that.
    if (outcome.status !== 'quarantined') outcome.spill?.discard();
  }
}

/** Steps 3 and 4 for what the reader made of the object. */
async function record(
  deps: IngestDeps,
  req: IngestRequest,
  committed: ObjectManifest | undefined,
  opened: OpenedObject,
  write: { gen: string; wid: string; seq: string; hash: string },
  read: ReadOutcome,
  timing: IngestTiming,
): Promise<IngestResult> {
  const { key } = req;
  const { gen, wid, hash } = write;
  const effectiveSeq = write.seq;
  let before = committed;
  let outcome = read;
  const now = timing.now ?? Date.now;
  const { writeDeadline } = timing;
  const late = (): boolean => writeDeadline !== undefined && now() > writeDeadline;
  /** The read outcome turned into a quarantine: the write phase could not finish in time. */
  const outOfTime = (what: string): ReadOutcome => {
    if (read.status !== 'quarantined') read.spill?.discard();
    return {
      status: 'quarantined',
      compressed: read.compressed,
      lines: read.lines,
      reason: `${OUT_OF_TIME_REASON}: read all ${read.lines} lines of the object, but ${what} before the deadline`,
    };
  };
  if (outcome.status !== 'quarantined' && late())
    outcome = outOfTime(
      `had no time left to write its rejected lines and usage (${outcome.usage.length} app-days)`,
    );

  // Rejects are counted per reason class as they stream to the rejects file (bounded in the manifest).
  let rejectsKey: string | undefined;
  let rejectReasons: ReturnType<RejectTally['result']>;
  let rejectsWritten: number | undefined;
  if (outcome.status !== 'quarantined' && outcome.rejected > 0) {
    const tally = new RejectTally();
    let listed = 0;
    rejectsKey = rejectsKeyFor(key, gen);
    try {
      await deps.writer.putStream(
        deps.reportsBucket,
        rejectsKey,
        rejectsFile(key, gen, allRejects(outcome), tally, {
          maxBytes: deps.maxRejectsFileBytes ?? DEFAULT_MAX_REJECTS_FILE_BYTES,
          check: () => {
            if (late()) throw new WriteOutOfTime();
          },
          done: (written, rejected) => {
            listed = rejected;
            if (written < rejected) rejectsWritten = written;
          },
        }),
        'application/x-ndjson',
      );
    } catch (err) {
      if (!(err instanceof WriteOutOfTime) && !late()) throw err;
      outcome = outOfTime(
        `could not write its rejects file of ${outcome.rejected} rejected lines (${listed} listed)`,
      );
    }
    rejectReasons = tally.result();
  }
  if (outcome.status !== 'quarantined' && late())
    outcome = outOfTime(`had no time left to write its usage (${outcome.usage.length} app-days)`);

  const manifest: ObjectManifest = {
    key,
    gen,
    wid,
    seq: effectiveSeq,
    status: outcome.status,
    format: outcome.status === 'quarantined' ? null : outcome.format,
    compressed: outcome.compressed,
    lines: outcome.lines,
    counted: outcome.status === 'quarantined' ? 0 : outcome.counted,
    rejected: outcome.status === 'quarantined' ? 0 : outcome.rejected,
    chunks: 0,
    registryHash: hash,
    ingestedAt: deps.now().toISOString(),
    etag: opened.etag,
    ...(opened.lastModified ? { modified: opened.lastModified.toISOString() } : {}),
  };
  if (outcome.status !== 'quarantined' && rejectsKey !== undefined) {
    manifest.rejectsKey = rejectsKey;
    if (rejectReasons) manifest.rejectReasons = rejectReasons;
    if (rejectsWritten !== undefined) manifest.rejectsWritten = rejectsWritten;
  }
  if (outcome.status !== 'quarantined' && outcome.duplicateRequestIds !== undefined) {
    manifest.requestIds = {
      ids: outcome.requestIds ?? 0,
      duplicates: outcome.duplicateRequestIds,
      ...(outcome.duplicateRequestIdsLowerBound ? { capped: true as const } : {}),
    };
  }

  if (outcome.status === 'quarantined') {
    manifest.reason = boundReason(outcome.reason);
    manifest.quarantineKey = quarantineKeyFor(key, gen);
    await deps.writer.put(
      deps.reportsBucket,
      manifest.quarantineKey,
      `${JSON.stringify({ key, gen, reason: outcome.reason, lines_read: outcome.lines })}\n`,
      'application/json',
    );
  }
  const usage = outcome.status === 'quarantined' ? [] : outcome.usage;
  const evidence = outcome.status === 'quarantined' ? undefined : readEvidence({ key, gen }, outcome);
  manifest.chunks = await deps.store.writeContributions(key, gen, wid, usage, evidence);
  if (manifest.status !== 'ingested' || manifest.rejected > 0) await deps.store.indexDataQuality(manifest);

  // Commit on the condition that the manifest is still the one we read; if another write got in
  // between, look again: a later version wins, an earlier one is replaced (with its contributions).
  for (let attempt = 0; ; attempt++) {
    if (
      before &&
      before.wid !== wid &&
      (before.seq > manifest.seq || (before.gen !== gen && olderThanCommitted(before, opened.lastModified)))
    ) {
      if (before.wid !== wid) await deps.store.deleteWrite(key, { wid, chunks: manifest.chunks });
      return { outcome: 'superseded', key, gen, reason: 'a later version of this object is already counted' };
    }
    if (before?.wid === wid) {
      // The same write was committed by a concurrent delivery (or an identical reprocess).
      await settle(deps, before);
      return req.force
        ? resultOf(before)
        : { outcome: 'duplicate', key, gen, reason: 'this version is already counted' };
    }
    const cleanup = cleanupAfter(before, wid);
    if (cleanup.length > 0) manifest.cleanup = cleanup;
    else delete manifest.cleanup;
    const result = await deps.store.commit(manifest, before);
    if (result.committed) break;
    if (attempt >= 8) throw new Error(`${key}: the commit lost ${attempt + 1} races in a row; retry later`);
    before = result.current;
  }
  await settle(
    deps,
    manifest,
    usage.map((u) => u.day),
  );
  const result = resultOf(manifest);
  if (outcome.status !== 'quarantined' && outcome.overflow) result.overflow = outcome.overflow.slice(0, 20);
  return result;
}

function resultOf(m: ObjectManifest): IngestResult {
  return {
    outcome: m.status,
    key: m.key,
    gen: m.gen,
    lines: m.lines,
    counted: m.counted,
    rejected: m.rejected,
    ...(m.reason ? { reason: m.reason } : {}),
  };
}

/**
 * After a commit (or on a redelivery of a committed version): marks every day whose usage the
 * switch changed, then deletes the contributions of the writes it replaced. Idempotent. The days
 * are marked first (readers count only committed writes, so the usage changed at the commit, not
 * at the deletions): a usage query that started before the commit sees the marker move before any
 * replaced item vanishes, and reads again (UsageStore.queryUsage).
 */
async function settle(deps: IngestDeps, manifest: ObjectManifest, ownDays?: Iterable<string>): Promise<void> {
  // The days of the write itself: known in memory right after writing it, else from its part lists.
  const days = new Set(ownDays ?? (await deps.store.entries(manifest.key, manifest)).map(dayOfEntry));
  const pending = (manifest.cleanup ?? []).filter((c) => c.wid !== manifest.wid);
  for (const ref of pending) {
    for (const e of await deps.store.entries(manifest.key, ref)) days.add(dayOfEntry(e));
  }
  await deps.store.markDaysChanged(days, deps.now().toISOString());
  for (const ref of pending) await deps.store.deleteWrite(manifest.key, ref);
  if (manifest.cleanup) await deps.store.finishCleanup(manifest.key, manifest.wid);
}
