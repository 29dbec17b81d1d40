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
import { MAX_DAY, MIN_DAY, MS_PER_DAY } from '../timestamps.ts';
import { isoParsed, isoTimestampEnd } from './bytes.ts';
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

/** Bytes of each known key, by id. */
const KEY_LENGTHS = Int8Array.from(KEYS, (k) => k.length);

/**
 * The known key whose bytes and closing quote stand at buf[s], or UNKNOWN. (Unrolled: one byte
 * compare per key byte, the hottest comparison of the scanner.)
 */
function expectedKey(buf: Uint8Array, s: number, end: number): number {
  switch (buf[s]) {
    case 116: // timestamp"
      return s + 9 < end &&
        buf[s + 1] === 105 &&
        buf[s + 2] === 109 &&
        buf[s + 3] === 101 &&
        buf[s + 4] === 115 &&
        buf[s + 5] === 116 &&
        buf[s + 6] === 97 &&
        buf[s + 7] === 109 &&
        buf[s + 8] === 112 &&
        buf[s + 9] === QUOTE
        ? TIMESTAMP
        : UNKNOWN;
    case 97: // app_id"
      return s + 6 < end &&
        buf[s + 1] === 112 &&
        buf[s + 2] === 112 &&
        buf[s + 3] === 95 &&
        buf[s + 4] === 105 &&
        buf[s + 5] === 100 &&
        buf[s + 6] === QUOTE
        ? APP_ID
        : UNKNOWN;
    case 101: // endpoint"
      return s + 8 < end &&
        buf[s + 1] === 110 &&
        buf[s + 2] === 100 &&
        buf[s + 3] === 112 &&
        buf[s + 4] === 111 &&
        buf[s + 5] === 105 &&
        buf[s + 6] === 110 &&
        buf[s + 7] === 116 &&
        buf[s + 8] === QUOTE
        ? ENDPOINT
        : UNKNOWN;
    case 115: // status"
      return s + 6 < end &&
        buf[s + 1] === 116 &&
        buf[s + 2] === 97 &&
        buf[s + 3] === 116 &&
        buf[s + 4] === 117 &&
        buf[s + 5] === 115 &&
        buf[s + 6] === QUOTE
        ? STATUS
        : UNKNOWN;
    case 114:
      if (s + 2 >= end || buf[s + 1] !== 101) return UNKNOWN;
      if (buf[s + 2] === 99) {
        // records"
        return s + 7 < end &&
          buf[s + 3] === 111 &&
          buf[s + 4] === 114 &&
          buf[s + 5] === 100 &&
          buf[s + 6] === 115 &&
          buf[s + 7] === QUOTE
          ? RECORDS
          : UNKNOWN;
      }
      // request_id"
      return s + 10 < end &&
        buf[s + 2] === 113 &&
        buf[s + 3] === 117 &&
        buf[s + 4] === 101 &&
        buf[s + 5] === 115 &&
        buf[s + 6] === 116 &&
        buf[s + 7] === 95 &&
        buf[s + 8] === 105 &&
        buf[s + 9] === 100 &&
        buf[s + 10] === QUOTE
        ? REQUEST_ID
        : UNKNOWN;
    case 98: // bytes"
      return s + 5 < end &&
        buf[s + 1] === 121 &&
        buf[s + 2] === 116 &&
        buf[s + 3] === 101 &&
        buf[s + 4] === 115 &&
        buf[s + 5] === QUOTE
        ? BYTES
        : UNKNOWN;
    case 99: // client_ip"
      return s + 9 < end &&
        buf[s + 1] === 108 &&
        buf[s + 2] === 105 &&
        buf[s + 3] === 101 &&
        buf[s + 4] === 110 &&
        buf[s + 5] === 116 &&
        buf[s + 6] === 95 &&
        buf[s + 7] === 105 &&
        buf[s + 8] === 112 &&
        buf[s + 9] === QUOTE
        ? CLIENT_IP
        : UNKNOWN;
    case 111: // on_behalf_of"
      return s + 12 < end &&
        buf[s + 1] === 110 &&
        buf[s + 2] === 95 &&
        buf[s + 3] === 98 &&
        buf[s + 4] === 101 &&
        buf[s + 5] === 104 &&
        buf[s + 6] === 97 &&
        buf[s + 7] === 108 &&
        buf[s + 8] === 102 &&
        buf[s + 9] === 95 &&
        buf[s + 10] === 111 &&
        buf[s + 11] === 102 &&
        buf[s + 12] === QUOTE
        ? ON_BEHALF_OF
        : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

const isWs = (c: number | undefined): boolean => c === 32 || c === 9 || c === 13;

/** The first index from i on (at most end) that is not JSON whitespace (space, tab, CR). */
function skipWs(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i] as number;
    if (c > 32 || (c !== 32 && c !== 9 && c !== 13)) return i;
    i++;
  }
  return i;
}
/** The character after a backslash in a JSON escape other than a \u one: " \ / b f n r t. */
const isSimpleEscape = (c: number): boolean =>
  c === QUOTE || c === BACKSLASH || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;
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
    let day = 0;
    let app = '';
    let endpoint = '';
    let status = 0;
    let records = 0;
    let bytes = 0;
    let ip: IpEntry | undefined;
    let org: OrgEntry | undefined;
    let ridStart = -1;
    let ridEnd = -1;
    if (buf[i] === CLOSE_BRACE) return false; // {} lacks the required fields
    for (;;) {
      if (i >= end || buf[i] !== QUOTE) return false;
      const ks = i + 1;
      let id = expectedKey(buf, ks, end);
      let ke: number;
      if (id !== UNKNOWN) ke = ks + (KEY_LENGTHS[id] as number);
      else {
        ke = this.stringEnd(buf, ks, end);
        if (ke < 0 || this.escaped) return false;
        id = keyId(buf, ks, ke);
      }
      // Whitespace is skipped only where the expected byte is not next.
      i = ke + 1;
      if (i >= end || buf[i] !== COLON) {
        i = skipWs(buf, i, end);
        if (i >= end || buf[i] !== COLON) return false;
      }
      i++;
      if (i < end && (buf[i] as number) <= 32) i = skipWs(buf, i, end);
      if (i >= end) return false;
      if (id !== UNKNOWN) {
        if ((seen & (1 << id)) !== 0) return false; // a duplicate: JSON.parse keeps the last
        seen |= 1 << id;
      }
      const c = buf[i] as number;
      switch (id) {
        case TIMESTAMP: {
          if (c === QUOTE) {
            // Every byte of the timestamp is checked, so a quote after it ends a plain string.
            const e = isoTimestampEnd(buf, i + 1, end);
            if (e < 0 || e >= end || buf[e] !== QUOTE) return false;
            day = isoParsed.day;
            i = e + 1;
          } else {
            // Epoch milliseconds: an integer of at most 15 digits, within years 0000–9999.
            const e = this.integerEnd(buf, i, end);
            if (e < 0) return false;
            day = Math.floor((c === 45 ? -this.intValue : this.intValue) / MS_PER_DAY);
            if (day < MIN_DAY || day > MAX_DAY) return false;
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
            if (e < 0 || this.escaped) return false;
            ridStart = i + 1;
            ridEnd = e;
            i = e + 1;
          }
          break;
        }
        default: {
          i = this.valueEnd(buf, i, end, 0);
          if (i < 0) return false;
        }
      }
      let d = i < end ? (buf[i] as number) : -1;
      if (d !== COMMA && d !== CLOSE_BRACE) {
        i = skipWs(buf, i, end);
        if (i >= end) return false;
        d = buf[i] as number;
      }
      i++;
      if (d === CLOSE_BRACE) break;
      if (d !== COMMA) return false;
      if (i < end && (buf[i] as number) <= 32) i = skipWs(buf, i, end);
    }
    while (i < end && isWs(buf[i])) i++;
    if (i !== end || (seen & REQUIRED) !== REQUIRED) return false;

    out.day = day;
    out.app = app;
    out.endpoint = endpoint;
    out.status = status;
    out.records = records;
    out.bytes = bytes;
    out.clientIp = ip?.ip;
    out.org = org?.org;
    out.ridStart = ridEnd > ridStart ? ridStart : -1;
    out.ridEnd = ridEnd;
    out.requestId = undefined;
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
        } else if (!isSimpleEscape(x as number)) {
          return -1;
        }
      }
    }
    return -1;
  }

  /** stringEnd(), also setting `hash` to hashBytes() of the string's raw bytes: one pass. */
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
      if (c < 32 || c >= 128 || c === BACKSLASH) return this.hashedStringRest(buf, i, end, h);
      h = Math.imul(h ^ c, 16_777_619);
    }
    return -1;
  }

  /** hashedStringEnd() from buf[i] on (an escape or a non-ASCII byte), `h` the hash so far. */
  private hashedStringRest(buf: Uint8Array, i: number, end: number, h: number): number {
    let escaped = false;
    let ascii = true;
    for (; i < end; i++) {
      let c = buf[i] as number;
      if (c === QUOTE) {
        this.hash = h;
        this.escaped = escaped;
        this.ascii = ascii;
        return i;
      }
      if (c < 32) return -1;
      h = Math.imul(h ^ c, 16_777_619);
      if (c >= 128) ascii = false;
      else if (c === BACKSLASH) {
        escaped = true;
        if (++i >= end) return -1;
        c = buf[i] as number;
        h = Math.imul(h ^ c, 16_777_619);
        if (c === 117) {
          if (i + 4 >= end) return -1;
          for (let k = 0; k < 4; k++) {
            c = buf[++i] as number;
            if (!isHex(c)) return -1;
            h = Math.imul(h ^ c, 16_777_619);
          }
        } else if (!isSimpleEscape(c)) {
          return -1;
        }
      }
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
