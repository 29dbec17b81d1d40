/**
 * Usage of one log object per app × UTC day (SPEC §2): requests, records, bytes, errors; the same
 * per endpoint; per recipient category the requests and records, with the part declared
 * on_behalf_of an organisation broken down by organisation.
 */
import {
  type DayEvidence,
  type LineRef,
  MAX_DAY_EXTRA_REFS,
  MAX_DAY_REFS,
  MAX_OBJECT_EXTRA_REFS,
  MAX_OBJECT_REFS,
} from './evidence.ts';
import { KmvBuilder } from './kmv.ts';
import {
  DEFAULT_BOUNDS,
  type DistinctBounds,
  OTHER_ENDPOINTS,
  OTHER_ORGANISATIONS,
  type UsageBounds,
} from './reader/limits.ts';
import type { UsageRecord } from './record.ts';
import { compareStrings, setOwn } from './support.ts';
import { dayString } from './timestamps.ts';
import type { CategoryCounts, Counts, DayUsage } from './types.ts';
import { add, addCounts, emptyCounts } from './usage-math.ts';

interface OrgCounts {
  requests: number;
  records: number;
}

interface CategoryAgg {
  requests: number;
  records: number;
  orgs: Map<string, OrgCounts>;
  /** Line refs per declared organisation ('' for none), within the refs' budget (evidence.ts). */
  lines: Map<string, LineRef[]>;
}

interface EndpointAgg extends Counts {
  /** Allocated with the first ref (most endpoints of a big object hold none or one). */
  lines: LineRef[] | undefined;
}

/** The line being counted, as evidence (built only when some key still has room). */
export interface RefSource {
  ref(): LineRef;
}

interface DayAgg extends Counts {
  endpoints: Map<string, EndpointAgg>;
  lines: LineRef[];
  categories: Map<string, CategoryAgg>;
  /** Line refs held by the app-day's keys. */
  refs: number;
  /** The request_ids' sketch (kmv.ts), with evidence. */
  sketch: KmvBuilder | undefined;
  /** Hashes of the distinct endpoints / organisations rolled into an overflow entry (capped). */
  overEndpoints: Set<number> | undefined;
  overOrgs: Set<number> | undefined;
}

/** How many distinct values past a bound one app-day of one object rolled into its overflow entry. */
export interface DayOverflow {
  app: string;
  day: string;
  /** Distinct endpoints rolled into `(other endpoints)`. */
  endpoints: number;
  /** Distinct organisations rolled into `(other organisations)` (in any category). */
  organisations: number;
}

/**
 * Overflowed values are counted by a 32-bit hash, at most this many per app-day and kind (a few
 * MB); past it the count is a lower bound. Collisions can only make it slightly low.
 */
export const MAX_TRACKED_OVERFLOW = 100_000;

const MAX = Number.MAX_SAFE_INTEGER;

export class UsageAggregator {
  private readonly apps = new Map<string, Map<number, DayAgg>>();
  private lastApp: string | undefined;
  private lastDays: Map<number, DayAgg> | undefined;
  private lastDay = Number.NaN;
  private lastAgg: DayAgg | undefined;
  private appDays = 0;
  /** Endpoint and organisation entries created so far (overflow entries included): entries() without the walk. */
  private entryCount = 0;
  /** Line refs held by every key (evidence.ts MAX_OBJECT_REFS). */
  private refCount = 0;

  private readonly maxAppDays: number;
  private readonly maxEntries: number;

  /**
   * maxAppDaysPerObject and maxEntriesPerObject default to DEFAULT_BOUNDS'. `evidenceLines`: line
   * references kept per key (app-day, endpoint, category) when add() is given a RefSource.
   */
  constructor(
    private readonly bounds: DistinctBounds & Partial<UsageBounds> = DEFAULT_BOUNDS,
    private readonly evidenceLines = 0,
  ) {
    this.maxAppDays = bounds.maxAppDaysPerObject ?? DEFAULT_BOUNDS.maxAppDaysPerObject;
    this.maxEntries = bounds.maxEntriesPerObject ?? DEFAULT_BOUNDS.maxEntriesPerObject;
  }

  /** The quarantine reason once the object holds more than maxEntriesPerObject entries. */
  private tooManyEntries(): string {
    return `more than ${this.maxEntries} distinct endpoint and organisation entries in one object (MAX_ENTRIES_PER_OBJECT): split the object or raise the bound, then reprocess it`;
  }

  /**
   * Count one valid record in the given categories (with `refs`, as evidence; with `ridHash` ≥ 0,
   * its request_id's 52-bit hash goes into the app-day's sketch). Returns a reason when a sum would exceed
   * 2^53 − 1 or a per-object bound is passed (the object must then be quarantined), else undefined.
   */
  add(rec: UsageRecord, categories: readonly string[], refs?: RefSource, ridHash = -1): string | undefined {
    const agg = this.dayAgg(rec.app, rec.day);
    if (agg === undefined) {
      return `more than ${this.maxAppDays} distinct app × UTC day pairs in one object (MAX_APP_DAYS_PER_OBJECT): split the object or raise the bound, then reprocess it`;
    }
    const isError = rec.status >= 400 ? 1 : 0;
    agg.requests += 1;
    agg.records += rec.records;
    agg.bytes += rec.bytes;
    agg.errors += isError;
    if (agg.records > MAX || agg.bytes > MAX) {
      const what = agg.records > MAX ? 'records' : 'bytes';
      return `usage overflow: ${what} of app ${rec.app} on ${dayString(rec.day)} exceed 2^53−1`;
    }
    let ep = agg.endpoints.get(rec.endpoint);
    if (ep === undefined) {
      let name = rec.endpoint;
      if (agg.endpoints.size >= this.bounds.maxEndpointsPerDay) {
        agg.overEndpoints = track(agg.overEndpoints, name);
        name = OTHER_ENDPOINTS;
        ep = agg.endpoints.get(name);
      }
      if (ep === undefined) {
        if (this.entryCount >= this.maxEntries) return this.tooManyEntries();
        this.entryCount++;
        ep = { requests: 0, records: 0, bytes: 0, errors: 0, lines: undefined };
        agg.endpoints.set(name, ep);
      }
    }
    ep.requests += 1;
    ep.records += rec.records;
    ep.bytes += rec.bytes;
    ep.errors += isError;
    const keep = refs === undefined ? 0 : this.evidenceLines;
    if (keep > 0) {
      if (this.room(agg, agg.lines.length, keep)) this.take(agg, agg.lines, refs as RefSource);
      const have = ep.lines?.length ?? 0;
      if (this.room(agg, have, keep)) {
        if (ep.lines === undefined) ep.lines = [];
        this.take(agg, ep.lines, refs as RefSource);
      }
    }
    if (ridHash >= 0) {
      agg.sketch ??= new KmvBuilder();
      agg.sketch.add(ridHash);
    }
    for (let i = 0; i < categories.length; i++) {
      const name = categories[i] as string;
      let cat = agg.categories.get(name);
      if (cat === undefined) {
        cat = { requests: 0, records: 0, orgs: new Map(), lines: new Map() };
        agg.categories.set(name, cat);
      }
      cat.requests += 1;
      cat.records += rec.records;
      if (keep > 0) {
        const orgName = rec.org ?? '';
        let lines = cat.lines.get(orgName);
        if (this.room(agg, lines?.length ?? 0, keep)) {
          if (lines === undefined) {
            lines = [];
            cat.lines.set(orgName, lines);
          }
          this.take(agg, lines, refs as RefSource);
        }
      }
      if (rec.org !== undefined) {
        let org = cat.orgs.get(rec.org);
        if (org === undefined) {
          let name = rec.org;
          if (cat.orgs.size >= this.bounds.maxOrganisationsPerCategory) {
            agg.overOrgs = track(agg.overOrgs, name);
            name = OTHER_ORGANISATIONS;
            org = cat.orgs.get(name);
          }
          if (org === undefined) {
            if (this.entryCount >= this.maxEntries) return this.tooManyEntries();
            this.entryCount++;
            org = { requests: 0, records: 0 };
            cat.orgs.set(name, org);
          }
        }
        org.requests += 1;
        org.records += rec.records;
      }
    }
    return undefined;
  }

  /**
   * Whether a key holding `have` of its `keep` lines takes one more: its first while the object and
   * the app-day are within MAX_OBJECT_REFS / MAX_DAY_REFS, further ones within the EXTRA budgets.
   */
  private room(agg: DayAgg, have: number, keep: number): boolean {
    if (have >= keep) return false;
    return have === 0
      ? this.refCount < MAX_OBJECT_REFS && agg.refs < MAX_DAY_REFS
      : this.refCount < MAX_OBJECT_EXTRA_REFS && agg.refs < MAX_DAY_EXTRA_REFS;
  }

  private take(agg: DayAgg, lines: LineRef[], refs: RefSource): void {
    lines.push(refs.ref());
    agg.refs++;
    this.refCount++;
  }

  /** The app-day's aggregate; undefined when it would be one more than maxAppDaysPerObject. */
  private dayAgg(app: string, day: number): DayAgg | undefined {
    if (app === this.lastApp && day === this.lastDay && this.lastAgg) return this.lastAgg;
    let days = app === this.lastApp ? this.lastDays : this.apps.get(app);
    if (days === undefined) {
      days = new Map();
      this.apps.set(app, days);
    }
    let agg = days.get(day);
    if (agg === undefined) {
      if (this.appDays >= this.maxAppDays) return undefined;
      this.appDays++;
      agg = {
        requests: 0,
        records: 0,
        bytes: 0,
        errors: 0,
        endpoints: new Map(),
        lines: [],
        categories: new Map(),
        refs: 0,
        sketch: undefined,
        overEndpoints: undefined,
        overOrgs: undefined,
      };
      days.set(day, agg);
    }
    this.lastApp = app;
    this.lastDays = days;
    this.lastDay = day;
    this.lastAgg = agg;
    return agg;
  }

  /** The app-days where a bound was reached, sorted by app then day (usually none). */
  overflow(): DayOverflow[] {
    const out: DayOverflow[] = [];
    for (const app of [...this.apps.keys()].sort(compareStrings)) {
      const days = this.apps.get(app) as Map<number, DayAgg>;
      for (const day of [...days.keys()].sort((a, b) => a - b)) {
        const agg = days.get(day) as DayAgg;
        if (agg.overEndpoints === undefined && agg.overOrgs === undefined) continue;
        out.push({
          app,
          day: dayString(day),
          endpoints: agg.overEndpoints?.size ?? 0,
          organisations: agg.overOrgs?.size ?? 0,
        });
      }
    }
    return out;
  }

  /** Distinct entries held (endpoints + organisations over every app-day): what memory grows with. */
  entries(): number {
    let n = 0;
    for (const days of this.apps.values()) {
      for (const agg of days.values()) {
        n += agg.endpoints.size;
        for (const c of agg.categories.values()) n += c.orgs.size;
      }
    }
    return n;
  }

  /** The line references per app-day (sorted like result()); empty lists when evidence is off. */
  evidence(): DayEvidence[] {
    const out: DayEvidence[] = [];
    for (const app of [...this.apps.keys()].sort(compareStrings)) {
      const days = this.apps.get(app) as Map<number, DayAgg>;
      for (const day of [...days.keys()].sort((a, b) => a - b)) {
        const agg = days.get(day) as DayAgg;
        const endpoints: Record<string, LineRef[]> = {};
        for (const name of [...agg.endpoints.keys()].sort(compareStrings)) {
          const lines = (agg.endpoints.get(name) as EndpointAgg).lines;
          if (lines !== undefined && lines.length > 0) setOwn(endpoints, name, lines);
        }
        const categories: Record<string, Record<string, LineRef[]>> = {};
        for (const name of [...agg.categories.keys()].sort(compareStrings)) {
          const byOrg = (agg.categories.get(name) as CategoryAgg).lines;
          const orgs: Record<string, LineRef[]> = {};
          for (const org of [...byOrg.keys()].sort(compareStrings)) {
            const lines = byOrg.get(org) as LineRef[];
            if (lines.length > 0) setOwn(orgs, org, lines);
          }
          if (Object.keys(orgs).length > 0) setOwn(categories, name, orgs);
        }
        out.push({
          app,
          day: dayString(day),
          lines: agg.lines,
          endpoints,
          categories,
          ...(agg.sketch ? { sketch: agg.sketch.result() } : {}),
        });
      }
    }
    return out;
  }

  /** Usage sorted by app then day; every object's keys inserted in sorted order. */
  result(): DayUsage[] {
    const out: DayUsage[] = [];
    for (const app of [...this.apps.keys()].sort(compareStrings)) {
      const days = this.apps.get(app) as Map<number, DayAgg>;
      for (const day of [...days.keys()].sort((a, b) => a - b)) {
        const agg = days.get(day) as DayAgg;
        const endpoints: Record<string, Counts> = {};
        for (const name of [...agg.endpoints.keys()].sort(compareStrings)) {
          const c = agg.endpoints.get(name) as Counts;
          setOwn(endpoints, name, {
            requests: c.requests,
            records: c.records,
            bytes: c.bytes,
            errors: c.errors,
          });
        }
        const categories: Record<string, CategoryCounts> = {};
        for (const name of [...agg.categories.keys()].sort(compareStrings)) {
          const c = agg.categories.get(name) as CategoryAgg;
          const orgs: Record<string, OrgCounts> = {};
          for (const org of [...c.orgs.keys()].sort(compareStrings)) {
            const o = c.orgs.get(org) as OrgCounts;
            setOwn(orgs, org, { requests: o.requests, records: o.records });
          }
          setOwn(categories, name, { requests: c.requests, records: c.records, orgs });
        }
        out.push({
          app,
          day: dayString(day),
          requests: agg.requests,
          records: agg.records,
          bytes: agg.bytes,
          errors: agg.errors,
          endpoints,
          categories,
        });
      }
    }
    return out;
  }
}

/** Note one more overflowed value (by hash, up to MAX_TRACKED_OVERFLOW of them). */
function track(set: Set<number> | undefined, value: string): Set<number> {
  const s = set ?? new Set<number>();
  if (s.size < MAX_TRACKED_OVERFLOW) s.add(fnv1a(value));
  return s;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** What boundDayUsage folded into the overflow entries of one app-day. */
export interface MergedOverflow {
  /** Named endpoints folded into `(other endpoints)` by the merge. */
  endpoints: number;
  /** Named organisations folded into `(other organisations)` by the merge (over every category). */
  organisations: number;
}

/**
 * One app-day's usage summed over several objects, held to the same bounds as one object's
 * (UsageBounds): each object keeps up to the bound, so their union can hold several times it. The
 * named values kept are the `bound` with the most requests (then the most records, then name in
 * code-unit order): a choice that depends only on the sums, never on the order of the objects. The
 * rest, and any overflow entry the objects already had, are summed exactly into the overflow entry,
 * so totals never change. Usage within the bounds is returned as it is (the same object).
 */
export function boundDayUsage<T extends DayUsage>(
  u: T,
  bounds: DistinctBounds = DEFAULT_BOUNDS,
): { usage: T; merged: MergedOverflow } {
  const endpoints = boundNamed(u.endpoints, OTHER_ENDPOINTS, bounds.maxEndpointsPerDay, addEndpointCounts);
  let organisations = 0;
  let categories = u.categories;
  for (const [name, c] of Object.entries(u.categories)) {
    const orgs = boundNamed(c.orgs, OTHER_ORGANISATIONS, bounds.maxOrganisationsPerCategory, addOrgCounts);
    if (orgs.folded === 0) continue;
    if (categories === u.categories) categories = { ...u.categories };
    setOwn(categories, name, { requests: c.requests, records: c.records, orgs: orgs.kept });
    organisations += orgs.folded;
  }
  if (endpoints.folded === 0 && organisations === 0)
    return { usage: u, merged: { endpoints: 0, organisations: 0 } };
  return {
    usage: { ...u, endpoints: endpoints.kept, categories },
    merged: { endpoints: endpoints.folded, organisations },
  };
}

type Tally = { requests: number; records: number };

function addEndpointCounts(into: Counts | undefined, c: Counts): Counts {
  const t = into ?? emptyCounts();
  addCounts(t, c);
  return t;
}

function addOrgCounts(into: Tally | undefined, c: Tally): Tally {
  const t = into ?? { requests: 0, records: 0 };
  t.requests = add(t.requests, c.requests);
  t.records = add(t.records, c.records);
  return t;
}

/** The `bound` named entries with the most requests (then records, then name); the rest summed into `other`. */
function boundNamed<C extends Tally>(
  rec: Record<string, C>,
  other: string,
  bound: number,
  sum: (into: C | undefined, c: C) => C,
): { kept: Record<string, C>; folded: number } {
  const names = Object.keys(rec).filter((n) => n !== other);
  if (names.length <= bound) return { kept: rec, folded: 0 };
  names.sort((a, b) => {
    const x = rec[a] as C;
    const y = rec[b] as C;
    return y.requests - x.requests || y.records - x.records || compareStrings(a, b);
  });
  let overflow = Object.hasOwn(rec, other) ? sum(undefined, rec[other] as C) : undefined;
  for (const n of names.slice(bound)) overflow = sum(overflow, rec[n] as C);
  const kept: Record<string, C> = {};
  for (const n of [...names.slice(0, bound), other].sort(compareStrings))
    setOwn(kept, n, n === other ? (overflow as C) : (rec[n] as C));
  return { kept, folded: names.length - bound };
}
