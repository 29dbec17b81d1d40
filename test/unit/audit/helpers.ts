/** Builders for audit unit tests: agreements and usage rows with hand-chosen numbers. */
import type { Agreement } from '../../../functions/core/audit/agreements.ts';
import { type AuditUsageRow, audit, type Finding } from '../../../functions/core/audit/rules.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import type { CategoryCounts, Counts, RecipientsRegistry, SourceRef } from '../../../functions/core/types.ts';

export function agreement(over: Partial<Agreement> = {}): Agreement {
  return {
    licensee: 'acme',
    name: 'Acme Data',
    apps: [
      { id: 'a1', use_case: 'search' },
      { id: 'a2', use_case: 'ads' },
    ],
    term: { start: '2026-01-01', end: '2026-12-31' },
    quotas: {},
    prohibited_recipients: [],
    approved_organisations: [],
    rate: { per_1000_records: 0.75, currency: 'USD' },
    ...over,
  };
}

/** The findings of report date D. */
export const run = (reportDate: string, agreements: Agreement[], usage: AuditUsageRow[]): Finding[] =>
  audit({ reportDate, agreements, usage });

/**
 * The rules beyond SPEC §4's table, with their severities (functions/core/audit/rules/
 * quota-forecast.ts documents them): registry.test.ts allows exactly these besides SPEC's.
 */
export const EXTENSION_RULES: Readonly<Record<string, readonly string[]>> = {
  quota_forecast: ['low'],
  quota_threshold: ['low'],
};

/** The findings of SPEC §4's rules only (the extensions left out), for tests of those rules. */
export const runSpec = (reportDate: string, agreements: Agreement[], usage: AuditUsageRow[]): Finding[] =>
  run(reportDate, agreements, usage).filter((f) => !Object.hasOwn(EXTENSION_RULES, f.rule));

/** The findings of one rule (and metric). */
export const only = (fs: Finding[], rule: string, metric?: string): Finding[] =>
  fs.filter((f) => f.rule === rule && (metric === undefined || f.metric === metric));

export interface RowSpec {
  requests?: number;
  records?: number;
  bytes?: number;
  errors?: number;
  endpoints?: Record<string, Partial<Counts>>;
  categories?: Record<string, { requests: number; records: number; orgs?: CategoryCounts['orgs'] }>;
  sources?: SourceRef[];
}

/** A usage row; requests default to 1 and the source to logs/<app>/<day>.jsonl#g1. */
export function row(app: string, day: string, spec: RowSpec = {}): AuditUsageRow {
  const requests = spec.requests ?? 1;
  const records = spec.records ?? 0;
  const endpoints: Record<string, Counts> = {};
  for (const [ep, c] of Object.entries(spec.endpoints ?? { 'GET /x': { requests, records } })) {
    endpoints[ep] = {
      requests: c.requests ?? 0,
      records: c.records ?? 0,
      bytes: c.bytes ?? 0,
      errors: c.errors ?? 0,
    };
  }
  const categories: Record<string, CategoryCounts> = {};
  for (const [cat, c] of Object.entries(spec.categories ?? {})) {
    categories[cat] = { requests: c.requests, records: c.records, orgs: c.orgs ?? {} };
  }
  return {
    app,
    day,
    requests,
    records,
    bytes: spec.bytes ?? 0,
    errors: spec.errors ?? 0,
    endpoints,
    categories,
    sources: spec.sources ?? [{ key: `logs/${app}/${day}.jsonl`, gen: 'g1' }],
  };
}

export interface Req {
  app: string;
  day: string;
  endpoint?: string;
  records?: number;
  ip?: string;
  org?: string;
  source?: SourceRef;
}

/**
 * Aggregates single requests into usage rows the way ingestion does, attributing each request to
 * recipient categories with the real matcher of core/recipients.ts (IPv4 and IPv6 ranges, orgs).
 */
export function rowsFromRequests(registry: RecipientsRegistry, reqs: Req[]): AuditUsageRow[] {
  const matcher = compileRegistry(registry);
  const rows = new Map<string, AuditUsageRow>();
  for (const q of reqs) {
    const k = `${q.app} ${q.day}`;
    let r = rows.get(k);
    if (!r) {
      r = { ...row(q.app, q.day, { requests: 0, endpoints: {} }), sources: [] };
      rows.set(k, r);
    }
    const records = q.records ?? 0;
    r.requests += 1;
    r.records += records;
    const ep = q.endpoint ?? 'GET /x';
    const e = r.endpoints[ep] ?? { requests: 0, records: 0, bytes: 0, errors: 0 };
    e.requests += 1;
    e.records += records;
    r.endpoints[ep] = e;
    for (const cat of matcher.categoriesFor(q.ip, q.org)) {
      const c = r.categories[cat] ?? { requests: 0, records: 0, orgs: {} };
      c.requests += 1;
      c.records += records;
      if (q.org !== undefined) {
        const o = c.orgs[q.org] ?? { requests: 0, records: 0 };
        o.requests += 1;
        o.records += records;
        c.orgs[q.org] = o;
      }
      r.categories[cat] = c;
    }
    const src = q.source ?? { key: `logs/${q.day}.jsonl`, gen: 'e1' };
    if (!r.sources.some((s) => s.key === src.key && s.gen === src.gen)) r.sources.push(src);
  }
  return [...rows.values()];
}
