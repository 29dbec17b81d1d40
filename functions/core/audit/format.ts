/**
 * Small deterministic helpers shared by the audit modules: UTC calendar dates, exact decimal
 * arithmetic for money and shares, number formatting, canonical JSON and hashing.
 * Pure: no I/O, no clock, no locale (formatting never depends on ICU or the host's settings).
 */
import { createHash } from 'node:crypto';
import { compareStrings, daysInMonth } from '../support.ts';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `s` is a real calendar date written YYYY-MM-DD, years 1000–9999 (2026-02-30 is not). */
export function isRealDate(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

function toUtcMs(day: string): number {
  const m = DATE_RE.exec(day);
  if (!m) throw new Error(`not a date: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

function fromUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `day` plus `n` days (n may be negative). */
export function addDays(day: string, n: number): string {
  return fromUtcMs(toUtcMs(day) + n * 86_400_000);
}

/** Every date from `start` to `end`, both inclusive (empty when start > end). */
export function daysFrom(start: string, end: string): string[] {
  const out: string[] = [];
  for (let ms = toUtcMs(start), last = toUtcMs(end); ms <= last; ms += 86_400_000) out.push(fromUtcMs(ms));
  return out;
}

/** The audit window of report date D: the first day of D's month to D. */
export function windowOf(reportDate: string): { start: string; end: string } {
  if (!isRealDate(reportDate))
    throw new Error(`report date must be a date YYYY-MM-DD, got ${JSON.stringify(reportDate)}`);
  return { start: `${reportDate.slice(0, 7)}-01`, end: reportDate };
}

/** An exact decimal fraction num / den of a finite non-negative JS number (its shortest form). */
export function exactDecimal(n: number): { num: bigint; den: bigint } {
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a finite non-negative number, got ${n}`);
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (!m) throw new Error(`cannot read number ${n}`);
  const frac = m[2] ?? '';
  const exp = Number(m[3] ?? '0') - frac.length;
  const digits = BigInt(`${m[1]}${frac}`);
  return exp >= 0 ? { num: digits * 10n ** BigInt(exp), den: 1n } : { num: digits, den: 10n ** BigInt(-exp) };
}

/** round(num / den) with halves away from zero, for num ≥ 0, den > 0. */
export function roundHalfUp(num: bigint, den: bigint): bigint {
  return (2n * num + den) / (2n * den);
}

/**
 * Amount owed in cents: records / 1000 × rate, rounded half away from zero to 0.01, computed on
 * exact integers (the rate is taken as the decimal it is written as, e.g. 0.75, never as a binary
 * float approximation).
 */
export function amountCents(records: number, ratePer1000: number): bigint {
  const { num, den } = exactDecimal(ratePer1000);
  return roundHalfUp(BigInt(records) * num * 100n, 1000n * den);
}

/** A whole number of cents as the JS number with that exact two-decimal value (12345n → 123.45). */
export function centsToNumber(cents: bigint): number {
  return Number(cents) / 100;
}

/** value / total rounded half up to `decimals` places (0 when total is 0). */
export function ratio(value: number, total: number, decimals: number): number {
  if (total <= 0) return 0;
  const scale = 10n ** BigInt(decimals);
  return Number(roundHalfUp(BigInt(value) * scale, BigInt(total))) / Number(scale);
}

/** Integer with thousands separators: 1234567 → "1,234,567". */
export function fmtInt(n: number | bigint): string {
  const s = typeof n === 'bigint' ? n.toString() : Number.isInteger(n) ? BigInt(n).toString() : String(n);
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Cents as money with separators and two decimals: 123456n → "1,234.56". */
export function fmtCents(cents: bigint): string {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${fmtInt(whole)}.${frac}`;
}

/** An amount known to have at most two decimals, back to exact cents. */
export function toCents(amount: number): bigint {
  return BigInt(Math.round(amount * 100));
}

/** Percentage value/limit × 100 with two decimals, as text ("2.50"). */
export function fmtPercent(value: number, limit: number): string {
  if (limit <= 0) return '∞';
  const hundredths = roundHalfUp(BigInt(value) * 10_000n, BigInt(limit));
  return `${fmtInt(hundredths / 100n)}.${(hundredths % 100n).toString().padStart(2, '0')}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * JSON text with object keys in insertion order (callers build objects in a fixed order), or in
 * sorted order everywhere when `sortKeys` is set. Undefined properties are omitted like
 * JSON.stringify does; non-finite numbers are refused.
 */
export function stableJson(value: unknown, indent = 0, sortKeys = false): string {
  return JSON.stringify(canonical(value, sortKeys), null, indent);
}

function canonical(value: unknown, sortKeys: boolean): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error('non-finite number in JSON output');
    if (typeof value === 'bigint') throw new Error('bigint in JSON output');
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => canonical(v, sortKeys));
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  if (sortKeys) keys.sort(compareStrings);
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = canonical(v, sortKeys);
  }
  return out;
}

/** used / limit × 100, rounded half up to 2 decimals (null when there is no positive limit). */
export function percentOf(used: number, limit: number): number | null {
  if (limit <= 0) return null;
  return Number(roundHalfUp(BigInt(used) * 10_000n, BigInt(limit))) / 100;
}
