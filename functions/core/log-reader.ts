/**
 * The streaming log reader (SPEC §2): one log object's bytes in, its usage per app × UTC day out,
 * with every rejected line and its reason, or a quarantine verdict when the object is not a log.
 *
 * - Never holds the object whole: bytes flow through (gunzip →) a hand-written line splitter; a
 *   line longer than `maxLineBytes` is skipped as it streams and rejected.
 * - gzip is recognised by its magic bytes; multi-member gzip is read whole. Corrupt or truncated
 *   compression, a NUL byte, a suspected decompression bomb, an unrecognised format, a duplicate
 *   CSV column or a sum over 2^53 − 1 quarantine the object: nothing of it counts.
 * - Deterministic: the outcome does not depend on how the input is cut into chunks (except for the
 *   point where a decompression bomb is noticed, which only changes `lines` of the quarantine).
 *
 * Line numbers are 1-based physical lines of the decompressed text; `lines` in the outcome is the
 * number of physical lines read (blank ones included). No AWS; the only file system access is the
 * rejects spill (reader/spill.ts).
 *
 * Bounded memory whatever the object holds:
 * - rejects: the first MAX_HELD_REJECTS are in `rejects`; the rest go to a spill file in
 *   os.tmpdir(), read back in order (and deleted) through `spill` / allRejects().
 * - distinct values: past UsageBounds (endpoints per app-day, organisations per category of an
 *   app-day) usage rolls into `(other endpoints)` / `(other organisations)`, with exact sums;
 *   `overflow` says how many distinct values rolled over per app-day.
 * - time: past `deadline` the reader stops and the object is quarantined (nothing of it counts),
 *   with how far it got in the reason.
 * - evidence (opt-in, `evidenceLines`, evidence.ts): up to N line references per app-day, endpoint
 *   and category per organisation, within MAX_OBJECT_REFS per object and MAX_DAY_REFS per app-day
 *   (request_ids cut to MAX_REQUEST_ID_CHARS as taken), and 8 bytes per counted
 *   line with a request_id for the duplicate count (capped at MAX_FINGERPRINTS: 56 MB).
 *
 * The parts, under reader/: decompress.ts (gzip), lines.ts (line splitting and the line limit),
 * jsonl.ts and csv-format.ts (one format each, behind format.ts's LogFormat), each format with a
 * fast path (jsonl-fast.ts, csv-fast.ts) over bytes that falls back to the general path for any
 * line it is not sure of. This file detects the format and gathers usage and rejects.
 */
import { isUtf8 } from 'node:buffer';
import { type DayOverflow, type RefSource, UsageAggregator } from './aggregate.ts';
import { type DayEvidence, DuplicateCounter, type LineRef, lineSha256 } from './evidence.ts';
import { CsvFormat, parseCsvHeader } from './reader/csv-format.ts';
import { gunzipInto, gzipErrorReason } from './reader/decompress.ts';
import type { LogFormat, RecordSink } from './reader/format.ts';
import { readHead } from './reader/head.ts';
import { JsonlFormat } from './reader/jsonl.ts';
import {
  DEFAULT_BOUNDS,
  DEFAULT_LIMITS,
  formatBytes,
  MAX_HELD_REJECTS,
  OTHER_ENDPOINTS,
  OTHER_ORGANISATIONS,
  Quarantine,
  type ReaderLimits,
  type UsageBounds,
} from './reader/limits.ts';
import { type LineSink, LineSplitter } from './reader/lines.ts';
import { RejectSpill } from './reader/spill.ts';
import { EMPTY_MATCHER, type RecipientMatcher } from './recipients.ts';
import { newRecord, type UsageRecord } from './record.ts';
import { boundRequestId, MAX_REQUEST_ID_CHARS } from './request-evidence.ts';
import type { DayUsage, Reject } from './types.ts';

export {
  type DayOverflow,
  DEFAULT_BOUNDS,
  DEFAULT_LIMITS,
  formatBytes,
  MAX_HELD_REJECTS,
  OTHER_ENDPOINTS,
  OTHER_ORGANISATIONS,
  type ReaderLimits,
  RejectSpill,
  type UsageBounds,
};

/** The start of the quarantine reason of an object whose read passed its deadline. */
export const OUT_OF_TIME_REASON = "too large to finish within the function's time";

export interface ReadOptions {
  matcher?: RecipientMatcher;
  limits?: Partial<ReaderLimits>;
  bounds?: Partial<UsageBounds>;
  /** Stop and quarantine the object once this instant (epoch ms) has passed. */
  deadline?: number;
  /** The clock the deadline is checked against (default Date.now). */
  now?: () => number;
  /** Rejects held in memory before the rest are spilled (default MAX_HELD_REJECTS). */
  maxHeldRejects?: number;
  /** Where the spill file goes (default os.tmpdir()). */
  spillDirectory?: string;
  /**
   * Request-level evidence (evidence.ts): keep this many line references per app-day, endpoint and
   * category, and count duplicate request_ids. Default 0: neither (the outcome then has neither field).
   */
  evidenceLines?: number;
}

export type ReadOutcome =
  | {
      status: 'ingested' | 'empty';
      format: 'jsonl' | 'csv' | null;
      compressed: boolean;
      lines: number;
      counted: number;
      rejected: number;
      /** The first rejects (all of them unless `spill` is set). */
      rejects: Reject[];
      /** The rejects after the first ones, when there were more: read once with allRejects(). */
      spill?: RejectSpill;
      usage: DayUsage[];
      /** The app-days where a UsageBounds bound was reached; absent when none was. */
      overflow?: DayOverflow[];
      /** With `evidenceLines`: the line references per app-day, sorted like `usage`. */
      evidence?: DayEvidence[];
      /**
       * With `evidenceLines`: counted lines whose request_id repeats one of an earlier counted line
       * of the object (exact up to MAX_FINGERPRINTS request_ids, a lower bound past it).
       */
      duplicateRequestIds?: number;
      /** With `evidenceLines`: counted lines with a request_id (up to MAX_FINGERPRINTS). */
      requestIds?: number;
      /** Set when more than MAX_FINGERPRINTS lines had a request_id: duplicateRequestIds is then a lower bound. */
      duplicateRequestIdsLowerBound?: true;
    }
  | { status: 'quarantined'; reason: string; compressed: boolean; lines: number };

/**
 * Every reject of an outcome, in line order: the held ones then the spilled ones. Read it once:
 * the spill file is deleted as it ends.
 */
export async function* allRejects(outcome: {
  rejects: Reject[];
  spill?: RejectSpill;
}): AsyncGenerator<Reject> {
  yield* outcome.rejects;
  if (outcome.spill) yield* outcome.spill.read();
}

/** How far past the first non-blank line the reader looks for a JSON object line. */
export const FORMAT_LOOKAHEAD_BYTES = 64 * 1024;

/** Read one log object. Rejects only when the source itself fails (a read error to retry). */
export async function readLogObject(
  source: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): Promise<ReadOutcome> {
  const limits: ReaderLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ReaderLimits)[]) {
    const v = options.limits?.[key];
    if (v !== undefined) limits[key] = v;
  }
  const bounds: UsageBounds = { ...DEFAULT_BOUNDS };
  for (const key of Object.keys(DEFAULT_BOUNDS) as (keyof UsageBounds)[]) {
    const v = options.bounds?.[key];
    if (v !== undefined) bounds[key] = v;
  }
  const { deadline } = options;
  const now = options.now ?? Date.now;
  let bytesRead = 0;
  // Checked before each chunk read and each chunk split into lines (lines is set before any).
  const checkDeadline = (): void => {
    if (deadline !== undefined && now() > deadline) {
      throw new Quarantine(
        `${OUT_OF_TIME_REASON}: read ${lines?.lineCount ?? 0} lines (${bytesRead} bytes) of the object before the deadline`,
      );
    }
  };
  let lines: LineSplitter | undefined;
  const iterator = source[Symbol.asyncIterator]();
  const next = async (): Promise<Buffer | undefined> => {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await iterator.next();
    } catch (error) {
      throw new SourceError(error);
    }
    if (r.done) return undefined;
    if (lines !== undefined) checkDeadline();
    bytesRead += r.value.byteLength;
    return asBuffer(r.value);
  };

  // Peek at the first two bytes: gzip magic 1f 8b?
  const { chunks: head, ended, gzip: compressed } = await readHead(next);
  const reader = new LineReader(
    limits,
    bounds,
    options.matcher ?? EMPTY_MATCHER,
    {
      held: options.maxHeldRejects ?? MAX_HELD_REJECTS,
      directory: options.spillDirectory,
    },
    options.evidenceLines ?? 0,
  );
  lines = new LineSplitter(limits.maxLineBytes, reader);
  const push = (chunk: Buffer): void => {
    checkDeadline();
    lines.push(chunk);
  };

  try {
    if (!compressed) {
      for (const chunk of head) push(chunk);
      if (!ended) {
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) push(chunk);
      }
    } else {
      await gunzipInto(head, ended ? async () => undefined : next, limits, push);
    }
    lines.finish();
    return reader.finish(compressed, lines.lineCount);
  } catch (error) {
    reader.discard();
    if (error instanceof SourceError) throw error.cause;
    if (error instanceof Quarantine) {
      await closeQuietly(iterator);
      return { status: 'quarantined', reason: error.message, compressed, lines: lines.lineCount };
    }
    const gzipReason = compressed ? gzipErrorReason(error) : undefined;
    if (gzipReason !== undefined) {
      await closeQuietly(iterator);
      return { status: 'quarantined', reason: gzipReason, compressed, lines: lines.lineCount };
    }
    throw error;
  }
}

class SourceError extends Error {
  constructor(override readonly cause: unknown) {
    super('log source failed');
  }
}

async function closeQuietly(iterator: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // Closing an abandoned source is best effort.
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** A line held while the format is not yet known. */
interface PendingLine {
  line: number;
  /** A copy of the line's bytes; undefined for an over-long line. */
  bytes: Buffer | undefined;
}

const OPEN_BRACE = 123;
const MAX_INTERNED_REASONS = 10_000;

/** Detects the format from the first lines, hands lines to it, and gathers usage and rejects. */
class LineReader implements LineSink, RecordSink, RefSource {
  readonly record: UsageRecord = newRecord();
  private readonly lineLimitText: string;
  private format: LogFormat | undefined;
  private readonly pending: PendingLine[] = [];
  private pendingStart = 0;
  private firstLineProblem = '';

  private readonly usage: UsageAggregator;
  private counted = 0;
  private readonly rejects: Reject[] = [];
  private spill: RejectSpill | undefined;
  private readonly reasons = new Map<string, string>();
  // The physical line being read (for evidence): buf[curStart, curEnd), line curLine (0 while a
  // CSV record spans lines: no reference is taken for it).
  private curBuf: Buffer | undefined;
  private curStart = 0;
  private curEnd = 0;
  private curLine = 0;
  private lastRef: LineRef | undefined;
  private curHash = -1;
  private readonly duplicates: DuplicateCounter | undefined;

  constructor(
    private readonly limits: ReaderLimits,
    bounds: UsageBounds,
    private readonly matcher: RecipientMatcher,
    private readonly spillTo: { held: number; directory: string | undefined },
    evidenceLines: number,
  ) {
    this.lineLimitText = `line exceeds ${formatBytes(limits.maxLineBytes)}`;
    this.usage = new UsageAggregator(bounds, evidenceLines);
    this.duplicates = evidenceLines > 0 ? new DuplicateCounter() : undefined;
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, at: number, utf8Valid: boolean): void {
    const format = this.format;
    this.curBuf = buf;
    this.curStart = start;
    this.curEnd = end;
    if (format?.open) {
      this.curLine = 0;
      format.line(buf, start, end, lineNo, utf8Valid);
      return;
    }
    this.curLine = lineNo;
    if (start === end) return;
    const first = buf[start] as number;
    if ((first === 32 || first === 9) && isBlank(buf, start, end)) return;
    if (format !== undefined) format.line(buf, start, end, lineNo, utf8Valid);
    else this.detect(buf, start, end, lineNo, at, utf8Valid);
  }

  overlong(lineNo: number, prefix: Buffer, at: number): void {
    const format = this.format;
    if (format?.open) {
      format.overlongWhileOpen();
      return;
    }
    if (format === undefined) {
      if (prefix[0] === OPEN_BRACE) this.becomeJsonl();
      else {
        this.hold(lineNo, undefined, at, ` (${this.lineLimitText})`);
        return;
      }
    }
    this.reject(lineNo, this.lineLimitText);
  }

  // --- format detection -------------------------------------------------------------------

  private detect(
    buf: Buffer,
    start: number,
    end: number,
    lineNo: number,
    at: number,
    utf8Valid: boolean,
  ): void {
    if (buf[start] === OPEN_BRACE) {
      (this.becomeJsonl() as LogFormat).line(buf, start, end, lineNo, utf8Valid);
      return;
    }
    if (this.pending.length === 0) {
      const valid = utf8Valid || isUtf8(buf.subarray(start, end));
      const header = valid ? parseCsvHeader(buf.toString('utf8', start, end)) : ' (invalid UTF-8)';
      if (typeof header !== 'string') {
        this.format = new CsvFormat(header, this.limits.maxLineBytes, this, this.matcher);
        return;
      }
      this.hold(lineNo, Buffer.from(buf.subarray(start, end)), at, header);
      return;
    }
    this.hold(lineNo, Buffer.from(buf.subarray(start, end)), at, '');
  }

  /** Keep a line that is neither JSON nor a header while looking ahead for a JSON object line. */
  private hold(lineNo: number, bytes: Buffer | undefined, at: number, problem: string): void {
    if (this.pending.length === 0) {
      this.pendingStart = at;
      this.firstLineProblem = problem;
    } else if (at - this.pendingStart >= FORMAT_LOOKAHEAD_BYTES) {
      throw this.unrecognised();
    }
    this.pending.push({ line: lineNo, bytes });
  }

  private unrecognised(): Quarantine {
    const first = this.pending[0] as PendingLine;
    return new Quarantine(
      `unrecognised format: line ${first.line} is neither a JSON object nor a CSV header with timestamp, app_id, endpoint, status${this.firstLineProblem}, and no JSON object line follows within ${formatBytes(FORMAT_LOOKAHEAD_BYTES)}`,
    );
  }

  private becomeJsonl(): LogFormat {
    const format = new JsonlFormat(this, this.matcher);
    this.format = format;
    for (const p of this.pending) {
      if (p.bytes === undefined) this.reject(p.line, this.lineLimitText);
      else {
        this.curBuf = p.bytes;
        this.curStart = 0;
        this.curEnd = p.bytes.length;
        this.curLine = p.line;
        format.line(p.bytes, 0, p.bytes.length, p.line, false);
      }
    }
    this.pending.length = 0;
    return format;
  }

  // --- results -----------------------------------------------------------------------------

  count(categories: readonly string[] | undefined): void {
    const rec = this.record;
    const cats = categories ?? this.matcher.categoriesFor(rec.clientIp, rec.org);
    const dup = this.duplicates;
    let overflow: string | undefined;
    if (dup === undefined) overflow = this.usage.add(rec, cats);
    else {
      this.curHash = -1;
      if (rec.ridStart >= 0) {
        dup.add(this.curBuf as Buffer, rec.ridStart, rec.ridEnd);
        this.curHash = dup.lastHash;
      } else if (rec.requestId !== undefined) {
        const bytes = Buffer.from(rec.requestId, 'utf8');
        dup.add(bytes, 0, bytes.length);
        this.curHash = dup.lastHash;
      }
      overflow = this.usage.add(rec, cats, this.curLine > 0 ? this : undefined, this.curHash);
    }
    if (overflow !== undefined) throw new Quarantine(overflow);
    this.counted++;
  }

  /** The line being counted as evidence (built once per line, on demand). */
  ref(): LineRef {
    const last = this.lastRef;
    if (last !== undefined && last.line === this.curLine) return last;
    const rec = this.record;
    const buf = this.curBuf as Buffer;
    const ref: LineRef = {
      line: this.curLine,
      request_id: keptRequestId(
        rec.ridStart >= 0 ? buf.toString('utf8', rec.ridStart, rec.ridEnd) : (rec.requestId ?? null),
      ),
      sha256: lineSha256(buf, this.curStart, this.curEnd),
    };
    this.lastRef = ref;
    return ref;
  }

  reject(line: number, reason: string): void {
    let interned = this.reasons.get(reason);
    if (interned === undefined) {
      interned = reason;
      if (this.reasons.size < MAX_INTERNED_REASONS) this.reasons.set(reason, reason);
    }
    if (this.rejects.length < this.spillTo.held) this.rejects.push({ line, reason: interned });
    else {
      this.spill ??= new RejectSpill(this.spillTo.directory);
      this.spill.add(line, interned);
    }
  }

  /** Delete the spill file, if any (the object is quarantined or the read failed). */
  discard(): void {
    this.spill?.discard();
  }

  /** The outcome, once every line has been read. */
  finish(compressed: boolean, lines: number): ReadOutcome {
    const format = this.format;
    if (format === undefined) {
      if (this.pending.length > 0) {
        return { status: 'quarantined', reason: this.unrecognised().message, compressed, lines };
      }
      return {
        status: 'empty',
        format: null,
        compressed,
        lines,
        counted: 0,
        rejected: 0,
        rejects: [],
        usage: [],
      };
    }
    format.finish();
    this.spill?.close();
    const overflow = this.usage.overflow();
    return {
      status: 'ingested',
      format: format.name,
      compressed,
      lines,
      counted: this.counted,
      rejected: this.rejects.length + (this.spill?.count ?? 0),
      rejects: this.rejects,
      ...(this.spill ? { spill: this.spill } : {}),
      usage: this.usage.result(),
      ...(overflow.length > 0 ? { overflow } : {}),
      ...(this.duplicates
        ? {
            evidence: this.usage.evidence(),
            requestIds: this.duplicates.count,
            duplicateRequestIds: this.duplicates.duplicates(),
            ...(this.duplicates.capped ? { duplicateRequestIdsLowerBound: true as const } : {}),
          }
        : {}),
    };
  }
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/**
 * A request_id as a ref keeps it: cut to MAX_REQUEST_ID_CHARS when taken, and then copied so that
 * the cut does not hold the whole id in memory (a slice can share its parent's characters).
 */
function keptRequestId(id: string | null): string | null {
  if (id === null || id.length <= MAX_REQUEST_ID_CHARS) return id;
  return Buffer.from(boundRequestId(id) as string, 'utf8').toString('utf8');
}
