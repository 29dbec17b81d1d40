/**
 * The report model: per licensee (and for apps in no agreement) the month-to-date usage of W,
 * summed exactly, with quota consumption. Shared by report.json and report.html so both show the
 * same numbers. Pure and deterministic.
 */
import { boundDayUsage } from '../aggregate.ts';
import { OTHER_ENDPOINTS, OTHER_ORGANISATIONS } from '../reader/limits.ts';
import { compareStrings } from '../support.ts';
import type { Counts, SourceRef } from '../types.ts';
import { addCounts, emptyCounts, sumDayUsage } from '../usage-math.ts';
import type { Agreement } from './agreements.ts';
import type { Finding, Rule } from './findings.ts';
import { centsToNumber, percentOf, toCents, windowOf } from './format.ts';
import { RULES } from './rules/registry.ts';
import { type AuditUsageRow, SEVERITIES, type Severity } from './types.ts';
import { compareSources, windowUsage } from './window.ts';

export interface AppSummary extends Counts {
  app_id: string;
  /** Declared use case; undefined for an app in no agreement. */
  use_case?: string | null;
  /** Days of W with usage. */
  active_days: number;
}

export interface DaySummary extends Counts {
  date: string;
  /** Records per app that day (apps with a row that day, sorted by app id). */
  records_by_app: Record<string, number>;
}

export interface MonthlyQuotaUsage {
  limit: number;
  used: number;
  /** limit − used, negative when over. */
  remaining: number;
  /** used / limit × 100, two decimals (null for a limit of 0). */
  percent_used: number | null;
}

export interface DailyQuotaUsage {
  limit: number;
  /** The day of W with the most records (the earliest on a tie), null without usage. */
  max_day: string | null;
  max_day_records: number;
  days_over: number;
}

export interface LicenseeSummary {
  licensee: string;
  name: string;
  term: { start: string; end: string };
  /** As in the agreement: absent = fully paid, null = never paid. */
  paid_through?: string | null;
  rate: { per_1000_records: number; currency: string } | null;
  quotas: { monthly_records: number | null; monthly_requests: number | null; daily_records: number | null };
  /** Month-to-date totals over the covered apps. */
  totals: Counts;
  quota_usage: {
    monthly_records: MonthlyQuotaUsage | null;
    monthly_requests: MonthlyQuotaUsage | null;
    daily_records: DailyQuotaUsage | null;
  };
  /** Every covered app, sorted by app id, with its month-to-date totals (zeros when unused). */
  apps: AppSummary[];
  /** Every day of W (zeros when unused). */
  days: DaySummary[];
  findings: Record<Severity, number>;
  /** Sum of the amounts owed of its unpaid_usage findings (null when none carries an amount). */
  amount_owed: { amount: number; currency: string } | null;
}

export interface ReportModel {
  report_date: string;
  window: { start: string; end: string };
  days: string[];
  licensees: LicenseeSummary[];
  /** Apps with usage in W that no agreement covers, sorted by app id. */
  unknown_apps: (AppSummary & { days: DaySummary[] })[];
  /** Union of the sources of every usage row of W, sorted. */
  sources: SourceRef[];
  summary: {
    findings: number;
    by_severity: Record<Severity, number>;
    /** Every rule, in name order, with its number of findings (0 included). */
    by_rule: Record<Rule, number>;
    /** Total owed per currency (sorted by currency). */
    amount_owed: Record<string, number>;
  };
}

function severityCounts(): Record<Severity, number> {
  const out = {} as Record<Severity, number>;
  for (const s of SEVERITIES) out[s] = 0;
  return out;
}

function appSummary(app_id: string, rows: Iterable<AuditUsageRow>): AppSummary {
  const c = emptyCounts();
  let active = 0;
  for (const r of rows) {
    addCounts(c, r);
    if (r.requests > 0 || r.records > 0) active++;
  }
  return { app_id, ...c, active_days: active };
}

function daySummaries(
  days: readonly string[],
  apps: readonly string[],
  byApp: Map<string, Map<string, AuditUsageRow>>,
) {
  return days.map((date): DaySummary => {
    const c = emptyCounts();
    const records_by_app: Record<string, number> = {};
    for (const app of apps) {
      const r = byApp.get(app)?.get(date);
      if (!r) continue;
      addCounts(c, r);
      records_by_app[app] = r.records;
    }
    return { date, ...c, records_by_app };
  });
}

function monthly(limit: number | undefined, used: number): MonthlyQuotaUsage | null {
  if (limit === undefined) return null;
  return {
    limit,
    used,
    remaining: used > limit ? -(used - limit) : limit - used,
    percent_used: percentOf(used, limit),
  };
}

export function buildModel(input: {
  reportDate: string;
  agreements: readonly Agreement[];
  usage: readonly AuditUsageRow[];
  findings: readonly Finding[];
}): ReportModel {
  const { window, days, byApp } = windowUsage(input.reportDate, input.usage);
  const covered = new Set<string>();
  const licensees: LicenseeSummary[] = [];
  for (const a of [...input.agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const appIds = [...new Set(a.apps.map((x) => x.id))].sort(compareStrings);
    for (const id of appIds) covered.add(id);
    const useCase = new Map(a.apps.map((x) => [x.id, x.use_case]));
    const apps = appIds.map((id) => ({
      ...appSummary(id, byApp.get(id)?.values() ?? []),
      use_case: useCase.get(id) ?? null,
    }));
    const totals = emptyCounts();
    for (const s of apps) addCounts(totals, s);
    const daySums = daySummaries(days, appIds, byApp);
    let daily: DailyQuotaUsage | null = null;
    if (a.quotas.daily_records !== undefined) {
      const limit = a.quotas.daily_records;
      let maxDay: string | null = null;
      let maxRecords = 0;
      let over = 0;
      for (const d of daySums) {
        if ((d.requests > 0 || d.records > 0) && (maxDay === null || d.records > maxRecords)) {
          maxDay = d.date;
          maxRecords = d.records;
        }
        if (d.records > limit) over++;
      }
      daily = { limit, max_day: maxDay, max_day_records: maxRecords, days_over: over };
    }
    const own = input.findings.filter((f) => f.licensee === a.licensee);
    const findings = severityCounts();
    for (const f of own) findings[f.severity]++;
    let owed: LicenseeSummary['amount_owed'] = null;
    for (const f of own) {
      if (f.amount_owed === null || f.currency === null) continue;
      const cents: bigint = toCents(f.amount_owed) + (owed ? toCents(owed.amount) : 0n);
      owed = { amount: centsToNumber(cents), currency: f.currency };
    }
    const summary: LicenseeSummary = {
      licensee: a.licensee,
      name: a.name,
      term: { start: a.term.start, end: a.term.end },
      rate: a.rate ? { per_1000_records: a.rate.per_1000_records, currency: a.rate.currency } : null,
      quotas: {
        monthly_records: a.quotas.monthly_records ?? null,
        monthly_requests: a.quotas.monthly_requests ?? null,
        daily_records: a.quotas.daily_records ?? null,
      },
      totals,
      quota_usage: {
        monthly_records: monthly(a.quotas.monthly_records, totals.records),
        monthly_requests: monthly(a.quotas.monthly_requests, totals.requests),
        daily_records: daily,
      },
      apps,
      days: daySums,
      findings,
      amount_owed: owed,
    };
    if (a.paid_through !== undefined) summary.paid_through = a.paid_through;
    licensees.push(summary);
  }

  const unknown_apps: ReportModel['unknown_apps'] = [];
  for (const app of [...byApp.keys()].sort(compareStrings)) {
    if (covered.has(app)) continue;
    const s = appSummary(app, byApp.get(app)?.values() ?? []);
    if (s.active_days === 0) continue;
    unknown_apps.push({ ...s, days: daySummaries(days, [app], byApp) });
  }

  const sourceMap = new Map<string, SourceRef>();
  for (const m of byApp.values())
    for (const r of m.values()) for (const s of r.sources) sourceMap.set(`${s.key}\u0000${s.gen}`, s);

  const by_severity = severityCounts();
  const by_rule = {} as Record<Rule, number>;
  for (const r of RULES) by_rule[r] = 0;
  const owedCents = new Map<string, bigint>();
  for (const f of input.findings) {
    by_severity[f.severity]++;
    by_rule[f.rule]++;
    if (f.amount_owed !== null && f.currency !== null) {
      owedCents.set(f.currency, (owedCents.get(f.currency) ?? 0n) + toCents(f.amount_owed));
    }
  }
  const amount_owed: Record<string, number> = {};
  for (const cur of [...owedCents.keys()].sort(compareStrings))
    amount_owed[cur] = centsToNumber(owedCents.get(cur) ?? 0n);

  return {
    report_date: input.reportDate,
    window,
    days,
    licensees,
    unknown_apps,
    sources: [...sourceMap.values()].sort(compareSources),
    summary: { findings: input.findings.length, by_severity, by_rule, amount_owed },
  };
}

/**
 * An app-day of the window whose usage holds an overflow entry: an object held more distinct
 * endpoints or organisations than the ingest bounds keep (UsageBounds), or the objects of that
 * app-day together did (boundDayUsage). The requests counted under the overflow entries. Totals
 * are exact; only the breakdown by those names is lost.
 */
export interface UsageOverflow {
  app_id: string;
  usage_date: string;
  /** Requests under `(other endpoints)`. */
  other_endpoints_requests: number;
  /** Requests under `(other organisations)`, over every recipient category. */
  other_organisations_requests: number;
  /**
   * Named endpoints that objects kept separately but that passed the bound once the app-day's
   * objects were summed, so were folded into `(other endpoints)`; only when there are any.
   */
  merged_endpoints?: number;
  /** The same for organisations (over every category); only when there are any. */
  merged_organisations?: number;
}

/** The window's app-days with an overflow entry, sorted by app then day; usually none. */
export function usageOverflow(reportDate: string, usage: readonly AuditUsageRow[]): UsageOverflow[] {
  const window = windowOf(reportDate);
  const out: UsageOverflow[] = [];
  // Sorted by app then day, summed and bounded exactly as the window's rows are (window.ts).
  for (const summed of sumDayUsage(usage.filter((r) => r.day >= window.start && r.day <= window.end))) {
    const { usage: r, merged } = boundDayUsage(summed);
    const endpoints = Object.hasOwn(r.endpoints, OTHER_ENDPOINTS)
      ? (r.endpoints[OTHER_ENDPOINTS]?.requests ?? 0)
      : 0;
    let orgs = 0;
    for (const c of Object.values(r.categories)) {
      if (Object.hasOwn(c.orgs, OTHER_ORGANISATIONS)) orgs += c.orgs[OTHER_ORGANISATIONS]?.requests ?? 0;
    }
    if (endpoints === 0 && orgs === 0 && merged.endpoints === 0 && merged.organisations === 0) continue;
    out.push({
      app_id: r.app,
      usage_date: r.day,
      other_endpoints_requests: endpoints,
      other_organisations_requests: orgs,
      ...(merged.endpoints > 0 ? { merged_endpoints: merged.endpoints } : {}),
      ...(merged.organisations > 0 ? { merged_organisations: merged.organisations } : {}),
    });
  }
  return out;
}
