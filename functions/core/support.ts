/**
 * Small helpers shared across the pure core (and its callers), each defined once here.
 * No AWS, no I/O, no hidden state.
 */

/** Code-unit order, the same on every machine and locale (unlike localeCompare). */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** rec[key], but only the record's own property: "constructor" or "__proto__" are keys like any other. */
export function ownValue<T>(rec: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** rec[key] = value, also for the key "__proto__" (which plain assignment would not create). */
export function setOwn<T>(rec: Record<string, T>, key: string, value: T): T {
  if (key === '__proto__')
    Object.defineProperty(rec, key, { value, enumerable: true, writable: true, configurable: true });
  else rec[key] = value;
  return value;
}

/** Days in a month of the proleptic Gregorian calendar; month is 1–12. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** SPEC §1: an app id as it appears in logs and agreements. */
export const APP_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A licensee id (SPEC §3): what agreements accept and the CLI checks before reading anything. */
export const LICENSEE_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A small seeded PRNG (mulberry32): the same sequence for the same seed, values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r: number = t;
    r = Math.imul(t ^ (t >>> 15), t | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The form organisations are compared in (registry, logs, approved_organisations): Unicode NFKC,
 * case-folded with toLowerCase, every run of whitespace (incl. NBSP and the other Unicode spaces)
 * one space, trimmed. `"ACME\u00a0 Corp "` and `"acme corp"` are the same organisation.
 */
export function normaliseOrg(org: string): string {
  return org.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}
