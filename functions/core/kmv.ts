/**
 * Duplicate request_ids across the log objects of one app-day, estimated with a bounded-error
 * sketch (issue 11 item 5). Pure; no AWS.
 *
 * A KMV ("k minimum values", bottom-k) sketch of one object's request_ids of one app-day holds the
 * KMV_K smallest distinct 52-bit hashes of them (evidence.ts fingerprints). Sketches of several
 * objects merge by keeping the k smallest hashes of their union, each with its multiplicity: how
 * many of the objects held it. The merge is associative and commutative, so a rollup of the day
 * and the sum of its objects' sketches are the same sketch.
 *
 * From a merged sketch: while it holds fewer than k hashes it holds every distinct request_id of
 * the day and the count of hashes with multiplicity ≥ 2 is exact (up to 52-bit hash collisions,
 * ~n²/2^53). Past that, distinct ≈ (k − 1) / u_k (u_k the k-th smallest hash scaled to [0, 1),
 * relative standard error ≈ 1/√(k − 2), 6.3 % for k = 256) and the duplicated ids ≈ (kept hashes
 * with multiplicity ≥ 2) / k × distinct: the kept hashes are a uniform sample of the distinct ids,
 * so the fraction has a standard error of √(p(1 − p)/k) (p the true fraction). For k = 256 and
 * p = 10 % that is ±1.9 points (±19 % of the count); the count is reliable to within a few percent
 * only when many ids repeat, and is 0 for a day whose sampled ids never repeat across objects.
 */

/** Hashes kept per sketch. */
export const KMV_K = 256;

/** The method name report.json gives (data_quality.duplicate_request_ids.method). */
export const KMV_METHOD = `kmv-${KMV_K}`;

/** Hashes are integers in [0, 2^52). */
const HASH_RANGE = 2 ** 52;

/** A sketch: hashes ascending and distinct; `m` the multiplicity of each (absent: all 1). */
export interface Kmv {
  h: number[];
  m?: number[];
}

/** Builds one object's sketch of one app-day: add() each request_id's hash. */
export class KmvBuilder {
  private readonly h: number[] = [];
  constructor(private readonly k = KMV_K) {}

  add(hash: number): void {
    const h = this.h;
    const n = h.length;
    if (n >= this.k && hash >= (h[n - 1] as number)) return;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((h[mid] as number) < hash) lo = mid + 1;
      else hi = mid;
    }
    if (h[lo] === hash) return;
    h.splice(lo, 0, hash);
    if (h.length > this.k) h.pop();
  }

  result(): Kmv {
    return { h: [...this.h] };
  }
}

const mult = (s: Kmv, i: number): number => s.m?.[i] ?? 1;

/** The union of two sketches: the k smallest hashes of both, multiplicities added. */
export function mergeKmv(a: Kmv, b: Kmv, k = KMV_K): Kmv {
  const h: number[] = [];
  const m: number[] = [];
  let i = 0;
  let j = 0;
  while (h.length < k && (i < a.h.length || j < b.h.length)) {
    const x = i < a.h.length ? (a.h[i] as number) : Number.POSITIVE_INFINITY;
    const y = j < b.h.length ? (b.h[j] as number) : Number.POSITIVE_INFINITY;
    if (x === y) {
      h.push(x);
      m.push(mult(a, i++) + mult(b, j++));
    } else if (x < y) {
      h.push(x);
      m.push(mult(a, i++));
    } else {
      h.push(y);
      m.push(mult(b, j++));
    }
  }
  return m.every((v) => v === 1) ? { h } : { h, m };
}

/** Merges any number of sketches (undefined ones skipped); undefined when there are none. */
export function mergeAllKmv(list: Iterable<Kmv | undefined>, k = KMV_K): Kmv | undefined {
  let out: Kmv | undefined;
  for (const s of list) if (s) out = out ? mergeKmv(out, s, k) : s;
  return out;
}

/** Estimated distinct request_ids behind a merged sketch (exact below k hashes). */
export function estimateDistinct(s: Kmv, k = KMV_K): number {
  if (s.h.length < k) return s.h.length;
  return (k - 1) / ((s.h[k - 1] as number) / HASH_RANGE);
}

/**
 * Estimated request_ids that occur in two or more of the merged objects (exact below k hashes):
 * the kept hashes with multiplicity ≥ 2, scaled from the sample to the estimated distinct count.
 */
export function estimateDuplicated(s: Kmv, k = KMV_K): number {
  let dup = 0;
  for (let i = 0; i < s.h.length; i++) if (mult(s, i) >= 2) dup++;
  if (s.h.length < k) return dup;
  return (dup / k) * estimateDistinct(s, k);
}
