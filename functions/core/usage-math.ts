/**
 * Exact, deterministic arithmetic on usage aggregates. Sums are checked against 2^53 − 1 so a total
 * is either exact or an error, never silently rounded.
 */
import { ownValue, setOwn } from './support.ts';
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
  return a.app < b.app ? -1 : a.app > b.app ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0;
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

/**
 * Splits one app-day's usage into parts whose JSON stays under `maxBytes`, so each can be stored
 * as one DynamoDB item (400 KB limit) however many endpoints or organisations it holds. The
 * counters go in part 0; endpoints, category totals and per-organisation counts are packed into
 * the parts. Summing the parts (sumDayUsage) gives the usage back exactly.
 */
export function splitDayUsage(u: DayUsage, maxBytes = 300_000): DayUsage[] {
  const overhead = JSON.stringify({ ...u, endpoints: {}, categories: {} }).length;
  const parts: DayUsage[] = [];
  let current: DayUsage = { ...u, endpoints: {}, categories: {} };
  let size = overhead;
  const room = (bytes: number) => {
    if (size + bytes > maxBytes && size > overhead) {
      parts.push(current);
      current = { app: u.app, day: u.day, ...emptyCounts(), endpoints: {}, categories: {} };
      size = overhead;
    }
    size += bytes;
  };
  const category = (cat: string): CategoryCounts =>
    ownValue(current.categories, cat) ??
    setOwn(current.categories, cat, { requests: 0, records: 0, orgs: {} });
  for (const [ep, c] of Object.entries(u.endpoints)) {
    room(JSON.stringify([ep, c]).length + 8);
    setOwn(current.endpoints, ep, c);
  }
  for (const [cat, c] of Object.entries(u.categories)) {
    room(JSON.stringify([cat, c.requests, c.records]).length + 40);
    const into = category(cat);
    into.requests = c.requests;
    into.records = c.records;
    for (const [org, o] of Object.entries(c.orgs)) {
      room(JSON.stringify([org, o]).length + 8 + cat.length);
      setOwn(category(cat).orgs, org, o);
    }
  }
  parts.push(current);
  return parts;
}
