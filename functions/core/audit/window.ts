/**
 * The usage of the audit window W (the first day of D's month … D): input rows outside W dropped,
 * rows of the same app and day summed exactly (usage-math.ts) and held to the ingest's distinct-value
 * bounds per app-day (aggregate.ts boundDayUsage: every object keeps up to the bound, so their sum
 * could hold several times it). Shared by the rules, the report model and usage.jsonl, so all three
 * count the same rows. Pure and deterministic: the result does not depend on the rows' order.
 */
import { boundDayUsage } from '../aggregate.ts';
import { compareStrings } from '../support.ts';
import type { SourceRef } from '../types.ts';
import { sumDayUsage } from '../usage-math.ts';
import { daysFrom, windowOf } from './format.ts';
import type { AuditUsageRow, WindowRow, WindowUsage } from './types.ts';

/** Sources in key order, then gen order. */
export function compareSources(a: SourceRef, b: SourceRef): number {
  return compareStrings(a.key, b.key) || compareStrings(a.gen, b.gen);
}

/** Rows of W summed per app and day, each with its merged sources and the input rows behind it. */
export function windowUsage(reportDate: string, usage: readonly AuditUsageRow[]): WindowUsage {
  const window = windowOf(reportDate);
  const inW = usage.filter((r) => r.day >= window.start && r.day <= window.end);
  const sources = new Map<string, Map<string, SourceRef>>();
  const parts = new Map<string, AuditUsageRow[]>();
  for (const r of inW) {
    const k = `${r.app}\u0000${r.day}`;
    let m = sources.get(k);
    if (!m) {
      m = new Map();
      sources.set(k, m);
    }
    for (const s of r.sources ?? []) m.set(`${s.key}\u0000${s.gen}`, { key: s.key, gen: s.gen });
    const list = parts.get(k) ?? [];
    parts.set(k, list);
    list.push(r);
  }
  const byApp = new Map<string, Map<string, WindowRow>>();
  for (const summed of sumDayUsage(inW)) {
    const u = boundDayUsage(summed).usage;
    const k = `${u.app}\u0000${u.day}`;
    const srcs = [...(sources.get(k)?.values() ?? [])].sort(compareSources);
    let days = byApp.get(u.app);
    if (!days) {
      days = new Map();
      byApp.set(u.app, days);
    }
    days.set(u.day, { ...u, sources: srcs, parts: parts.get(k) ?? [] });
  }
  return { window, days: daysFrom(window.start, window.end), byApp };
}
