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
 */
import { isUtf8 } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UsageAggregator } from './aggregate.ts';
import { CsvRecordParser } from './csv.ts';
import { readJsonGeneral } from './reader/jsonl.ts';
import { JsonlFastPath } from './reader/jsonl-fast.ts';
import { EMPTY_MATCHER, type RecipientMatcher } from './recipients.ts';
import {
  type CsvColumns,
  FIELDS,
  newRecord,
  REQUIRED_FIELDS,
  type UsageRecord,
  validateCsvRecord,
} from './record.ts';
import type { DayUsage, Reject } from './types.ts';

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
  const compressed = headLength >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b;
  const reader = new LineReader(limits, options.matcher ?? EMPTY_MATCHER);

  try {
    if (!compressed) {
      for (const chunk of head) reader.push(chunk);
      if (!ended) {
        for (let chunk = await next(); chunk !== undefined; chunk = await next()) reader.push(chunk);
      }
    } else {
      await gunzipInto(head, ended ? async () => undefined : next, limits, reader);
    }
    return reader.finish(compressed);
  } catch (error) {
    if (error instanceof SourceError) throw error.cause;
    if (error instanceof Quarantine) {
      await closeQuietly(iterator);
      return { status: 'quarantined', reason: error.message, compressed, lines: reader.lineCount };
    }
    if (compressed && isZlibError(error)) {
      await closeQuietly(iterator);
      const reason =
        error.code === 'Z_BUF_ERROR' ? `truncated gzip: ${error.message}` : `corrupt gzip: ${error.message}`;
      return { status: 'quarantined', reason, compressed, lines: reader.lineCount };
    }
    throw error;
  }
}

async function gunzipInto(
  head: Buffer[],
  next: () => Promise<Buffer | undefined>,
  limits: ReaderLimits,
  reader: LineReader,
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
  await pipeline(input(), createGunzip({ chunkSize: 64 * 1024 }), async (output: AsyncIterable<Buffer>) => {
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
      reader.push(chunk);
    }
  });
}

class Quarantine extends Error {}

class SourceError extends Error {
  constructor(override readonly cause: unknown) {
    super('log source failed');
  }
}

function isZlibError(error: unknown): error is Error & { code: string } {
  const code: unknown = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
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

/** Reading mode: the format, once known. */
const Mode = { Detect: 0, Jsonl: 1, Csv: 2 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** A line held while the format is not yet known. */
interface PendingLine {
  line: number;
  /** A copy of the line's bytes; undefined for an over-long line. */
  bytes: Buffer | undefined;
}

const NL = 10;
const CR = 13;
const OPEN_BRACE = 123;
const MAX_INTERNED_REASONS = 10_000;
/** Bytes a line may have beyond maxLineBytes that do not count: a BOM (3) and a CR before the LF. */
const LINE_SLACK = 4;

/** Splits decompressed bytes into lines and turns them into usage and rejects. */
class LineReader {
  /** Physical lines seen so far. */
  lineCount = 0;
  private readonly maxLine: number;
  private readonly lineLimitText: string;
  /** Content bytes consumed (offset of the next chunk's first byte). */
  private offset = 0;
  // A line continuing past the current chunk:
  private carry: Buffer[] = [];
  private carryLength = 0;
  private carryStart = 0;
  /** Inside a line already known to be over-long: skipping to its end. */
  private skipping = false;
  /** The first bytes of the over-long line being skipped (for format detection). */
  private skippedPrefix: Buffer = Buffer.alloc(0);

  private mode: Mode = Mode.Detect;
  private readonly pending: PendingLine[] = [];
  private pendingStart = 0;
  private firstLineProblem = '';

  private csvColumns: CsvColumns | undefined;
  private csvWidth = 0;
  private readonly csv = new CsvRecordParser();
  private csvRecordLine = 0;
  private csvRecordBytes = 0;
  private csvRecordBadUtf8 = false;

  private readonly record: UsageRecord = newRecord();
  private jsonlFast: JsonlFastPath | undefined;
  private readonly usage = new UsageAggregator();
  private counted = 0;
  private readonly rejects: Reject[] = [];
  private readonly reasons = new Map<string, string>();

  constructor(
    limits: ReaderLimits,
    private readonly matcher: RecipientMatcher,
  ) {
    this.maxLine = limits.maxLineBytes;
    this.lineLimitText = `line exceeds ${formatBytes(limits.maxLineBytes)}`;
  }

  /** Feed the next chunk of decompressed content. Throws Quarantine. */
  push(chunk: Buffer): void {
    const nul = chunk.indexOf(0);
    if (nul === -1) {
      this.scan(chunk);
      return;
    }
    // Lines before the NUL are read (so `lines` does not depend on chunking), then stop.
    this.scan(chunk.subarray(0, nul));
    throw new Quarantine(`binary content: NUL byte at offset ${this.offset}`);
  }

  private scan(chunk: Buffer): void {
    const n = chunk.length;
    const base = this.offset;
    this.offset += n;
    let pos = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) return;
      this.skipping = false;
      this.overlong(this.carryStart, this.skippedPrefix);
      pos = nl + 1;
    } else if (this.carryLength > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.extendCarry(chunk);
        return;
      }
      const total = this.carryLength + nl;
      if (total > this.maxLine + LINE_SLACK) {
        this.overlong(this.carryStart, this.prefixOfCarry());
      } else {
        this.carry.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.carry, total);
        this.line(line, 0, total, this.carryStart, false);
      }
      this.carry = [];
      this.carryLength = 0;
      pos = nl + 1;
    }
    if (pos >= n) return;
    // Lines wholly inside this chunk: one UTF-8 check for all of them, then split.
    const last = chunk.lastIndexOf(NL);
    if (last >= pos) {
      const valid = isUtf8(chunk.subarray(pos, last));
      let nl = chunk.indexOf(NL, pos);
      while (nl !== -1) {
        this.line(chunk, pos, nl, base + pos, valid);
        pos = nl + 1;
        nl = pos < n ? chunk.indexOf(NL, pos) : -1;
      }
    }
    if (pos < n) {
      this.carryStart = base + pos;
      this.extendCarry(chunk.subarray(pos));
    }
  }

  private extendCarry(part: Buffer): void {
    if (this.carryLength + part.length > this.maxLine + LINE_SLACK) {
      // Over-long whatever follows: skip to its end without holding it.
      const prefix = this.carryLength > 0 ? this.prefixOfCarry() : part.subarray(0, 16);
      this.skippedPrefix = Buffer.from(prefix);
      this.skipping = true;
      this.carry = [];
      this.carryLength = 0;
      return;
    }
    this.carry.push(part);
    this.carryLength += part.length;
  }

  private prefixOfCarry(): Buffer {
    const first = this.carry[0] as Buffer;
    return first.length >= 16 || this.carry.length === 1
      ? first.subarray(0, 16)
      : Buffer.concat(this.carry).subarray(0, 16);
  }

  /** One complete physical line [start, end) of buf (without the LF), starting at content offset `at`. */
  private line(buf: Buffer, start: number, end: number, at: number, utf8Valid: boolean): void {
    const lineNo = ++this.lineCount;
    if (end > start && buf[end - 1] === CR) end--;
    if (
      at === 0 &&
      end - start >= 3 &&
      buf[start] === 0xef &&
      buf[start + 1] === 0xbb &&
      buf[start + 2] === 0xbf
    ) {
      start += 3;
    }
    if (end - start > this.maxLine) {
      this.overlongLine(lineNo, buf.subarray(start, start + 16), at);
      return;
    }
    if (this.mode === Mode.Csv && this.csv.open) {
      this.csvContinue(buf, start, end, lineNo, utf8Valid);
      return;
    }
    if (start === end) return;
    const first = buf[start] as number;
    if ((first === 32 || first === 9) && isBlank(buf, start, end)) return;
    if (this.mode === Mode.Jsonl) this.jsonLine(buf, start, end, lineNo, utf8Valid);
    else if (this.mode === Mode.Csv) this.csvLine(buf, start, end, lineNo, utf8Valid);
    else this.detect(buf, start, end, lineNo, at, utf8Valid);
  }

  /** An over-long line whose end has just been found (it started at content offset `at`). */
  private overlong(at: number, prefix: Buffer): void {
    const lineNo = ++this.lineCount;
    let p = prefix;
    if (at === 0 && p.length >= 3 && p[0] === 0xef && p[1] === 0xbb && p[2] === 0xbf) p = p.subarray(3);
    this.overlongLine(lineNo, p, at);
  }

  private overlongLine(lineNo: number, prefix: Buffer, at: number): void {
    if (this.mode === Mode.Csv && this.csv.open) {
      this.reject(
        this.csvRecordLine,
        `CSV record exceeds ${formatBytes(this.maxLine)} (unterminated quoted field?)`,
      );
      this.csv.reset();
      return;
    }
    if (this.mode === Mode.Detect) {
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
      this.becomeJsonl();
      this.jsonLine(buf, start, end, lineNo, utf8Valid);
      return;
    }
    if (this.pending.length === 0) {
      const valid = utf8Valid || isUtf8(buf.subarray(start, end));
      const problem = valid ? this.tryCsvHeader(buf.toString('utf8', start, end)) : ' (invalid UTF-8)';
      if (problem === undefined) return;
      this.hold(lineNo, Buffer.from(buf.subarray(start, end)), at, problem);
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

  private becomeJsonl(): void {
    this.mode = Mode.Jsonl;
    this.jsonlFast = new JsonlFastPath(this.matcher);
    for (const p of this.pending) {
      if (p.bytes === undefined) this.reject(p.line, this.lineLimitText);
      else this.jsonLine(p.bytes, 0, p.bytes.length, p.line, false);
    }
    this.pending.length = 0;
  }

  /** Switch to CSV if `text` is a header; else say why not. Throws Quarantine on a duplicate column. */
  private tryCsvHeader(text: string): string | undefined {
    const parser = new CsvRecordParser();
    if (!parser.feed(text) || parser.error) return '';
    const names = parser.fields.map((f) => f.trim().toLowerCase());
    const missing = REQUIRED_FIELDS.filter((f) => !names.includes(f));
    if (missing.length === REQUIRED_FIELDS.length) return '';
    if (missing.length > 0) return ` (a CSV header without ${missing.join(', ')})`;
    const seen = new Set<string>();
    for (const name of names) {
      if (name === '') continue;
      if (seen.has(name)) throw new Quarantine(`CSV header: duplicate column ${JSON.stringify(name)}`);
      seen.add(name);
    }
    const columns = {} as CsvColumns;
    for (const field of FIELDS) columns[field] = names.indexOf(field);
    this.csvColumns = columns;
    this.csvWidth = names.length;
    this.mode = Mode.Csv;
    return undefined;
  }

  // --- JSON Lines --------------------------------------------------------------------------

  private jsonLine(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void {
    const fast = this.jsonlFast;
    if (fast !== undefined && fast.scan(buf, start, end, utf8Valid, this.record)) {
      this.countWith(fast.categories);
      return;
    }
    const reason = readJsonGeneral(buf, start, end, utf8Valid, this.record);
    if (reason !== undefined) this.reject(lineNo, reason);
    else this.count();
  }

  // --- CSV ---------------------------------------------------------------------------------

  private csvLine(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void {
    const valid = utf8Valid || isUtf8(buf.subarray(start, end));
    const text = buf.toString('utf8', start, end);
    this.csvRecordLine = lineNo;
    this.csvRecordBytes = end - start;
    this.csvRecordBadUtf8 = !valid;
    if (this.csv.feed(text)) this.csvRecord();
  }

  private csvContinue(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void {
    this.csvRecordBytes += end - start + 1;
    if (this.csvRecordBytes > this.maxLine) {
      this.overlongLine(lineNo, buf.subarray(start, start + 16), -1);
      return;
    }
    if (!utf8Valid && !isUtf8(buf.subarray(start, end))) this.csvRecordBadUtf8 = true;
    if (this.csv.feed(buf.toString('utf8', start, end))) this.csvRecord();
  }

  private csvRecord(): void {
    const lineNo = this.csvRecordLine;
    if (this.csvRecordBadUtf8) {
      this.reject(lineNo, 'invalid UTF-8');
      return;
    }
    if (this.csv.error !== undefined) {
      this.reject(lineNo, this.csv.error);
      return;
    }
    const fields = this.csv.fields;
    if (fields.length !== this.csvWidth) {
      this.reject(lineNo, `expected ${this.csvWidth} fields, got ${fields.length}`);
      return;
    }
    const reason = validateCsvRecord(fields, this.csvColumns as CsvColumns, this.record);
    if (reason !== undefined) this.reject(lineNo, reason);
    else this.count();
  }

  // --- results -----------------------------------------------------------------------------

  private count(): void {
    const rec = this.record;
    this.countWith(this.matcher.categoriesFor(rec.clientIp, rec.org));
  }

  private countWith(categories: readonly string[]): void {
    const overflow = this.usage.add(this.record, categories);
    if (overflow !== undefined) throw new Quarantine(overflow);
    this.counted++;
  }

  private reject(line: number, reason: string): void {
    let interned = this.reasons.get(reason);
    if (interned === undefined) {
      interned = reason;
      if (this.reasons.size < MAX_INTERNED_REASONS) this.reasons.set(reason, reason);
    }
    this.rejects.push({ line, reason: interned });
  }

  /** The end of the content: the last line (without a line break), then the outcome. */
  finish(compressed: boolean): ReadOutcome {
    if (this.skipping) {
      this.skipping = false;
      this.overlong(this.carryStart, this.skippedPrefix);
    } else if (this.carryLength > 0) {
      const line =
        this.carry.length === 1 ? (this.carry[0] as Buffer) : Buffer.concat(this.carry, this.carryLength);
      this.carry = [];
      this.carryLength = 0;
      this.line(line, 0, line.length, this.carryStart, false);
    }
    if (this.mode === Mode.Detect) {
      if (this.pending.length > 0) {
        return {
          status: 'quarantined',
          reason: this.unrecognised().message,
          compressed,
          lines: this.lineCount,
        };
      }
      return {
        status: 'empty',
        format: null,
        compressed,
        lines: this.lineCount,
        counted: 0,
        rejected: 0,
        rejects: [],
        usage: [],
      };
    }
    if (this.mode === Mode.Csv && this.csv.open) {
      this.reject(this.csvRecordLine, 'malformed CSV: unterminated quoted field');
      this.csv.reset();
    }
    return {
      status: 'ingested',
      format: this.mode === Mode.Jsonl ? 'jsonl' : 'csv',
      compressed,
      lines: this.lineCount,
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
