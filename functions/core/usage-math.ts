/**
 * Exact, deterministic arithmetic on usage aggregates. Sums are checked against 2^53 − 1 so a total
 * is either exact or an error, never silently rounded.
 */
import { compareStrings, ownValue, setOwn } from './support.ts';
import type { CategoryCounts, Counts, DayUsage } from './types.ts';

export class OverflowError extends Error {
  override name = 'OverflowError';
}

export function add(a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new OverflowError(`usage total ${a} + ${b} exceeds 2^53 − 1`);
  return s;
}

export function emptyCounts(): Counts {
  return { requests: 0, records: 0, bytes: 0, errors: 0 };
}

export function addCounts(into: Counts, from: Counts): void {
  into.requests = add(into.requests, from.requests);
  into.records = add(into.records, from.records);
  into.bytes = add(into.bytes, from.bytes);
  into.errors = add(into.errors, from.errors);
}

function sortKeys<T>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(rec).sort()) setOwn(out, k, rec[k] as T);
  return out;
}

function addCategory(into: CategoryCounts, from: CategoryCounts): void {
  into.requests = add(into.requests, from.requests);
  into.records = add(into.records, from.records);
  for (const [org, c] of Object.entries(from.orgs)) {
    const t = ownValue(into.orgs, org) ?? setOwn(into.orgs, org, { requests: 0, records: 0 });
    t.requests = add(t.requests, c.requests);
    t.records = add(t.records, c.records);
  }
}

/** One app-day's usage with nothing counted. */
export function emptyDayUsage(app: string, day: string): DayUsage {
  return { app, day, requests: 0, records: 0, bytes: 0, errors: 0, endpoints: {}, categories: {} };
}

/** Sums usage rows per (app, day). Output sorted by app then day, with sorted map keys. */
export function sumDayUsage(rows: Iterable<DayUsage>): DayUsage[] {
  const byKey = new Map<string, DayUsage>();
  for (const row of rows) {
    const k = `${row.app}\u0000${row.day}`;
    let t = byKey.get(k);
    if (!t) {
      t = { app: row.app, day: row.day, ...emptyCounts(), endpoints: {}, categories: {} };
      byKey.set(k, t);
    }
    addCounts(t, row);
    for (const [ep, c] of Object.entries(row.endpoints)) {
      addCounts(ownValue(t.endpoints, ep) ?? setOwn(t.endpoints, ep, emptyCounts()), c);
    }
    for (const [cat, c] of Object.entries(row.categories)) {
      addCategory(
        ownValue(t.categories, cat) ?? setOwn(t.categories, cat, { requests: 0, records: 0, orgs: {} }),
        c,
      );
    }
  }
  return [...byKey.values()].sort(compareAppDay).map(normalise);
}

export function compareAppDay(a: { app: string; day: string }, b: { app: string; day: string }): number {
  return compareStrings(a.app, b.app) || compareStrings(a.day, b.day);
}

/** Same usage with every map's keys in sorted order (deterministic JSON). */
export function normalise(u: DayUsage): DayUsage {
  const categories: Record<string, CategoryCounts> = {};
  for (const [cat, c] of Object.entries(sortKeys(u.categories))) {
    setOwn(categories, cat, { requests: c.requests, records: c.records, orgs: sortKeys(c.orgs) });
  }
  return {
    app: u.app,
    day: u.day,
    requests: u.requests,
    records: u.records,
    bytes: u.bytes,
    errors: u.errors,
    endpoints: sortKeys(u.endpoints),
    categories,
  };
}
