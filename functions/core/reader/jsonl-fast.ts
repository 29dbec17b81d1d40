/**
 * The JSON Lines fast path: one line's bytes in, a valid record out, without JSON.parse and
 * without a string per line. Strings are made only for values new to this object (app ids,
 * endpoints, addresses, organisations), found by their bytes in a ByteTable.
 *
 * It accepts a line only when it is sure the general path (JSON.parse + validateJsonRecord) would
 * accept it with the same record; anything else (a reject, escapes in keys or timestamps, numbers
 * such as 1e3, 1.0 or -0, duplicate known keys, deep nesting, …) returns false and the caller
 * takes the general path, which alone names reject reasons. Keys may come in any order.
 */
import { isUtf8 } from 'node:buffer';
import type { RecipientMatcher } from '../recipients.ts';
import type { UsageRecord } from '../record.ts';
import { checkEpochMs, dayOfEpochMs } from '../timestamps.ts';
import { hashBytes, isoBytesToMs } from './bytes.ts';
import { type IpEntry, KnownValues, type OrgEntry } from './values.ts';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const MAX_DEPTH = 32;

// Known keys, by bit.
const TIMESTAMP = 0;
const APP_ID = 1;
const ENDPOINT = 2;
const STATUS = 3;
const RECORDS = 4;
const BYTES = 5;
const CLIENT_IP = 6;
const ON_BEHALF_OF = 7;
const REQUEST_ID = 8;
const UNKNOWN = -1;
const REQUIRED = (1 << TIMESTAMP) | (1 << APP_ID) | (1 << ENDPOINT) | (1 << STATUS);

const KEYS = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
].map((k) => Buffer.from(k, 'latin1'));

/** Which known key buf[s, e) is (the raw bytes of a key without escapes), or UNKNOWN. */
function keyId(buf: Uint8Array, s: number, e: number): number {
  let id: number;
  switch (e - s) {
    case 5:
      id = BYTES;
      break;
    case 6:
      id = buf[s] === 97 ? APP_ID : STATUS;
      break;
    case 7:
      id = RECORDS;
      break;
    case 8:
      id = ENDPOINT;
      break;
    case 9:
      id = buf[s] === 116 ? TIMESTAMP : CLIENT_IP;
      break;
    case 10:
      id = REQUEST_ID;
      break;
    case 12:
      id = ON_BEHALF_OF;
      break;
    default:
      return UNKNOWN;
  }
  const key = KEYS[id] as Buffer;
  for (let i = 0; i < key.length; i++) if (buf[s + i] !== key[i]) return UNKNOWN;
  return id;
}

/** The known key whose bytes and closing quote stand at buf[s], or UNKNOWN. */
function expectedKey(buf: Uint8Array, s: number, end: number): number {
  let id: number;
  switch (buf[s]) {
    case 116:
      id = TIMESTAMP;
      break;
    case 97:
      id = APP_ID;
      break;
    case 101:
      id = ENDPOINT;
      break;
    case 115:
      id = STATUS;
      break;
    case 114:
      id = buf[s + 2] === 99 ? RECORDS : REQUEST_ID;
      break;
    case 98:
      id = BYTES;
      break;
    case 99:
      id = CLIENT_IP;
      break;
    case 111:
      id = ON_BEHALF_OF;
      break;
    default:
      return UNKNOWN;
  }
  const key = KEYS[id] as Buffer;
  const n = key.length;
  if (s + n >= end || buf[s + n] !== QUOTE) return UNKNOWN;
  for (let k = 1; k < n; k++) if (buf[s + k] !== key[k]) return UNKNOWN;
  return id;
}

const isWs = (c: number | undefined): boolean => c === 32 || c === 9 || c === 13;
const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

export class JsonlFastPath {
  /** Categories of the last record accepted by scan(). */
  categories: readonly string[] = [];
  private readonly known: KnownValues;
  // Results of the last string scanned by stringEnd().
  private escaped = false;
  private ascii = true;

  constructor(matcher: RecipientMatcher) {
    this.known = new KnownValues(matcher, decodeJsonString);
  }

  /**
   * Read the line buf[start, end) into `out` (and `categories`). Returns true when the line is a
   * valid record; false when the general path must decide (the line may still be valid).
   */
  scan(buf: Buffer, start: number, end: number, utf8Valid: boolean, out: UsageRecord): boolean {
    if (!utf8Valid && !isUtf8(buf.subarray(start, end))) return false;
    let i = start;
    while (isWs(buf[i]) && i < end) i++;
    if (i >= end || buf[i] !== OPEN_BRACE) return false;
    i++;
    while (isWs(buf[i]) && i < end) i++;
    let seen = 0;
    let ms = Number.NaN;
    let app = '';
    let endpoint = '';
    let status = 0;
    let records = 0;
    let bytes = 0;
    let ip: IpEntry | undefined;
    let org: OrgEntry | undefined;
    if (buf[i] === CLOSE_BRACE) return false; // {} lacks the required fields
    for (;;) {
      if (i >= end || buf[i] !== QUOTE) return false;
      const ks = i + 1;
      let id = expectedKey(buf, ks, end);
      let ke: number;
      if (id !== UNKNOWN) ke = ks + (KEYS[id] as Buffer).length;
      else {
        ke = this.stringEnd(buf, ks, end);
        if (ke < 0 || this.escaped) return false;
        id = keyId(buf, ks, ke);
      }
      i = ke + 1;
      while (isWs(buf[i]) && i < end) i++;
      if (i >= end || buf[i] !== COLON) return false;
      i++;
      while (isWs(buf[i]) && i < end) i++;
      if (i >= end) return false;
      if (id !== UNKNOWN) {
        if ((seen & (1 << id)) !== 0) return false; // a duplicate: JSON.parse keeps the last
        seen |= 1 << id;
      }
      const c = buf[i] as number;
      switch (id) {
        case TIMESTAMP: {
          if (c === QUOTE) {
            const e = this.stringEnd(buf, i + 1, end);
            if (e < 0 || this.escaped) return false;
            ms = isoBytesToMs(buf, i + 1, e);
            if (Number.isNaN(ms)) return false;
            i = e + 1;
          } else {
            const e = this.integerEnd(buf, i, end);
            if (e < 0) return false;
            const v = c === 45 ? -this.intValue : this.intValue;
            if (typeof checkEpochMs(v) === 'string') return false;
            ms = v;
            i = e;
          }
          break;
        }
        case APP_ID: {
          if (c !== QUOTE) return false;
          const e = this.hashedStringEnd(buf, i + 1, end);
          if (e < 0) return false;
          const v = this.known.app(buf, i + 1, e, this.hash, this.escaped);
          if (v === undefined) return false;
          app = v;
          i = e + 1;
          break;
        }
        case ENDPOINT: {
          if (c !== QUOTE) return false;
          const e = this.hashedStringEnd(buf, i + 1, end);
          if (e < 0) return false;
          const v = this.known.endpoint(buf, i + 1, e, this.hash, this.escaped, this.ascii);
          if (v === undefined) return false;
          endpoint = v;
          i = e + 1;
          break;
        }
        case STATUS: {
          const e = this.integerEnd(buf, i, end);
          if (e < 0 || c === 45 || this.intValue < 100 || this.intValue > 599) return false;
          status = this.intValue;
          i = e;
          break;
        }
        case RECORDS:
        case BYTES: {
          let v = 0;
          if (c === 110) {
            if (!isNull(buf, i, end)) return false;
            i += 4;
          } else {
            const e = this.integerEnd(buf, i, end);
            if (e < 0 || c === 45) return false;
            v = this.intValue;
            i = e;
          }
          if (id === RECORDS) records = v;
          else bytes = v;
          break;
        }
        case CLIENT_IP: {
          ip = undefined;
          if (c === 110) {
            if (!isNull(buf, i, end)) return false;
            i += 4;
            break;
          }
          if (c !== QUOTE) return false;
          const e = this.hashedStringEnd(buf, i + 1, end);
          if (e < 0) return false;
          if (e > i + 1) {
            ip = this.known.ip(buf, i + 1, e, this.hash, this.escaped, this.ascii);
            if (ip === undefined) return false;
          }
          i = e + 1;
          break;
        }
        case ON_BEHALF_OF: {
          org = undefined;
          if (c === 110) {
            if (!isNull(buf, i, end)) return false;
            i += 4;
            break;
          }
          if (c !== QUOTE) return false;
          const e = this.hashedStringEnd(buf, i + 1, end);
          if (e < 0) return false;
          if (e > i + 1) {
            org = this.known.org(buf, i + 1, e, this.hash, this.escaped, this.ascii);
            if (org === undefined) return false;
          }
          i = e + 1;
          break;
        }
        case REQUEST_ID: {
          if (c === 110) {
            if (!isNull(buf, i, end)) return false;
            i += 4;
          } else {
            if (c !== QUOTE) return false;
            const e = this.stringEnd(buf, i + 1, end);
            if (e < 0) return false;
            i = e + 1;
          }
          break;
        }
        default: {
          i = this.valueEnd(buf, i, end, 0);
          if (i < 0) return false;
        }
      }
      while (isWs(buf[i]) && i < end) i++;
      if (i >= end) return false;
      const d = buf[i];
      i++;
      if (d === CLOSE_BRACE) break;
      if (d !== COMMA) return false;
      while (isWs(buf[i]) && i < end) i++;
    }
    while (i < end && isWs(buf[i])) i++;
    if (i !== end || (seen & REQUIRED) !== REQUIRED) return false;

    out.day = dayOfEpochMs(ms) as number;
    out.app = app;
    out.endpoint = endpoint;
    out.status = status;
    out.records = records;
    out.bytes = bytes;
    out.clientIp = ip?.ip;
    out.org = org?.org;
    this.categories = this.known.categories(ip, org);
    return true;
  }

  /**
   * The index of the closing quote of a JSON string whose content starts at s, or -1 when the
   * string is not valid JSON or does not end before `end`. Sets `escaped` and `ascii`.
   */
  private stringEnd(buf: Uint8Array, s: number, end: number): number {
    let escaped = false;
    let ascii = true;
    for (let i = s; i < end; i++) {
      const c = buf[i] as number;
      if (c === QUOTE) {
        this.escaped = escaped;
        this.ascii = ascii;
        return i;
      }
      if (c < 32) return -1;
      if (c >= 128) ascii = false;
      else if (c === BACKSLASH) {
        escaped = true;
        const x = buf[++i];
        if (x === 117) {
          if (i + 4 >= end) return -1;
          for (let k = 1; k <= 4; k++) if (!isHex(buf[i + k] as number)) return -1;
          i += 4;
        } else if (
          x !== QUOTE &&
          x !== BACKSLASH &&
          x !== 47 &&
          x !== 98 &&
          x !== 102 &&
          x !== 110 &&
          x !== 114 &&
          x !== 116
        ) {
          return -1;
        }
      }
    }
    return -1;
  }

  /** stringEnd(), also setting `hash` to hashBytes() of the string's raw bytes. */
  private hashedStringEnd(buf: Uint8Array, s: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < end; i++) {
      const c = buf[i] as number;
      if (c === QUOTE) {
        this.hash = h;
        this.escaped = false;
        this.ascii = true;
        return i;
      }
      if (c < 32 || c >= 128 || c === BACKSLASH) {
        // The rare case: rescan in full.
        const e = this.stringEnd(buf, s, end);
        if (e >= 0) this.hash = hashBytes(buf, s, e);
        return e;
      }
      h = Math.imul(h ^ c, 16_777_619);
    }
    return -1;
  }

  private hash = 0;

  /** Value of the last integer read by integerEnd() (without its sign). */
  private intValue = 0;

  /**
   * The end of a JSON integer of at most 15 digits at buf[i] (optionally negative, not -0), when
   * a delimiter follows it; -1 for anything else (fractions, exponents, leading zeros, …).
   */
  private integerEnd(buf: Uint8Array, i: number, end: number): number {
    let neg = false;
    if (buf[i] === 45) {
      neg = true;
      i++;
    }
    const from = i;
    let v = 0;
    while (i < end) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    const count = i - from;
    if (count === 0 || count > 15 || (count > 1 && buf[from] === 48) || (neg && v === 0)) return -1;
    if (i < end) {
      const c = buf[i];
      if (c !== COMMA && c !== CLOSE_BRACE && !isWs(c)) return -1;
    }
    this.intValue = v;
    return i;
  }

  /** The end of any valid JSON value at buf[i] (an ignored field), or -1. */
  private valueEnd(buf: Uint8Array, i: number, end: number, depth: number): number {
    if (i >= end) return -1;
    const c = buf[i];
    if (c === QUOTE) {
      const e = this.stringEnd(buf, i + 1, end);
      return e < 0 ? -1 : e + 1;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth >= MAX_DEPTH) return -1;
      const object = c === OPEN_BRACE;
      const close = object ? CLOSE_BRACE : CLOSE_BRACKET;
      i++;
      while (i < end && isWs(buf[i])) i++;
      if (i < end && buf[i] === close) return i + 1;
      for (;;) {
        if (object) {
          if (i >= end || buf[i] !== QUOTE) return -1;
          const e = this.stringEnd(buf, i + 1, end);
          if (e < 0) return -1;
          i = e + 1;
          while (i < end && isWs(buf[i])) i++;
          if (i >= end || buf[i] !== COLON) return -1;
          i++;
          while (i < end && isWs(buf[i])) i++;
        }
        i = this.valueEnd(buf, i, end, depth + 1);
        if (i < 0) return -1;
        while (i < end && isWs(buf[i])) i++;
        if (i >= end) return -1;
        const d = buf[i++];
        if (d === close) return i;
        if (d !== COMMA) return -1;
        while (i < end && isWs(buf[i])) i++;
      }
    }
    if (c === 116) return matches(buf, i, end, TRUE) ? i + 4 : -1;
    if (c === 102) return matches(buf, i, end, FALSE) ? i + 5 : -1;
    if (c === 110) return isNull(buf, i, end) ? i + 4 : -1;
    return numberEnd(buf, i, end);
  }
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function matches(buf: Uint8Array, i: number, end: number, word: Uint8Array): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (buf[i + k] !== word[k]) return false;
  return true;
}

const isNull = (buf: Uint8Array, i: number, end: number): boolean => matches(buf, i, end, NULL);

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 48 && c <= 57;

/** The end of a JSON number at buf[i] (full RFC 8259 grammar), or -1. */
function numberEnd(buf: Uint8Array, i: number, end: number): number {
  if (buf[i] === 45) i++;
  if (i >= end || !isDigit(buf[i])) return -1;
  if (buf[i] === 48) i++;
  else while (i < end && isDigit(buf[i])) i++;
  if (i < end && buf[i] === 46) {
    i++;
    if (i >= end || !isDigit(buf[i])) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    if (i < end && (buf[i] === 43 || buf[i] === 45)) i++;
    if (i >= end || !isDigit(buf[i])) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  return i;
}

/** The string of JSON string content with escapes (buf[s, e), between its quotes). */
function decodeJsonString(buf: Buffer, s: number, e: number): string | undefined {
  try {
    return JSON.parse(buf.toString('utf8', s - 1, e + 1)) as string;
  } catch {
    return undefined;
  }
}
