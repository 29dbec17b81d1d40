/**
 * Timestamps of log records (SPEC §2): ISO-8601 with a zone, or epoch milliseconds. The usage day
 * is the UTC date of the instant. Hand-written parsing (no regular expressions, no Date parsing
 * quirks), exact calendar arithmetic for years 0000–9999.
 */
import { daysInMonth } from './support.ts';

export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The date (year, month 1–12, day) of a day number (days since 1970-01-01). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day];
}

/** First and last day numbers the reader accepts: years 0000 to 9999. */
export const MIN_DAY = daysFromCivil(0, 1, 1);
export const MAX_DAY = daysFromCivil(9999, 12, 31);

const dayStrings = new Map<number, string>();

/** YYYY-MM-DD of a day number (cached: usage has few distinct days). */
export function dayString(days: number): string {
  let s = dayStrings.get(days);
  if (s === undefined) {
    const [y, m, d] = civilFromDays(days);
    s = `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
    if (dayStrings.size < 100_000) dayStrings.set(days, s);
  }
  return s;
}

/** Value of `count` ASCII digits at `at`, or -1 when one is not a digit. */
function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The usage day of an instant, or undefined outside years 0000–9999. */
export function dayOfEpochMs(ms: number): number | undefined {
  const day = Math.floor(ms / MS_PER_DAY);
  return day < MIN_DAY || day > MAX_DAY ? undefined : day;
}

const FORMAT_HINT = 'expected ISO-8601 with a zone (2026-11-27T08:15:02Z) or epoch milliseconds';

/**
 * Parse `YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|±hh:mm|±hhmm)` to epoch milliseconds
 * (fraction beyond milliseconds truncated). Returns the epoch ms, or a reject reason.
 */
export function parseIsoTimestamp(s: string): number | string {
  const n = s.length;
  if (n < 19 || n > 40) return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  const sep = s.charCodeAt(10);
  if (
    y < 0 ||
    mo < 0 ||
    d < 0 ||
    h < 0 ||
    mi < 0 ||
    sec < 0 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
  }
  let i = 19;
  let ms = 0;
  const dot = s.charCodeAt(i);
  if (dot === 46 || dot === 44) {
    i++;
    const from = i;
    while (i < n) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (i - from < 3) ms = ms * 10 + c;
      i++;
    }
    const count = i - from;
    if (count === 0 || count > 9) return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
    if (count === 1) ms *= 100;
    else if (count === 2) ms *= 10;
  }
  let offsetMinutes: number;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
    offsetMinutes = 0;
  } else if (z === 43 || z === 45) {
    const oh = digits(s, i + 1, 2);
    let om: number;
    if (i + 6 === n && s.charCodeAt(i + 3) === 58) om = digits(s, i + 4, 2);
    else if (i + 5 === n) om = digits(s, i + 3, 2);
    else return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
    if (oh < 0 || om < 0) return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
    if (oh > 23 || om > 59) return `timestamp: impossible zone offset ${s.slice(i)}`;
    offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else if (i === n) {
    return `timestamp: no time zone in ${quote(s)}`;
  } else {
    return `timestamp: ${FORMAT_HINT}, got ${quote(s)}`;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo))
    return `timestamp: impossible date ${s.slice(0, 10)}`;
  if (h > 23 || mi > 59 || sec > 59) return `timestamp: impossible time ${s.slice(11, 19)}`;
  const epochMs =
    daysFromCivil(y, mo, d) * MS_PER_DAY +
    h * 3_600_000 +
    mi * 60_000 +
    sec * 1000 +
    ms -
    offsetMinutes * 60_000;
  if (dayOfEpochMs(epochMs) === undefined) return `timestamp: out of range ${quote(s)}`;
  return epochMs;
}

/** Validate epoch milliseconds given as a number. Returns the value or a reject reason. */
export function checkEpochMs(ms: number): number | string {
  if (!Number.isInteger(ms)) return `timestamp: epoch milliseconds must be an integer, got ${ms}`;
  if (dayOfEpochMs(ms) === undefined) return `timestamp: epoch milliseconds out of range, got ${ms}`;
  return ms;
}

/** A string quoted for a reject reason, cut to a readable length. */
export function quote(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
