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
 * number of physical lines read (blank ones included). Pure: no AWS, no file system.
 *
 * The parts, under reader/: decompress.ts (gzip), lines.ts (line splitting and the line limit),
 * jsonl.ts and csv-format.ts (one format each, behind format.ts's LogFormat), each format with a
 * fast path (jsonl-fast.ts, csv-fast.ts) over bytes that falls back to the general path for any
 * line it is not sure of. This file detects the format and gathers usage and rejects.
 */
import { isUtf8 } from 'node:buffer';
import { UsageAggregator } from './aggregate.ts';
import { CsvFormat, parseCsvHeader } from './reader/csv-format.ts';
import { gunzipInto, gzipErrorReason, isGzip } from './reader/decompress.ts';
import type { LogFormat, RecordSink } from './reader/format.ts';
import { JsonlFormat } from './reader/jsonl.ts';
import { DEFAULT_LIMITS, formatBytes, Quarantine, type ReaderLimits } from './reader/limits.ts';
import { type LineSink, LineSplitter } from './reader/lines.ts';
import { EMPTY_MATCHER, type RecipientMatcher } from './recipients.ts';
import { newRecord, type UsageRecord } from './record.ts';
import type { DayUsage, Reject } from './types.ts';

export { DEFAULT_LIMITS, formatBytes, type ReaderLimits };

export interface ReadOptions {
  matcher?: RecipientMatcher;
  limits?: Partial<ReaderLimits>;
}

export type ReadOutcome =
  | {
      status: 'ingested' | 'empty';
      format: 'jsonl' | 'csv' | null;
      compressed: boolean;
      lines: number;
      counted: number;
      rejected: number;
      rejects: Reject[];
      usage: DayUsage[];
    }
  | { status: 'quarantined'; reason: string; compressed: boolean; lines: number };

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
  const iterator = source[Symbol.asyncIterator]();
  const next = async (): Promise<Buffer | undefined> => {
    let r: IteratorResult<Uint8Array>;
    try {
      r = await iterator.next();
    } catch (error) {
      throw new SourceError(error);
    }
    return r.done ? undefined : asBuffer(r.value);
  };

  // Peek at the first two bytes: gzip magic 1f 8b?
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 2) {
    const chunk = await next();
    if (chunk === undefined) {
      ended = true;
      break;
    }
    if (chunk.length === 0) continue;
    head.push(chunk);
    headLength += chunk.length;
  }
  const firstBytes = head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head);
  const compressed = isGzip(firstBytes);
  const reader = new LineReader(limits, options.matcher ?? EMPTY_MATCHER);
  const lines = new LineSplitter(limits.maxLineBytes, reader);
  const push = (chunk: Buffer): void => lines.push(chunk);

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
class LineReader implements LineSink, RecordSink {
  readonly record: UsageRecord = newRecord();
  private readonly lineLimitText: string;
  private format: LogFormat | undefined;
  private readonly pending: PendingLine[] = [];
  private pendingStart = 0;
  private firstLineProblem = '';

  private readonly usage = new UsageAggregator();
  private counted = 0;
  private readonly rejects: Reject[] = [];
  private readonly reasons = new Map<string, string>();

  constructor(
    private readonly limits: ReaderLimits,
    private readonly matcher: RecipientMatcher,
  ) {
    this.lineLimitText = `line exceeds ${formatBytes(limits.maxLineBytes)}`;
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, at: number, utf8Valid: boolean): void {
    const format = this.format;
    if (format?.open) {
      format.line(buf, start, end, lineNo, utf8Valid);
      return;
    }
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
      else format.line(p.bytes, 0, p.bytes.length, p.line, false);
    }
    this.pending.length = 0;
    return format;
  }

  // --- results -----------------------------------------------------------------------------

  count(categories: readonly string[] | undefined): void {
    const rec = this.record;
    const overflow = this.usage.add(rec, categories ?? this.matcher.categoriesFor(rec.clientIp, rec.org));
    if (overflow !== undefined) throw new Quarantine(overflow);
    this.counted++;
  }

  reject(line: number, reason: string): void {
    let interned = this.reasons.get(reason);
    if (interned === undefined) {
      interned = reason;
      if (this.reasons.size < MAX_INTERNED_REASONS) this.reasons.set(reason, reason);
    }
    this.rejects.push({ line, reason: interned });
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
    return {
      status: 'ingested',
      format: format.name,
      compressed,
      lines,
      counted: this.counted,
      rejected: this.rejects.length,
      rejects: this.rejects,
      usage: this.usage.result(),
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
