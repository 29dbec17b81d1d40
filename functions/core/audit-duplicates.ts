/**
 * Duplicate request_ids of a window's usage rows (report.json data_quality, issue 11 item 5) when
 * the rows an audit keeps are lean: a row that stands for a whole app-day (a rollup) can drop its
 * request-level evidence once its duplicate counts are folded into a small tally (leanRow), so the
 * audit holds two numbers per app-day instead of its line refs and sketch. Pure; no AWS.
 *
 * windowDuplicates gives what request-evidence.ts duplicateRequestIds gives over the same rows
 * with their evidence: a tallied row is one app-day's sketch merged and estimated, summed in the
 * same order (the app-days' first rows).
 */
import { estimateDuplicated, KMV_METHOD, type Kmv, mergeAllKmv } from './kmv.ts';
import type { RowEvidence } from './request-evidence.ts';

/** One app-day's duplicates: the objects' exact counts summed and, when it has a sketch, its estimate. */
interface Tally {
  within: number;
  across?: number;
}

const tallies = new WeakMap<object, Tally>();

/**
 * The row without its evidence, its duplicate counts kept aside (windowDuplicates). The row must
 * be its app-day's only row (a rollup's).
 */
export function leanRow<T extends { evidence?: RowEvidence }>(row: T): T {
  const { evidence, ...rest } = row;
  const lean = rest as T;
  if (evidence) {
    const merged = mergeAllKmv([evidence.sketch]);
    tallies.set(lean, {
      within: evidence.duplicates ?? 0,
      ...(merged ? { across: estimateDuplicated(merged) } : {}),
    });
  }
  return lean;
}

/** duplicateRequestIds over rows with their evidence, lean rows (leanRow) or both. */
export function windowDuplicates(
  rows: readonly { app: string; day: string; evidence?: RowEvidence }[],
  from: string,
  to: string,
): { within_objects: number; across_objects_estimate: number; method: string } | undefined {
  let within = 0;
  const cells = new Map<string, { sketches: Kmv[]; estimate?: number }>();
  const cell = (r: { app: string; day: string }) => {
    const k = `${r.app}\u0000${r.day}`;
    const c = cells.get(k) ?? { sketches: [] };
    cells.set(k, c);
    return c;
  };
  for (const r of rows) {
    if (r.day < from || r.day > to) continue;
    const t = tallies.get(r);
    if (t) {
      within += t.within;
      if (t.across !== undefined) {
        const c = cell(r);
        c.estimate = (c.estimate ?? 0) + t.across;
      }
      continue;
    }
    if (!r.evidence) continue;
    within += r.evidence.duplicates ?? 0;
    if (r.evidence.sketch) cell(r).sketches.push(r.evidence.sketch);
  }
  let across = 0;
  for (const c of cells.values()) {
    const merged = mergeAllKmv(c.sketches);
    if (merged) across += estimateDuplicated(merged);
    if (c.estimate !== undefined) across += c.estimate;
  }
  const estimate = Math.round(across);
  if (within === 0 && estimate === 0) return undefined;
  return { within_objects: within, across_objects_estimate: estimate, method: KMV_METHOD };
}
