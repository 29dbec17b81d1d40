/**
 * Per-(app, day) rollups, pure: the committed usage of one app on one day summed over its log
 * objects, with the top ROLLUP_TOP_SOURCES objects by records and how many objects there are. The
 * audit reads these instead of one row per object (adapters/rollup-store.ts stores them); each is
 * tagged with the token of its day's change marker at the moment its read began, so it is a cache
 * that a changed day invalidates, never a second source of truth.
 *
 * Each rollup also carries a digest of its content: sha256 over the per-object rows it was built
 * from (each row's canonical JSON, in sorted order). Equal digests mean the same committed
 * per-object usage, exactly (sums could agree by chance), whatever the day's token did: a commit for
 * another app on the same day moves the token, not this app-day's digest. A split date's join
 * (audit/parts.ts) takes a part's evidence for a finding only when the digests of the finding's
 * app-days are still those the part read.
 */
import { createHash } from 'node:crypto';
import { stableJson } from './audit/format.ts';
import { EVIDENCE_MAX_SOURCES, type SourceContribution } from './audit/types.ts';
import { compareSources } from './audit/window.ts';
import {
  evidenceForItems,
  ITEM_BUDGET_BYTES,
  itemBytes,
  splitUsageForItems,
  type UsageRow,
} from './ledger.ts';
import { joinEvidence, mergeEvidence, type RowEvidence, type StoredEvidence } from './request-evidence.ts';
import { compareStrings } from './support.ts';
import type { DayUsage, SourceRef } from './types.ts';
import { add, emptyDayUsage, sumDayUsage } from './usage-math.ts';

/** The most objects a rollup names (by records): as many as a finding's evidence lists. */
export const ROLLUP_TOP_SOURCES = EVIDENCE_MAX_SOURCES;

export interface Rollup extends DayUsage {
  /** Top objects by records (ties by key, then gen), listed by key then gen. */
  top: SourceContribution[];
  /** Distinct objects (key and gen) behind the day's usage. */
  sourceCount: number;
  /** The day's change token when the read behind this rollup began. */
  token: string;
  /** The objects' request-level evidence merged (request-evidence.ts mergeEvidence), when they have any. */
  evidence?: RowEvidence;
  /**
   * sha256 (hex) of the per-object rows the rollup was built from (contentDigest); absent on a
   * rollup stored before digests were kept (RollupStore rebuilds it).
   */
  digest?: string;
}

/** Contribution descending, then key, then gen. */
const byContribution = (a: SourceContribution, b: SourceContribution): number =>
  b.contribution - a.contribution || compareSources(a, b);

/**
 * The digest of some per-object rows: sha256 over each row's canonical JSON (keys sorted), the
 * rows in sorted order, so the order they were read in does not count.
 */
export function contentDigest(rows: readonly UsageRow[]): string {
  const lines = rows.map((r) => stableJson(r, 0, true)).sort(compareStrings);
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return hash.digest('hex');
}

/**
 * The rollup of one app-day from its per-object rows (UsageStore.queryUsage perSource). Exact: the
 * usage is the sum of the rows (usage-math.ts); the digest is theirs (contentDigest).
 */
export function buildRollup(app: string, day: string, rows: readonly UsageRow[], token: string): Rollup {
  const mine = rows.filter((r) => r.app === app && r.day === day);
  const perSource = new Map<string, SourceContribution>();
  for (const r of mine) {
    for (const s of r.sources) {
      const k = `${s.key}\u0000${s.gen}`;
      const had = perSource.get(k);
      if (had) had.contribution = add(had.contribution, r.records);
      else perSource.set(k, { key: s.key, gen: s.gen, contribution: r.records });
    }
  }
  const sum = sumDayUsage(mine)[0] ?? emptyDayUsage(app, day);
  const top = [...perSource.values()].sort(byContribution).slice(0, ROLLUP_TOP_SOURCES).sort(compareSources);
  const evidence = mergeEvidence(
    mine.map((r) => r.evidence),
    sum,
  );
  const digest = contentDigest(mine);
  return { ...sum, top, sourceCount: perSource.size, token, ...(evidence ? { evidence } : {}), digest };
}

/** A rollup as the audit reads it: usage with the top objects as its sources. */
export function rollupRow(r: Rollup): UsageRow & { sourceCount: number } {
  const { top, token: _t, sourceCount, digest: _d, ...usage } = r;
  return { ...usage, sources: top.map((s): SourceRef => ({ key: s.key, gen: s.gen })), sourceCount };
}

/** One stored part of a rollup: part 0 carries the top list, the count, the digest and the number of parts. */
export interface RollupPart extends DayUsage {
  part: number;
  of: number;
  token: string;
  top?: SourceContribution[];
  sourceCount?: number;
  digest?: string;
  /** A part of the rollup's evidence (the parts after the usage's; their usage is zero). */
  ev?: StoredEvidence;
}

/**
 * Every attribute of a stored rollup part but its key and its top list (what the audit's read of
 * the rollups projects: the top lists, the bulk of the bytes at 20 objects an app-day, are read
 * only for the rows that name them; adapters/rollup-store.ts window).
 */
export const ROLLUP_PART_FIELDS = [
  'app',
  'day',
  'requests',
  'records',
  'bytes',
  'errors',
  'endpoints',
  'categories',
  'part',
  'of',
  'token',
  'sourceCount',
  'digest',
  'ev',
] as const satisfies readonly (keyof RollupPart)[];

// A field added to RollupPart must be added to ROLLUP_PART_FIELDS (or the audit would not read it).
type Unprojected = Exclude<keyof RollupPart, (typeof ROLLUP_PART_FIELDS)[number] | 'top'>;
const _everyFieldProjected: [Unprojected] extends [never] ? true : Unprojected = true;
void _everyFieldProjected;

/**
 * Splits a rollup into parts whose stored size (DynamoDB's rules, UTF-8 bytes), with `keyOf`'s
 * attributes, stays within `budget` (400 KB less a margin). Joining them (joinRollup) gives it back.
 */
export function splitRollup(
  r: Rollup,
  keyOf: (part: number) => Record<string, string>,
  budget = ITEM_BUDGET_BYTES,
): RollupPart[] {
  const { top, sourceCount, token, evidence, digest, ...usage } = r;
  const head = { top, sourceCount, ...(digest === undefined ? {} : { digest }) };
  const fixed = itemBytes({ ...keyOf(99_999), part: 99_999, of: 99_999, token, ...head });
  const pieces: (DayUsage & { ev?: StoredEvidence })[] = splitUsageForItems(usage, fixed, budget);
  if (evidence) pieces.push(...evidenceForItems(usage, evidence, fixed, pieces.at(-1) as DayUsage, budget));
  return pieces.map((p, part) => ({
    ...p,
    part,
    of: pieces.length,
    token,
    ...(part === 0 ? head : {}),
  }));
}

/**
 * A rollup from its stored parts, or undefined when they do not make one whole: a part missing, or
 * parts of different tokens (a rebuild raced another).
 */
export function joinRollup(parts: readonly RollupPart[]): Rollup | undefined {
  const first = parts.find((p) => p.part === 0);
  if (!first || first.top === undefined || first.sourceCount === undefined) return undefined;
  const mine = parts.filter((p) => p.part < first.of);
  const seen = new Set(mine.map((p) => p.part));
  if (seen.size !== first.of || mine.length !== first.of || mine.some((p) => p.token !== first.token))
    return undefined;
  const sum = sumDayUsage(mine.map(dayUsageOf))[0];
  if (!sum) return undefined;
  const evidence = joinEvidence(mine.map((p) => p.ev));
  return {
    ...sum,
    top: first.top,
    sourceCount: first.sourceCount,
    token: first.token,
    ...(evidence ? { evidence } : {}),
    ...(first.digest === undefined ? {} : { digest: first.digest }),
  };
}

function dayUsageOf(p: RollupPart): DayUsage {
  return {
    app: p.app,
    day: p.day,
    requests: p.requests,
    records: p.records,
    bytes: p.bytes,
    errors: p.errors,
    endpoints: p.endpoints ?? {},
    categories: p.categories ?? {},
  };
}

/** The digests of the rows a store served (`digestOf`: row → its rollup's digest), by `<app>\0<day>`. */
export function rowDigests(
  rows: readonly { app: string; day: string }[],
  digestOf: WeakMap<object, string>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) {
    const digest = digestOf.get(r);
    if (digest !== undefined) out.set(`${r.app}\u0000${r.day}`, digest);
  }
  return out;
}
