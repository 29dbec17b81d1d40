/**
 * Helpers shared by the rule modules: tallies of a number per app with the rows behind it, the
 * apps and evidence of a finding, severity of a quota excess, compact day lists, and the loop over
 * agreements most rules are. Pure; no state outside the values passed in.
 */

import { compareStrings } from '../../support.ts';
import type { DayUsage } from '../../types.ts';
import { add } from '../../usage-math.ts';
import type { Agreement } from '../agreements.ts';
import { addDays, fmtInt, ratio } from '../format.ts';
import type {
  EvidenceList,
  FindingApp,
  FindingDraft,
  RuleContext,
  SourceContribution,
  WindowRow,
} from '../types.ts';
import { compareSources } from '../window.ts';

/** "Usage" on a day: at least one request or record. */
export function hasUsage(r: DayUsage): boolean {
  return r.requests > 0 || r.records > 0;
}

/** Accumulates a number per app and the rows behind it. */
export class Tally {
  readonly perApp = new Map<string, number>();
  readonly rows: WindowRow[] = [];
  total = 0;
  add(row: WindowRow, value: number): void {
    this.perApp.set(row.app, add(this.perApp.get(row.app) ?? 0, value));
    this.total = add(this.total, value);
    this.rows.push(row);
  }
}

/**
 * The apps behind a tally: value and share, sorted by value descending then app id; apps
 * contributing 0 left out unless the total itself is 0.
 */
export function appsOf(t: Tally): FindingApp[] {
  const entries = [...t.perApp].filter(([, v]) => v > 0 || t.total === 0);
  return entries
    .map(([app_id, value]) => ({ app_id, value, share: ratio(value, t.total, 4) }))
    .sort((a, b) => b.value - a.value || compareStrings(a.app_id, b.app_id));
}

/**
 * The sources of the input rows (`parts`) behind `rows` that count for a finding, each with its
 * contribution: the sum of `value(part)` over the parts that name it (a part naming several sources
 * counts whole for each). A part counts when `counts(part)` holds, by default when its value is
 * positive: evidence names only the log objects behind the finding's number. Ordered by
 * contribution descending, then key, then gen (the order the bounded evidence is chosen in).
 */
export function evidenceOf(
  rows: readonly WindowRow[],
  value: (part: DayUsage) => number,
  counts: (part: DayUsage) => boolean = (p) => value(p) > 0,
): EvidenceList {
  const m = new Map<string, SourceContribution>();
  for (const r of rows) {
    for (const part of r.parts) {
      if (!counts(part)) continue;
      const v = value(part);
      for (const s of part.sources) {
        const k = `${s.key}\u0000${s.gen}`;
        const seen = m.get(k);
        if (seen) seen.contribution = add(seen.contribution, v);
        else m.set(k, { key: s.key, gen: s.gen, contribution: v });
      }
    }
  }
  const list: EvidenceList = [...m.values()].sort(compareContributions);
  // Not enumerable: the list compares and serialises as the plain list it is.
  Object.defineProperty(list, 'spec', { value: { cells: rows, value, counts }, enumerable: false });
  return list;
}

/** Contribution descending, then key, then gen. */
export function compareContributions(a: SourceContribution, b: SourceContribution): number {
  return b.contribution - a.contribution || compareSources(a, b);
}

/** A quota excess: high when more than 10% of the limit (exactly 10% is medium). */
export function severityOfExcess(excess: number, limit: number): 'high' | 'medium' {
  return BigInt(excess) * 10n > BigInt(limit) ? 'high' : 'medium';
}

export function span(start: string, end: string): string {
  return start === end ? start : `${start}..${end}`;
}

/** Compact list of days: runs of consecutive days as ranges. */
export function dayList(days: readonly string[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < days.length) {
    let j = i;
    while (j + 1 < days.length && addDays(days[j] as string, 1) === days[j + 1]) j++;
    parts.push(span(days[i] as string, days[j] as string));
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * The requests of some rows of one app (those with usage) as a finding's numbers, and
 * "N request(s), M records" for its detail; null when none of the rows has usage.
 */
export function requestsOf(
  rows: readonly WindowRow[],
): { numbers: Pick<FindingDraft, 'observed' | 'apps' | 'evidence'>; text: string } | null {
  const t = new Tally();
  let records = 0;
  for (const r of rows) {
    if (!hasUsage(r)) continue;
    t.add(r, r.requests);
    records = add(records, r.records);
  }
  if (t.rows.length === 0) return null;
  return {
    numbers: { observed: t.total, apps: appsOf(t), evidence: evidenceOf(t.rows, (p) => p.requests) },
    text: `${fmtInt(t.total)} request(s), ${fmtInt(records)} records`,
  };
}

/** The distinct days of some rows, sorted. */
export function daysOf(rows: readonly WindowRow[]): string[] {
  return [...new Set(rows.map((r) => r.day))].sort();
}

/**
 * A rule evaluated agreement by agreement (agreements sorted by licensee, only those with usage in
 * W): `each` gets the agreement (in force on D), the rows of its apps with usage (each on a day its
 * terms then covered the app), the context, and the licensee's terms in force on each day.
 */
export function perAgreement(
  each: (
    a: Agreement,
    rows: readonly WindowRow[],
    ctx: RuleContext,
    on: (day: string) => Agreement | undefined,
  ) => FindingDraft[],
): (ctx: RuleContext) => FindingDraft[] {
  return (ctx) => ctx.agreements.flatMap(({ agreement, rows, on }) => each(agreement, rows, ctx, on));
}

/**
 * A draft over all of W with its month as period key; limit, excess, amount owed and currency
 * null unless given.
 */
export function monthToDate(
  ctx: RuleContext,
  fields: Omit<
    FindingDraft,
    'period_start' | 'period_end' | 'periodKey' | 'limit' | 'excess' | 'amount_owed' | 'currency'
  > &
    Partial<Pick<FindingDraft, 'limit' | 'excess' | 'amount_owed' | 'currency'>>,
): FindingDraft {
  return {
    period_start: ctx.window.start,
    period_end: ctx.window.end,
    limit: null,
    excess: null,
    amount_owed: null,
    currency: null,
    periodKey: ctx.month,
    ...fields,
  };
}
