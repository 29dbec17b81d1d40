/**
 * The CSV fast path: one line's bytes in, a valid record out, without a string per line or per
 * field. Like the JSON Lines fast path it accepts a line only when it is sure the general path
 * (CsvRecordParser + validateCsvRecord) would accept it with the same record; anything else (a
 * reject, a quoted field open at the end of the line, a quote inside an unquoted field, …)
 * returns false and the caller takes the general path.
 */
import { isUtf8 } from 'node:buffer';
import type { RecipientMatcher } from '../recipients.ts';
import type { CsvColumns, UsageRecord } from '../record.ts';
import { checkEpochMs, dayOfEpochMs } from '../timestamps.ts';
import { hashBytes, isoBytesToMs } from './bytes.ts';
import { type IpEntry, KnownValues, type OrgEntry } from './values.ts';

const QUOTE = 34;
const COMMA = 44;
const QUOTED = 1;
/** A quoted field holding a doubled quote: its raw bytes are not its value. */
const DOUBLED = 2;

export class CsvFastPath {
  /** Categories of the last record accepted by scan(). */
  categories: readonly string[] = [];
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly flags: Uint8Array;
  private readonly known: KnownValues;

  constructor(
    private readonly cols: CsvColumns,
    private readonly width: number,
    matcher: RecipientMatcher,
  ) {
    this.starts = new Int32Array(width);
    this.ends = new Int32Array(width);
    this.flags = new Uint8Array(width);
    this.known = new KnownValues(matcher, (buf, s, e) => buf.toString('utf8', s, e).replaceAll('""', '"'));
  }

  /**
   * Read the line buf[start, end) into `out` (and `categories`). Returns true when the line is a
   * valid record; false when the general path must decide.
   */
  scan(buf: Buffer, start: number, end: number, utf8Valid: boolean, out: UsageRecord): boolean {
    if (!utf8Valid && !isUtf8(buf.subarray(start, end))) return false;
    if (!this.split(buf, start, end)) return false;
    const cols = this.cols;
    const starts = this.starts;
    const ends = this.ends;
    const flags = this.flags;

    // timestamp
    let col = cols.timestamp;
    if (col < 0) return false;
    let s = starts[col] as number;
    let e = ends[col] as number;
    if (e === s || (flags[col] as number) & DOUBLED) return false;
    let ms: number;
    const digits = uintValue(buf, s, e);
    if (digits >= 0) {
      if (typeof checkEpochMs(digits) === 'string') return false;
      ms = digits;
    } else {
      ms = isoBytesToMs(buf, s, e);
      if (Number.isNaN(ms)) return false;
    }

    // app_id
    col = cols.app_id;
    if (col < 0) return false;
    s = starts[col] as number;
    e = ends[col] as number;
    if (e === s) return false;
    const app = this.known.app(buf, s, e, hashBytes(buf, s, e), ((flags[col] as number) & DOUBLED) !== 0);
    if (app === undefined) return false;

    // endpoint
    col = cols.endpoint;
    if (col < 0) return false;
    s = starts[col] as number;
    e = ends[col] as number;
    if (e === s) return false;
    const endpoint = this.known.endpoint(
      buf,
      s,
      e,
      hashBytes(buf, s, e),
      ((flags[col] as number) & DOUBLED) !== 0,
      false,
    );
    if (endpoint === undefined) return false;

    // status
    col = cols.status;
    if (col < 0) return false;
    s = starts[col] as number;
    e = ends[col] as number;
    const status = e - s === 3 ? uintValue(buf, s, e) : -1;
    if (status < 100 || status > 599) return false;

    const records = this.optionalUint(buf, cols.records);
    const bytes = this.optionalUint(buf, cols.bytes);
    if (records < 0 || bytes < 0) return false;

    // client_ip
    let ip: IpEntry | undefined;
    col = cols.client_ip;
    if (col >= 0 && (ends[col] as number) > (starts[col] as number)) {
      s = starts[col] as number;
      e = ends[col] as number;
      ip = this.known.ip(buf, s, e, hashBytes(buf, s, e), ((flags[col] as number) & DOUBLED) !== 0, false);
      if (ip === undefined) return false;
    }

    // on_behalf_of
    let org: OrgEntry | undefined;
    col = cols.on_behalf_of;
    if (col >= 0 && (ends[col] as number) > (starts[col] as number)) {
      s = starts[col] as number;
      e = ends[col] as number;
      org = this.known.org(buf, s, e, hashBytes(buf, s, e), ((flags[col] as number) & DOUBLED) !== 0, false);
      if (org === undefined) return false;
    }

    out.day = dayOfEpochMs(ms) as number;
    out.app = app;
    out.endpoint = endpoint;
    out.status = status;
    out.records = records;
    out.bytes = bytes;
    out.clientIp = ip?.ip;
    out.org = org?.org;
    // request_id: its raw bytes, unless a doubled quote makes them differ from its value.
    col = cols.request_id;
    out.ridStart = -1;
    out.requestId = undefined;
    if (col >= 0 && (ends[col] as number) > (starts[col] as number)) {
      if ((flags[col] as number) & DOUBLED)
        out.requestId = buf.toString('utf8', starts[col], ends[col]).replaceAll('""', '"');
      else {
        out.ridStart = starts[col] as number;
        out.ridEnd = ends[col] as number;
      }
    }
    this.categories = this.known.categories(ip, org);
    return true;
  }

  /** Field bounds of the line into starts/ends/flags; false unless it has exactly `width` plain fields. */
  private split(buf: Buffer, start: number, end: number): boolean {
    const width = this.width;
    let i = start;
    let k = 0;
    for (;;) {
      if (k >= width) return false;
      if (i < end && buf[i] === QUOTE) {
        let j = i + 1;
        let flag = QUOTED;
        for (;;) {
          while (j < end && buf[j] !== QUOTE) j++;
          if (j >= end) return false; // the field continues on the next line
          if (j + 1 < end && buf[j + 1] === QUOTE) {
            flag = QUOTED | DOUBLED;
            j += 2;
            continue;
          }
          break;
        }
        this.starts[k] = i + 1;
        this.ends[k] = j;
        this.flags[k] = flag;
        k++;
        i = j + 1;
        if (i === end) break;
        if (buf[i] !== COMMA) return false;
        i++;
      } else {
        let j = i;
        while (j < end) {
          const c = buf[j];
          if (c === COMMA) break;
          if (c === QUOTE) return false; // a literal quote: rare, left to the general path
          j++;
        }
        this.starts[k] = i;
        this.ends[k] = j;
        this.flags[k] = 0;
        k++;
        if (j === end) break;
        i = j + 1;
      }
    }
    return k === width;
  }

  /** An optional integer column: 0 when absent or empty, -1 when not plain digits (≤ 15). */
  private optionalUint(buf: Buffer, col: number): number {
    if (col < 0) return 0;
    const s = this.starts[col] as number;
    const e = this.ends[col] as number;
    return e === s ? 0 : uintValue(buf, s, e);
  }
}

/** The value of 1–15 ASCII digits buf[s, e), else -1. */
function uintValue(buf: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
