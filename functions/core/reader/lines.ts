/**
 * Line splitting: decompressed bytes in, physical lines out (LF or CRLF, a UTF-8 BOM at the start
 * of the content dropped). A line longer than the limit is never held: it is skipped as it
 * streams and reported with its first bytes. A NUL byte quarantines the object (binary content).
 * Lines wholly inside a chunk are checked for UTF-8 once per chunk; a line assembled across
 * chunks is reported as unchecked (utf8Valid false).
 */
import { isUtf8 } from 'node:buffer';
import { Quarantine } from './limits.ts';

export interface LineSink {
  /** Line `lineNo`: buf[start, end), without its line break, CR and BOM; at most the limit. */
  line(buf: Buffer, start: number, end: number, lineNo: number, at: number, utf8Valid: boolean): void;
  /** Line `lineNo` (starting at content offset `at`, -1 if unknown) is over the limit. */
  overlong(lineNo: number, prefix: Buffer, at: number): void;
}

const NL = 10;
const CR = 13;
/** Bytes a line may have beyond the limit that do not count: a BOM (3) and a CR before the LF. */
const LINE_SLACK = 4;

export class LineSplitter {
  /** Physical lines seen so far. */
  lineCount = 0;
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

  constructor(
    private readonly maxLine: number,
    private readonly sink: LineSink,
  ) {}

  /** Feed the next chunk of decompressed content. Throws Quarantine on a NUL byte. */
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

  /** The end of the content: the last line, without a line break. */
  finish(): void {
    if (this.skipping) {
      this.skipping = false;
      this.skipped(this.carryStart, this.skippedPrefix);
    } else if (this.carryLength > 0) {
      const line =
        this.carry.length === 1 ? (this.carry[0] as Buffer) : Buffer.concat(this.carry, this.carryLength);
      this.carry = [];
      this.carryLength = 0;
      this.emit(line, 0, line.length, this.carryStart, false);
    }
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
      this.skipped(this.carryStart, this.skippedPrefix);
      pos = nl + 1;
    } else if (this.carryLength > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        this.extendCarry(chunk);
        return;
      }
      const total = this.carryLength + nl;
      if (total > this.maxLine + LINE_SLACK) {
        this.skipped(this.carryStart, this.prefixOfCarry());
      } else {
        this.carry.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.carry, total);
        this.emit(line, 0, total, this.carryStart, false);
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
        this.emit(chunk, pos, nl, base + pos, valid);
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
  private emit(buf: Buffer, start: number, end: number, at: number, utf8Valid: boolean): void {
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
    if (end - start > this.maxLine) this.sink.overlong(lineNo, buf.subarray(start, start + 16), at);
    else this.sink.line(buf, start, end, lineNo, at, utf8Valid);
  }

  /** An over-long line whose end has just been found (it started at content offset `at`). */
  private skipped(at: number, prefix: Buffer): void {
    const lineNo = ++this.lineCount;
    let p = prefix;
    if (at === 0 && p.length >= 3 && p[0] === 0xef && p[1] === 0xbb && p[2] === 0xbf) p = p.subarray(3);
    this.sink.overlong(lineNo, p, at);
  }
}
