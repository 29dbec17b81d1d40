/**
 * `auditor evidence`: reading back the log lines a finding's evidence names (issue 11 item 5) and
 * checking each against the sha256 recorded at ingest. Loaded only when the command runs.
 *
 * A ref names its object by key and generation (`gen`), as ingest recorded it: the S3 version id
 * when the log bucket is versioned (a deployed stack's always is), else the ETag without quotes
 * (the embedded stack's s3rver has no versioning). A version id is read by GetObject with
 * VersionId, so later puts and deletes of the key do not matter while that version exists. An
 * ETag can only be compared: the current object is read when its ETag is still `gen`, and refused
 * (every line of it `changed`) when the key was overwritten since, because what ingest read is
 * gone. Each (key, gen) is read once, however many lines name it, and streamed (plain or gzip)
 * through the reader's own line splitter (core/evidence-check.ts). Nothing is written.
 */

import { mapLimit } from '../adapters/dynamo-batch.ts';
import type { LineRef } from '../core/evidence.ts';
import { checkLines } from '../core/evidence-check.ts';
import { gzipErrorReason } from '../core/reader/decompress.ts';
import { DEFAULT_LIMITS, Quarantine, type ReaderLimits } from '../core/reader/limits.ts';
import type { ObjectReader, OpenedObject } from '../ingest/ports.ts';
import { CliError } from './errors.ts';

/** One line of a log object as a finding's `evidence.lines` names it. */
export interface EvidenceLineRef extends LineRef {
  /** The log object's key. */
  key: string;
  /** The S3 version id read at ingest, or the ETag (without quotes) where the bucket is not versioned. */
  gen: string;
}

export type LineStatus = 'ok' | 'changed' | 'missing' | 'unreadable';

/** A ref as checked now: the line's current text (null when it cannot be read) and why it is not ok. */
export interface CheckedEvidenceLine extends EvidenceLineRef {
  status: LineStatus;
  text: string | null;
  reason: string | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * A finding's `evidence.lines`: undefined when absent or empty; a CliError when it is not a list
 * of refs (a report file edited by hand).
 */
export function lineRefsOf(finding: {
  finding_id: string;
  evidence?: unknown;
}): EvidenceLineRef[] | undefined {
  const lines = isObject(finding.evidence) ? finding.evidence.lines : undefined;
  if (lines === undefined || (Array.isArray(lines) && lines.length === 0)) return undefined;
  const valid =
    Array.isArray(lines) &&
    lines.every(
      (r: unknown) =>
        isObject(r) &&
        typeof r.key === 'string' &&
        r.key !== '' &&
        typeof r.gen === 'string' &&
        r.gen !== '' &&
        Number.isSafeInteger(r.line) &&
        (r.line as number) >= 1 &&
        (r.request_id === null || typeof r.request_id === 'string') &&
        typeof r.sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test(r.sha256),
    );
  if (!valid)
    throw new CliError(
      `finding ${finding.finding_id}: evidence.lines is not a list of {key, gen, line, request_id, sha256}`,
    );
  return (lines as EvidenceLineRef[]).map(({ key, gen, line, request_id, sha256 }) => ({
    key,
    gen,
    line,
    request_id,
    sha256,
  }));
}

/** An ETag without quotes: an MD5 in hex, with "-N" for a multipart upload. S3 version ids are not hex. */
const ETAG_RE = /^[0-9a-f]{32}(-\d+)?$/;

/** Whether ingest recorded an ETag (unversioned bucket) rather than a version id. */
export const isEtagGen = (gen: string): boolean => ETAG_RE.test(gen);

/**
 * The limits lines are read back with. The object is the one ingest accepted (pinned by `gen`),
 * and the deployed ingest's limits may be raised by configuration, so the decompression bounds
 * are not applied again and lines up to 16 MiB are kept (a recorded line is within ingest's limit).
 */
export const CHECK_LIMITS: ReaderLimits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxLineBytes: 16 * 1024 ** 2,
  maxDecompressedBytes: Number.POSITIVE_INFINITY,
  maxCompressionRatio: Number.POSITIVE_INFINITY,
});

/** Objects streamed at once (each up to its last wanted line: a large gzip one takes a while). */
export const OBJECTS_AT_ONCE = 4;

type Opened = { object: OpenedObject } | { status: Exclude<LineStatus, 'ok'>; reason: string };

const errorName = (err: unknown): string => (err instanceof Error ? err.name : '');

/**
 * Why the lines of an object S3 refused are `unreadable`: without s3:ListBucket S3 answers a
 * missing key with 403 rather than 404, so a deleted object and a missing permission look alike.
 */
export const ACCESS_DENIED_REASON =
  'access denied: the object may be gone (without s3:ListBucket S3 answers a missing key with 403), ' +
  'or reading it needs s3:GetObject and s3:GetObjectVersion on the log bucket';

const isAccessDenied = (err: unknown): boolean =>
  errorName(err) === 'AccessDenied' ||
  (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode === 403;

/** GetObject: undefined when the object (or version) is not there, 'denied' on access denied. */
async function openObject(
  objects: ObjectReader,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<OpenedObject | undefined | 'denied'> {
  try {
    return await objects.open(bucket, key, versionId);
  } catch (err) {
    if (isAccessDenied(err)) return 'denied';
    // S3 answers a version id it cannot parse with InvalidArgument: no such version.
    if (versionId !== undefined && errorName(err) === 'InvalidArgument') return undefined;
    throw err;
  }
}

const DENIED: Opened = { status: 'unreadable', reason: ACCESS_DENIED_REASON };

/** The object version `gen` names, or why its lines cannot be checked. */
async function openGeneration(
  objects: ObjectReader,
  bucket: string,
  key: string,
  gen: string,
): Promise<Opened> {
  if (!isEtagGen(gen)) {
    const version = await openObject(objects, bucket, key, gen);
    if (version === 'denied') return DENIED;
    if (version === undefined)
      return { status: 'missing', reason: `version ${gen} of the object no longer exists` };
    return { object: version };
  }
  const current = await openObject(objects, bucket, key);
  if (current === 'denied') return DENIED;
  if (current === undefined) return { status: 'missing', reason: 'the object no longer exists' };
  if (current.etag === gen) return { object: current };
  current.abort();
  return {
    status: 'changed',
    reason:
      `the object was overwritten since it was read: its ETag is now ${current.etag}, the evidence names ${gen} ` +
      '(the bucket is not versioned, so the content read then is gone); not read',
  };
}

/** Why the content cannot be what ingest read (a NUL byte, a corrupt gzip), or undefined for other errors. */
function unreadableReason(err: unknown): string | undefined {
  if (err instanceof Quarantine) return err.message;
  return gzipErrorReason(err);
}

const short = (sha: string): string => `${sha.slice(0, 16)}…`;

/**
 * Each ref checked, in the order given: `ok` when its line still hashes to the recorded sha256,
 * `changed` when it does not (or the object cannot be the one read at ingest), `missing` when the
 * object, its version or the line is gone, `unreadable` when S3 denies access to the object (the
 * other objects are still read). Up to OBJECTS_AT_ONCE objects are read at a time.
 */
export async function checkEvidenceLines(
  objects: ObjectReader,
  bucket: string,
  refs: readonly EvidenceLineRef[],
  limits: ReaderLimits = CHECK_LIMITS,
): Promise<CheckedEvidenceLine[]> {
  const groups = new Map<string, number[]>();
  refs.forEach((r, i) => {
    const id = `${r.key}\u0000${r.gen}`;
    const group = groups.get(id);
    if (group) group.push(i);
    else groups.set(id, [i]);
  });
  const out: CheckedEvidenceLine[] = new Array(refs.length);
  const set = (i: number, status: LineStatus, text: string | null, reason: string | null) => {
    out[i] = { ...(refs[i] as EvidenceLineRef), status, text, reason };
  };
  await mapLimit([...groups.values()], OBJECTS_AT_ONCE, async (indexes) => {
    const { key, gen } = refs[indexes[0] as number] as EvidenceLineRef;
    const opened = await openGeneration(objects, bucket, key, gen);
    if (!('object' in opened)) {
      for (const i of indexes) set(i, opened.status, null, opened.reason);
      return;
    }
    const wanted = indexes.map((i) => refs[i] as EvidenceLineRef);
    let checked: Awaited<ReturnType<typeof checkLines>>;
    try {
      checked = await checkLines(opened.object.body, wanted, limits);
    } catch (err) {
      opened.object.abort();
      const why = unreadableReason(err);
      if (why === undefined) throw err;
      for (const i of indexes)
        set(i, 'changed', null, `the object cannot be what was read at ingest: ${why}`);
      return;
    }
    checked.forEach((c, n) => {
      const i = indexes[n] as number;
      if (c.sha256 === null) set(i, 'missing', null, `the object has no line ${c.ref.line}`);
      else if (c.ok) set(i, 'ok', c.text, null);
      else
        set(
          i,
          'changed',
          c.text,
          `the line now hashes to ${short(c.sha256)}, the evidence recorded ${short(c.ref.sha256)}`,
        );
    });
  });
  return out;
}
