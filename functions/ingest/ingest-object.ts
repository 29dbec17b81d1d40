/**
 * Use case: one log object version becomes its contribution to usage, exactly once in effect.
 *
 * 1. Skip what is not a log (outside logs/, folder markers) and what is already done: the same
 *    version already committed (a duplicate delivery) or a later version already committed.
 * 2. Read the object (the version the event names) and aggregate it in memory (pure core).
 * 3. Write the rejects file or quarantine record, then the contributions (idempotent puts), mark the
 *    days as changed, and commit the manifest (one conditional put). A crash anywhere before the
 *    commit leaves nothing counted; the retry writes the same items again.
 * 4. Delete the contributions of the version this one replaced.
 */
import { LOG_PREFIX, QUARANTINE_PREFIX, REJECTS_PREFIX } from '../../infra/resources.ts';
import type { ObjectReader, ObjectWriter } from '../adapters/object-store.ts';
import { type ObjectManifest, orderToken, partitionOf, type UsageStore } from '../adapters/usage-store.ts';
import { type ReaderLimits, readLogObject } from '../core/log-reader.ts';
import type { RecipientMatcher } from '../core/recipients.ts';
import type { Reject } from '../core/types.ts';

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
}

export interface IngestDeps {
  objects: ObjectReader;
  writer: ObjectWriter;
  store: UsageStore;
  reportsBucket: string;
  /** The current recipients registry, compiled, with its hash. */
  registry: () => Promise<{ matcher: RecipientMatcher; hash: string }>;
  limits: ReaderLimits;
  now: () => Date;
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

export function rejectsFile(key: string, gen: string, rejects: readonly Reject[]): string {
  let out = '';
  for (const r of rejects) out += `${JSON.stringify({ key, gen, line: r.line, reason: r.reason })}\n`;
  return out;
}

export async function ingestObject(deps: IngestDeps, req: IngestRequest): Promise<IngestResult> {
  const { key } = req;
  if (!isLogKey(key))
    return { outcome: 'skipped', key, reason: `not under ${LOG_PREFIX} or a folder marker` };

  const seq = orderToken(req.sequencer);
  const before = await deps.store.getManifest(key);
  const eventGen = req.versionId ?? req.etag;
  if (before && !req.force) {
    if (eventGen !== undefined && before.gen === eventGen) {
      await cleanUp(deps, before);
      return { outcome: 'duplicate', key, gen: before.gen, reason: 'this version is already counted' };
    }
    if (req.sequencer !== undefined && before.seq > seq) {
      return { outcome: 'superseded', key, reason: 'a later version of this object is already counted' };
    }
  }

  const opened = await deps.objects.open(req.bucket, key, req.versionId);
  if (!opened) return { outcome: 'missing', key, reason: 'the object (or this version) no longer exists' };
  if (req.etag !== undefined && req.versionId === undefined && opened.etag !== req.etag) {
    // Overwritten since the event: the newer version has its own event.
    opened.abort();
    return { outcome: 'superseded', key, reason: 'the object was overwritten after this event' };
  }
  const gen = opened.versionId ?? opened.etag;
  const effectiveSeq =
    req.sequencer !== undefined
      ? seq
      : req.force && before
        ? before.seq
        : orderToken(lastModifiedToken(opened.lastModified));

  const { matcher, hash } = await deps.registry();
  const outcome = await readLogObject(opened.body, { matcher, limits: deps.limits });

  const manifest: ObjectManifest = {
    key,
    gen,
    seq: effectiveSeq,
    status: outcome.status,
    format: outcome.status === 'quarantined' ? null : outcome.format,
    compressed: outcome.compressed,
    lines: outcome.lines,
    counted: outcome.status === 'quarantined' ? 0 : outcome.counted,
    rejected: outcome.status === 'quarantined' ? 0 : outcome.rejected,
    partitions: [],
    registryHash: hash,
    ingestedAt: deps.now().toISOString(),
  };

  if (outcome.status === 'quarantined') {
    manifest.reason = outcome.reason;
    manifest.quarantineKey = quarantineKeyFor(key, gen);
    await deps.writer.put(
      deps.reportsBucket,
      manifest.quarantineKey,
      `${JSON.stringify({ key, gen, reason: outcome.reason, lines_read: outcome.lines })}\n`,
      'application/json',
    );
  } else {
    if (outcome.rejects.length > 0) {
      manifest.rejectsKey = rejectsKeyFor(key, gen);
      await deps.writer.put(
        deps.reportsBucket,
        manifest.rejectsKey,
        rejectsFile(key, gen, outcome.rejects),
        'application/x-ndjson',
      );
    }
    manifest.partitions = outcome.usage.map((u) => partitionOf(u.app, u.day));
    await deps.store.writeContributions(key, gen, outcome.usage);
  }

  const days = new Set(manifest.partitions.map(dayOf));
  for (const p of before?.partitions ?? []) days.add(dayOf(p));
  await deps.store.markDaysChanged(days, manifest.ingestedAt);
  if (manifest.status !== 'ingested' || manifest.rejected > 0) await deps.store.indexDataQuality(manifest);

  // What the commit replaces is listed in the manifest itself, so a crash after the commit leaves
  // the deletions to the retry (which finds this version committed and finishes them).
  const pending = staleOf(before, manifest);
  if (pending.length > 0) manifest.cleanup = pending;
  const result = await deps.store.commit(manifest);
  if (!result.committed) {
    // A later version won the race: what this one wrote is not counted; remove it.
    if (result.current?.gen !== gen) await deps.store.deleteContributions(key, gen, manifest.partitions);
    return { outcome: 'superseded', key, gen, reason: 'a later version of this object is already counted' };
  }
  // Another version was committed between our read and our commit: its contributions go too.
  if (result.previous && result.previous.gen !== before?.gen) {
    manifest.cleanup = [...(manifest.cleanup ?? []), ...staleOf(result.previous, manifest)];
  }
  await cleanUp(deps, manifest);

  return {
    outcome: outcome.status,
    key,
    gen,
    lines: manifest.lines,
    counted: manifest.counted,
    rejected: manifest.rejected,
    ...(manifest.reason ? { reason: manifest.reason } : {}),
  };
}

/** Contributions of `previous` (and its own pending cleanup) that `next` does not overwrite. */
function staleOf(
  previous: ObjectManifest | undefined,
  next: ObjectManifest,
): { gen: string; partitions: string[] }[] {
  if (!previous) return [];
  const live = new Set(next.partitions);
  const out: { gen: string; partitions: string[] }[] = [];
  for (const entry of [...(previous.cleanup ?? []), { gen: previous.gen, partitions: previous.partitions }]) {
    // Never delete what the new version has just written (same gen, same partition, same item).
    const partitions =
      entry.gen === next.gen ? entry.partitions.filter((p) => !live.has(p)) : entry.partitions;
    if (partitions.length > 0) out.push({ gen: entry.gen, partitions });
  }
  return out;
}

const dayOf = (partition: string): string => partition.slice(partition.lastIndexOf('/') + 1);

function lastModifiedToken(d: Date | undefined): string | undefined {
  return d ? d.getTime().toString(16) : undefined;
}

async function cleanUp(deps: IngestDeps, manifest: ObjectManifest): Promise<void> {
  if (!manifest.cleanup?.length) return;
  for (const c of manifest.cleanup) await deps.store.deleteContributions(manifest.key, c.gen, c.partitions);
  await deps.store.finishCleanup(manifest.key, manifest.gen);
}
