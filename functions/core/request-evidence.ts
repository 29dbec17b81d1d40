/**
 * Request-level evidence of app-days as stored and merged (issue 11 item 5). Pure; no AWS.
 *
 * One object's app-day (its contribution) and one app-day summed over objects (a rollup, or the
 * rows an audit sums) carry a RowEvidence: the first EVIDENCE_LINES lines per key (the app-day,
 * each endpoint, each category per declared organisation, '' for none), each line naming its
 * object; a KMV sketch of its request_ids (kmv.ts); and the object's exact count of duplicate
 * request_ids (on the object's first app-day only, so that a sum over rows counts each object once).
 *
 * Bounds: request_ids are cut to MAX_REQUEST_ID_CHARS (as the reader takes them); the reader holds
 * at most MAX_OBJECT_REFS refs per object (evidence.ts). Stored, the endpoints with the fewest
 * requests keep lines: the first MAX_FULL_EVIDENCE_ENDPOINTS up to EVIDENCE_LINES, the next up to
 * MAX_EVIDENCE_ENDPOINTS one; per category, no organisation ('') up to EVIDENCE_LINES and the
 * organisations likewise (MAX_FULL_EVIDENCE_ORGS, MAX_EVIDENCE_ORGS), so that a rare endpoint or
 * organisation is not crowded out by busy ones. Merging several rows keeps, per key, the first lines
 * by object key, gen, then line: the same lines however the rows are grouped
 * (mergeEvidence(a, mergeEvidence(b, c)) = mergeEvidence(a, b, c) with the same usage).
 *
 * Stored, evidence is cut into parts (splitEvidence) each within a byte budget by DynamoDB's
 * rules, each naming the objects its lines come from in a table `s` ([key, gen] pairs) that the
 * lines index.
 */
import { type DayEvidence, EVIDENCE_LINES, type LineRef } from './evidence.ts';
import { estimateDuplicated, KMV_METHOD, type Kmv, mergeAllKmv } from './kmv.ts';
import { OTHER_ENDPOINTS, OTHER_ORGANISATIONS } from './reader/limits.ts';
import { compareStrings, ownValue, setOwn } from './support.ts';
import type { DayUsage, SourceRef } from './types.ts';

/** The most characters of a request_id kept as evidence (the line's sha256 covers all of it). */
export const MAX_REQUEST_ID_CHARS = 128;
/**
 * Endpoints per app-day that keep a line: the MAX_EVIDENCE_ENDPOINTS with the fewest requests
 * (then records, then name) keep their first line, the first MAX_FULL_EVIDENCE_ENDPOINTS of them
 * up to EVIDENCE_LINES.
 */
export const MAX_EVIDENCE_ENDPOINTS = 1_000;
/** Endpoints per app-day that keep up to EVIDENCE_LINES lines (the fewest requests first). */
export const MAX_FULL_EVIDENCE_ENDPOINTS = 200;
/**
 * Declared organisations per category and app-day that keep a line (the fewest requests first,
 * then name; as many as UsageBounds.maxOrganisationsPerCategory counts), besides none ('').
 */
export const MAX_EVIDENCE_ORGS = 1_000;
/** Organisations per category and app-day that keep up to EVIDENCE_LINES lines (the fewest requests first). */
export const MAX_FULL_EVIDENCE_ORGS = 20;

/** One line of a log object as a finding's evidence (the `auditor evidence` contract). */
export interface EvidenceLine {
  key: string;
  gen: string;
  line: number;
  request_id: string | null;
  sha256: string;
}

export interface RowEvidence {
  /** The app-day's first lines. */
  lines: EvidenceLine[];
  endpoints: Record<string, EvidenceLine[]>;
  /** category → organisation ('' for lines without on_behalf_of) → lines. */
  categories: Record<string, Record<string, EvidenceLine[]>>;
  sketch?: Kmv;
  /** Exact duplicate request_ids within objects (each object counted on one of its rows). */
  duplicates?: number;
}

/** Lines by key, then gen, then line. */
export function compareLines(a: EvidenceLine, b: EvidenceLine): number {
  return compareStrings(a.key, b.key) || compareStrings(a.gen, b.gen) || a.line - b.line;
}

/** A request_id as kept: at most MAX_REQUEST_ID_CHARS characters (never half a surrogate pair). */
export function boundRequestId(id: string | null): string | null {
  if (id === null || id.length <= MAX_REQUEST_ID_CHARS) return id;
  let end = MAX_REQUEST_ID_CHARS;
  const code = id.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return id.slice(0, end);
}

/** The first `n` lines of the union of some lists (by key, gen, line; the same line once). */
export function mergeLines(lists: Iterable<readonly EvidenceLine[]>, n = EVIDENCE_LINES): EvidenceLine[] {
  const all: EvidenceLine[] = [];
  for (const l of lists) all.push(...l);
  all.sort(compareLines);
  const out: EvidenceLine[] = [];
  for (const l of all) {
    const last = out.at(-1);
    if (last && compareLines(last, l) === 0) continue;
    out.push(l);
    if (out.length >= n) break;
  }
  return out;
}

/**
 * How many lines each name keeps: the names ranked by fewest requests, then records, then name
 * (`always` first, with n lines); the first `full` keep n lines, the next up to `most` one line.
 * A name ranks no later among fewer names, so merging partial groups then the whole keeps the same lines.
 */
function linesKept(
  names: Iterable<string>,
  counts: (name: string) => { requests: number; records: number } | undefined,
  full: number,
  most: number,
  n: number,
  always?: string,
): Map<string, number> {
  const out = new Map<string, number>();
  const list: [string, number, number][] = [];
  for (const name of names) {
    if (name === always) out.set(name, n);
    else if (name !== OTHER_ENDPOINTS && name !== OTHER_ORGANISATIONS) {
      const c = counts(name);
      list.push([name, c?.requests ?? Number.MAX_SAFE_INTEGER, c?.records ?? Number.MAX_SAFE_INTEGER]);
    }
  }
  list.sort((a, b) => a[1] - b[1] || a[2] - b[2] || compareStrings(a[0], b[0]));
  for (let i = 0; i < list.length && i < most; i++)
    out.set((list[i] as [string, number, number])[0], i < full ? n : 1);
  return out;
}

/**
 * The evidence of one app-day from the evidence of its rows (objects or partial sums), held to the
 * bounds with `usage` (the app-day's usage summed) ranking the endpoints. Undefined when no row has any.
 */
export function mergeEvidence(
  evs: Iterable<RowEvidence | undefined>,
  usage: DayUsage,
  n = EVIDENCE_LINES,
): RowEvidence | undefined {
  const list = [...evs].filter((e): e is RowEvidence => e !== undefined);
  if (list.length === 0) return undefined;
  const lines = mergeLines(
    list.map((e) => e.lines),
    n,
  );
  const epNames = new Set(list.flatMap((e) => Object.keys(e.endpoints)));
  const endpoints: Record<string, EvidenceLine[]> = {};
  const epKeep = linesKept(
    epNames,
    (ep) => ownValue(usage.endpoints, ep),
    MAX_FULL_EVIDENCE_ENDPOINTS,
    MAX_EVIDENCE_ENDPOINTS,
    n,
  );
  for (const ep of [...epNames].sort(compareStrings)) {
    const k = epKeep.get(ep);
    if (k === undefined) continue;
    const merged = mergeLines(
      list.map((e) => ownValue(e.endpoints, ep) ?? []),
      k,
    );
    if (merged.length > 0) setOwn(endpoints, ep, merged);
  }
  const categories: Record<string, Record<string, EvidenceLine[]>> = {};
  const catNames = new Set(list.flatMap((e) => Object.keys(e.categories)));
  for (const cat of [...catNames].sort(compareStrings)) {
    const byOrg = list.map((e) => ownValue(e.categories, cat) ?? {});
    const counted = ownValue(usage.categories, cat)?.orgs ?? {};
    const orgNames = new Set(byOrg.flatMap((o) => Object.keys(o)));
    const orgKeep = linesKept(
      orgNames,
      (org) => ownValue(counted, org),
      MAX_FULL_EVIDENCE_ORGS,
      MAX_EVIDENCE_ORGS,
      n,
      '',
    );
    const orgs: Record<string, EvidenceLine[]> = {};
    for (const org of [...orgNames].sort(compareStrings)) {
      const k = orgKeep.get(org);
      if (k === undefined) continue;
      const merged = mergeLines(
        byOrg.map((o) => ownValue(o, org) ?? []),
        k,
      );
      if (merged.length > 0) setOwn(orgs, org, merged);
    }
    if (Object.keys(orgs).length > 0) setOwn(categories, cat, orgs);
  }
  const sketch = mergeAllKmv(list.map((e) => e.sketch));
  const duplicates = list.reduce((s, e) => s + (e.duplicates ?? 0), 0);
  return {
    lines,
    endpoints,
    categories,
    ...(sketch ? { sketch } : {}),
    ...(duplicates > 0 ? { duplicates } : {}),
  };
}

/** One object's line refs of one app-day (aggregate.ts), with the object named. */
export interface ObjectDayRefs {
  lines: LineRef[];
  endpoints: Record<string, LineRef[]>;
  categories: Record<string, Record<string, LineRef[]>>;
}

/** One object's app-day evidence as a RowEvidence (request_ids bounded, lines named by the object). */
export function objectEvidence(
  source: SourceRef,
  refs: ObjectDayRefs,
  usage: DayUsage,
  extra: { sketch?: Kmv; duplicates?: number } = {},
): RowEvidence {
  const named = (l: readonly LineRef[]): EvidenceLine[] =>
    l.map((r) => ({
      key: source.key,
      gen: source.gen,
      line: r.line,
      request_id: boundRequestId(r.request_id),
      sha256: r.sha256,
    }));
  const one: RowEvidence = {
    lines: named(refs.lines),
    endpoints: Object.fromEntries(Object.entries(refs.endpoints).map(([k, v]) => [k, named(v)])),
    categories: Object.fromEntries(
      Object.entries(refs.categories).map(([c, o]) => [
        c,
        Object.fromEntries(Object.entries(o).map(([k, v]) => [k, named(v)])),
      ]),
    ),
    ...(extra.sketch && extra.sketch.h.length > 0 ? { sketch: extra.sketch } : {}),
    ...(extra.duplicates ? { duplicates: extra.duplicates } : {}),
  };
  return mergeEvidence([one], usage) as RowEvidence;
}

/**
 * The evidence of one object's read (log-reader.ts with evidenceLines), one per app-day of
 * `usage`: its refs named by `source`, its sketch, and the object's exact duplicate count on its
 * first app-day. Undefined when the read kept no evidence.
 */
export function readEvidence(
  source: SourceRef,
  read: { usage: readonly DayUsage[]; evidence?: readonly DayEvidence[]; duplicateRequestIds?: number },
): RowEvidence[] | undefined {
  const evs = read.evidence;
  if (evs === undefined) return undefined;
  return read.usage.map((u, i) => {
    const e = evs[i];
    const refs = e && e.app === u.app && e.day === u.day ? e : { lines: [], endpoints: {}, categories: {} };
    return objectEvidence(source, refs, u, {
      ...(e?.sketch ? { sketch: e.sketch } : {}),
      ...(i === 0 && read.duplicateRequestIds ? { duplicates: read.duplicateRequestIds } : {}),
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Stored form

/** A stored line: [index into the part's sources, line, request_id, sha256]. */
type StoredLine = [number, number, string | null, string];

/** One stored part of a row's evidence. */
export interface StoredEvidence {
  /** The objects the part's lines come from: [key, gen]. */
  s: [string, string][];
  l?: StoredLine[];
  e?: Record<string, StoredLine[]>;
  /** category → [organisation, lines] pairs (a list: '' is no map key DynamoDB stores). */
  c?: Record<string, [string, StoredLine[]][]>;
  k?: Kmv;
  d?: number;
}

/**
 * Cuts a row's evidence into stored parts, each at most `budget` bytes by `size` (DynamoDB's
 * rules): one key's lines stay in one part. Joining them (joinEvidence) gives the evidence back.
 */
export function splitEvidence(
  ev: RowEvidence,
  budget: number,
  size: (v: unknown) => number,
): StoredEvidence[] {
  const parts: StoredEvidence[] = [];
  let cur: StoredEvidence = { s: [] };
  let index = new Map<string, number>();
  let bytes = size(cur);
  const fresh = () => {
    parts.push(cur);
    cur = { s: [] };
    index = new Map();
    bytes = size(cur);
  };
  /** The lines in the current part's form, adding their objects to its table; undefined if they do not fit. */
  const encode = (lines: readonly EvidenceLine[], keyBytes: number): StoredLine[] | undefined => {
    const added: [string, string][] = [];
    const seen = new Map(index);
    const out = lines.map((l): StoredLine => {
      const k = `${l.key}\u0000${l.gen}`;
      let i = seen.get(k);
      if (i === undefined) {
        i = seen.size;
        seen.set(k, i);
        added.push([l.key, l.gen]);
      }
      return [i, l.line, l.request_id, l.sha256];
    });
    const cost = keyBytes + size(out) + added.reduce((n, s) => n + 1 + size(s), 0) + 8;
    if (bytes + cost > budget && bytes > size({ s: [] })) return undefined;
    bytes += cost;
    index = seen;
    cur.s.push(...added);
    return out;
  };
  const put = (lines: readonly EvidenceLine[], keyBytes: number, store: (s: StoredLine[]) => void) => {
    if (lines.length === 0) return;
    let enc = encode(lines, keyBytes);
    if (enc === undefined) {
      fresh();
      enc = encode(lines, keyBytes) as StoredLine[];
    }
    store(enc);
  };
  const extras = size({ k: ev.sketch, d: ev.duplicates });
  bytes += extras;
  if (ev.sketch) cur.k = ev.sketch;
  if (ev.duplicates) cur.d = ev.duplicates;
  put(ev.lines, 2, (s) => {
    cur.l = s;
  });
  for (const [ep, lines] of Object.entries(ev.endpoints)) {
    put(lines, 4 + size(ep), (s) => {
      cur.e ??= {};
      setOwn(cur.e, ep, s);
    });
  }
  for (const [cat, orgs] of Object.entries(ev.categories)) {
    for (const [org, lines] of Object.entries(orgs)) {
      put(lines, 8 + size(cat) + size(org), (s) => {
        cur.c ??= {};
        (ownValue(cur.c, cat) ?? setOwn(cur.c, cat, [])).push([org, s]);
      });
    }
  }
  parts.push(cur);
  return parts;
}

/** The evidence of stored parts (in any order); undefined when there are none. */
export function joinEvidence(parts: Iterable<StoredEvidence | undefined>): RowEvidence | undefined {
  const ev: RowEvidence = { lines: [], endpoints: {}, categories: {} };
  let any = false;
  const sketches: (Kmv | undefined)[] = [];
  let duplicates = 0;
  for (const p of parts) {
    if (!p) continue;
    any = true;
    const decode = (l: readonly StoredLine[]): EvidenceLine[] =>
      l.map(([i, line, request_id, sha256]) => {
        const [key, gen] = p.s[i] as [string, string];
        return { key, gen, line, request_id, sha256 };
      });
    if (p.l) ev.lines.push(...decode(p.l));
    for (const [ep, l] of Object.entries(p.e ?? {})) {
      (ownValue(ev.endpoints, ep) ?? setOwn(ev.endpoints, ep, [])).push(...decode(l));
    }
    for (const [cat, orgs] of Object.entries(p.c ?? {})) {
      const into = ownValue(ev.categories, cat) ?? setOwn(ev.categories, cat, {});
      for (const [org, l] of orgs) (ownValue(into, org) ?? setOwn(into, org, [])).push(...decode(l));
    }
    sketches.push(p.k);
    duplicates += p.d ?? 0;
  }
  if (!any) return undefined;
  ev.lines.sort(compareLines);
  for (const l of Object.values(ev.endpoints)) l.sort(compareLines);
  for (const orgs of Object.values(ev.categories)) for (const l of Object.values(orgs)) l.sort(compareLines);
  const sketch = mergeAllKmv(sketches);
  if (sketch) ev.sketch = sketch;
  if (duplicates > 0) ev.duplicates = duplicates;
  return ev;
}

/**
 * Duplicate request_ids of the usage rows of [from, to] (report.json data_quality): the objects'
 * exact within-object counts summed, and per app-day the rows' sketches merged and their
 * duplicated ids estimated (kmv.ts), summed and rounded. Undefined when both are zero.
 */
export function duplicateRequestIds(
  rows: readonly { app: string; day: string; evidence?: RowEvidence }[],
  from: string,
  to: string,
): { within_objects: number; across_objects_estimate: number; method: string } | undefined {
  let within = 0;
  const sketches = new Map<string, Kmv[]>();
  for (const r of rows) {
    if (r.day < from || r.day > to || !r.evidence) continue;
    within += r.evidence.duplicates ?? 0;
    const s = r.evidence.sketch;
    if (!s) continue;
    const k = `${r.app}\u0000${r.day}`;
    const list = sketches.get(k) ?? [];
    sketches.set(k, list);
    list.push(s);
  }
  let across = 0;
  for (const list of sketches.values()) {
    const merged = mergeAllKmv(list);
    if (merged) across += estimateDuplicated(merged);
  }
  const estimate = Math.round(across);
  if (within === 0 && estimate === 0) return undefined;
  return { within_objects: within, across_objects_estimate: estimate, method: KMV_METHOD };
}
