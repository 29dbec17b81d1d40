/**
 * The audit rules of SPEC §4 as a pure function: agreements and month-to-date usage in, findings
 * out, deterministically (no clock, no I/O).
 *
 * Window: W = the first day of the report date D's month … D. Usage rows outside W are ignored;
 * rows of the same app and day are summed (exact integers, usage-math.ts). "Usage" on a day means
 * at least one request (or record) of the app on that day. Every agreement is evaluated, whatever
 * its term (an agreement whose term ended before W still gets outside_term for usage in W). An app
 * covered by two agreements (possible only across separate loads) counts for both.
 *
 * Rules, metrics and subjects (`subject` names what a finding is about besides its licensee):
 *
 * | rule                  | metric           | subject   | period                                 | observed |
 * |-----------------------|------------------|-----------|----------------------------------------|----------|
 * | quota_exceeded        | monthly_records  | null      | W                                      | records over W, covered apps |
 * | quota_exceeded        | monthly_requests | null      | W                                      | requests over W |
 * | quota_exceeded        | daily_records    | null      | the day (one finding per day over)     | records that day |
 * | unpaid_usage          | records          | null      | max(W start, paid_through + 1) … D     | records on those days |
 * | prohibited_recipient  | requests         | category  | W                                      | requests attributed, minus approved orgs |
 * | undeclared_use_case   | requests         | app id    | W                                      | requests of the app |
 * | unauthorized_endpoint | requests         | endpoint  | W                                      | requests to the endpoint |
 * | outside_term          | records          | null      | first … last day of W outside the term | records on those days |
 * | unknown_app           | requests         | app id    | W (licensee null)                      | requests of the app |
 *
 * A quota fires only when observed > limit (exactly at the limit does not); severity is high when
 * the excess is more than 10% of the limit (exactly 10% is medium). unpaid_usage: amount_owed =
 * records / 1000 × rate rounded half away from zero to 0.01, computed on exact integers; null (with
 * currency null) when the agreement has no rate.
 *
 * finding_id: the first 20 hex digits of sha256 over (licensee, rule, metric, subject, period key),
 * where the period key is the MONTH (YYYY-MM) for every month-to-date finding and the DAY
 * (YYYY-MM-DD) for a daily quota finding. So a month-to-date finding keeps its id night after night
 * while its period_end (= D) grows, and a new month starts new findings.
 *
 * apps: each app behind the observed number, its value and share (value / observed, rounded half up
 * to 4 decimals), sorted by value descending then app id; apps contributing 0 are left out unless
 * the observed value itself is 0. evidence: the sources (key + gen) of every usage row behind the
 * finding (the rows of its apps and days that contribute), sorted by key then gen, deduplicated.
 *
 * Findings are sorted by licensee (unknown apps, licensee null, last), rule, metric, subject, period.
 */
import type { DayUsage, SourceRef } from '../types.ts';
import { add, sumDayUsage } from '../usage-math.ts';
import type { Agreement } from './agreements.ts';
import {
  addDays,
  amountCents,
  centsToNumber,
  compareStrings,
  daysFrom,
  fmtCents,
  fmtInt,
  fmtPercent,
  ratio,
  sha256Hex,
  windowOf,
} from './format.ts';

/** Usage of one app on one day with the log objects behind it (adapters' UsageRow is compatible). */
export interface AuditUsageRow extends DayUsage {
  sources: SourceRef[];
}

export interface AuditInput {
  /** Report date D, YYYY-MM-DD. */
  reportDate: string;
  agreements: Agreement[];
  /** Usage of every app (covered or not) per day; at least the days of W (others are ignored). */
  usage: AuditUsageRow[];
}

export const RULES = [
  'outside_term',
  'prohibited_recipient',
  'quota_exceeded',
  'unauthorized_endpoint',
  'undeclared_use_case',
  'unknown_app',
  'unpaid_usage',
] as const;
export type Rule = (typeof RULES)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type Metric = 'monthly_records' | 'monthly_requests' | 'daily_records' | 'records' | 'requests';

export interface FindingApp {
  app_id: string;
  value: number;
  share: number;
}

export interface Finding {
  report_date: string;
  finding_id: string;
  licensee: string | null;
  rule: Rule;
  severity: Severity;
  metric: Metric;
  /** What the finding is about besides its licensee: a category, an app id, an endpoint, or null. */
  subject: string | null;
  period_start: string;
  period_end: string;
  observed: number;
  limit: number | null;
  excess: number | null;
  amount_owed: number | null;
  currency: string | null;
  apps: FindingApp[];
  detail: string;
  evidence: { sources: SourceRef[] };
}

/** The identity of a finding across nights (see the module comment). */
export function findingId(parts: {
  licensee: string | null;
  rule: Rule;
  metric: Metric;
  subject: string | null;
  periodKey: string;
}): string {
  const text = JSON.stringify([
    'usage-auditor/finding/v1',
    parts.licensee,
    parts.rule,
    parts.metric,
    parts.subject,
    parts.periodKey,
  ]);
  return sha256Hex(text).slice(0, 20);
}

// ---------------------------------------------------------------------------------------------

/** Rows of W summed per app and day, with merged sources. */
export interface WindowUsage {
  window: { start: string; end: string };
  days: string[];
  /** app → day → row; only (app, day) pairs with a row. */
  byApp: Map<string, Map<string, AuditUsageRow>>;
}

export function windowUsage(reportDate: string, usage: readonly AuditUsageRow[]): WindowUsage {
  const window = windowOf(reportDate);
  const inW = usage.filter((r) => r.day >= window.start && r.day <= window.end);
  const sources = new Map<string, Map<string, SourceRef>>();
  for (const r of inW) {
    const k = `${r.app}\u0000${r.day}`;
    let m = sources.get(k);
    if (!m) {
      m = new Map();
      sources.set(k, m);
    }
    for (const s of r.sources ?? []) m.set(`${s.key}\u0000${s.gen}`, { key: s.key, gen: s.gen });
  }
  const parts = new Map<string, AuditUsageRow[]>();
  for (const r of inW) {
    const k = `${r.app}\u0000${r.day}`;
    const list = parts.get(k) ?? [];
    parts.set(k, list);
    list.push(r);
  }
  const byApp = new Map<string, Map<string, AuditUsageRow>>();
  for (const u of sumDayUsage(inW)) {
    const srcs = [...(sources.get(`${u.app}\u0000${u.day}`)?.values() ?? [])].sort(compareSources);
    let days = byApp.get(u.app);
    if (!days) {
      days = new Map();
      byApp.set(u.app, days);
    }
    const row = { ...u, sources: srcs };
    partsOf.set(row, parts.get(`${u.app}\u0000${u.day}`) ?? [row]);
    days.set(u.day, row);
  }
  return { window, days: daysFrom(window.start, window.end), byApp };
}

export function compareSources(a: SourceRef, b: SourceRef): number {
  return compareStrings(a.key, b.key) || compareStrings(a.gen, b.gen);
}

function hasUsage(r: DayUsage): boolean {
  return r.requests > 0 || r.records > 0;
}

/** Accumulates a number per app and the rows behind it. */
class Tally {
  readonly perApp = new Map<string, number>();
  readonly rows: AuditUsageRow[] = [];
  total = 0;
  add(row: AuditUsageRow, value: number): void {
    this.perApp.set(row.app, add(this.perApp.get(row.app) ?? 0, value));
    this.total = add(this.total, value);
    this.rows.push(row);
  }
}

function appsOf(t: Tally): FindingApp[] {
  const entries = [...t.perApp].filter(([, v]) => v > 0 || t.total === 0);
  return entries
    .map(([app_id, value]) => ({ app_id, value, share: ratio(value, t.total, 4) }))
    .sort((a, b) => b.value - a.value || compareStrings(a.app_id, b.app_id));
}

/**
 * The input rows (one per log object when the caller gives them so) behind each summed row of
 * windowUsage: evidence names only the objects that contributed to the number in question.
 */
const partsOf = new WeakMap<AuditUsageRow, AuditUsageRow[]>();

function evidenceOf(
  rows: readonly AuditUsageRow[],
  contributed: (part: AuditUsageRow) => boolean,
): { sources: SourceRef[] } {
  const m = new Map<string, SourceRef>();
  for (const r of rows) {
    for (const part of partsOf.get(r) ?? [r]) {
      if (!contributed(part)) continue;
      for (const s of part.sources) m.set(`${s.key}\u0000${s.gen}`, s);
    }
  }
  return { sources: [...m.values()].sort(compareSources) };
}

const own = <T>(rec: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;

function severityOfExcess(excess: number, limit: number): Severity {
  return BigInt(excess) * 10n > BigInt(limit) ? 'high' : 'medium';
}

function span(start: string, end: string): string {
  return start === end ? start : `${start}..${end}`;
}

/** Compact list of days: runs of consecutive days as ranges. */
function dayList(days: readonly string[]): string {
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

interface Draft extends Omit<Finding, 'report_date' | 'finding_id'> {
  periodKey: string;
}

/** Evaluates every rule of SPEC §4 for report date D (see the module comment for the semantics). */
export function audit(input: AuditInput): Finding[] {
  const wu = windowUsage(input.reportDate, input.usage);
  const { window, days, byApp } = wu;
  const month = input.reportDate.slice(0, 7);
  const drafts: Draft[] = [];

  const rowsOf = (apps: readonly string[], dayFilter?: (d: string) => boolean): AuditUsageRow[] => {
    const out: AuditUsageRow[] = [];
    for (const app of apps) {
      for (const row of byApp.get(app)?.values() ?? []) if (!dayFilter || dayFilter(row.day)) out.push(row);
    }
    return out;
  };

  const covered = new Set<string>();
  for (const a of [...input.agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const appIds = [...new Set(a.apps.map((x) => x.id))];
    for (const id of appIds) covered.add(id);
    const rows = rowsOf(appIds).filter(hasUsage);
    if (rows.length === 0) continue;
    const base = { licensee: a.licensee, amount_owed: null, currency: null };

    // quota_exceeded: monthly records / requests over W.
    for (const [metric, field] of [
      ['monthly_records', 'records'],
      ['monthly_requests', 'requests'],
    ] as const) {
      const limit = a.quotas[metric];
      if (limit === undefined) continue;
      const t = new Tally();
      for (const r of rows) t.add(r, r[field]);
      if (t.total <= limit) continue;
      const excess = t.total - limit;
      drafts.push({
        ...base,
        rule: 'quota_exceeded',
        severity: severityOfExcess(excess, limit),
        metric,
        subject: null,
        period_start: window.start,
        period_end: window.end,
        observed: t.total,
        limit,
        excess,
        apps: appsOf(t),
        detail: `${field} ${span(window.start, window.end)}: ${fmtInt(t.total)} > ${metric.replace('_', ' ')} quota ${fmtInt(limit)} (excess ${fmtInt(excess)} = ${fmtPercent(excess, limit)}% of the quota)`,
        evidence: evidenceOf(t.rows, (p) => p[field] > 0),
        periodKey: month,
      });
    }

    // quota_exceeded: daily records, one finding per day over the quota.
    const daily = a.quotas.daily_records;
    if (daily !== undefined) {
      for (const day of days) {
        const t = new Tally();
        for (const r of rows) if (r.day === day) t.add(r, r.records);
        if (t.total <= daily) continue;
        const excess = t.total - daily;
        drafts.push({
          ...base,
          rule: 'quota_exceeded',
          severity: severityOfExcess(excess, daily),
          metric: 'daily_records',
          subject: null,
          period_start: day,
          period_end: day,
          observed: t.total,
          limit: daily,
          excess,
          apps: appsOf(t),
          detail: `records on ${day}: ${fmtInt(t.total)} > daily records quota ${fmtInt(daily)} (excess ${fmtInt(excess)} = ${fmtPercent(excess, daily)}% of the quota)`,
          evidence: evidenceOf(t.rows, (p) => p.records > 0),
          periodKey: day,
        });
      }
    }

    // unpaid_usage: usage on days of W after paid_through (all of W when never paid).
    if (a.paid_through !== undefined) {
      const paid = a.paid_through;
      const from = paid === null || paid < window.start ? window.start : addDays(paid, 1);
      if (from <= window.end) {
        const t = new Tally();
        for (const r of rows) if (r.day >= from) t.add(r, r.records);
        if (t.rows.length > 0) {
          const cents = a.rate ? amountCents(t.total, a.rate.per_1000_records) : null;
          const usedDays = [...new Set(t.rows.map((r) => r.day))].sort();
          const why = paid === null ? 'never paid' : `paid through ${paid}`;
          const value = a.rate
            ? `; ${fmtInt(t.total)} records / 1000 × ${a.rate.currency} ${a.rate.per_1000_records} = ${a.rate.currency} ${fmtCents(cents as bigint)}`
            : '; the agreement has no rate';
          drafts.push({
            licensee: a.licensee,
            rule: 'unpaid_usage',
            severity: 'high',
            metric: 'records',
            subject: null,
            period_start: from,
            period_end: window.end,
            observed: t.total,
            limit: null,
            excess: null,
            amount_owed: cents === null ? null : centsToNumber(cents),
            currency: a.rate ? a.rate.currency : null,
            apps: appsOf(t),
            detail: `${why}: usage on ${usedDays.length} unpaid day(s) (${dayList(usedDays)}), ${fmtInt(t.total)} records${value}`,
            evidence: evidenceOf(t.rows, (p) => (t.total > 0 ? p.records > 0 : hasUsage(p))),
            periodKey: month,
          });
        }
      }
    }

    // prohibited_recipient: per prohibited category, requests minus approved organisations.
    const approved = new Set(a.approved_organisations);
    for (const cat of [...a.prohibited_recipients].sort(compareStrings)) {
      const req = new Tally();
      let records = 0;
      let approvedRequests = 0;
      for (const r of rows) {
        const c = Object.hasOwn(r.categories, cat) ? r.categories[cat] : undefined;
        if (!c) continue;
        let rq = c.requests;
        let rc = c.records;
        for (const [org, oc] of Object.entries(c.orgs)) {
          if (!approved.has(org)) continue;
          rq -= oc.requests;
          rc -= oc.records;
          approvedRequests = add(approvedRequests, oc.requests);
        }
        rq = Math.max(0, rq);
        rc = Math.max(0, rc);
        if (rq > 0 || rc > 0) {
          req.add(r, rq);
          records = add(records, rc);
        }
      }
      if (req.rows.length === 0) continue;
      const excused =
        approvedRequests > 0
          ? `; ${fmtInt(approvedRequests)} request(s) for approved organisations not counted`
          : '';
      drafts.push({
        ...base,
        rule: 'prohibited_recipient',
        severity: 'critical',
        metric: 'requests',
        subject: cat,
        period_start: window.start,
        period_end: window.end,
        observed: req.total,
        limit: null,
        excess: null,
        apps: appsOf(req),
        detail: `${fmtInt(req.total)} request(s) (${fmtInt(records)} records) attributed to prohibited recipient category ${JSON.stringify(cat)}${excused}`,
        evidence: evidenceOf(req.rows, (p) => (own(p.categories, cat)?.requests ?? 0) > 0),
        periodKey: month,
      });
    }

    // undeclared_use_case: per covered app used in W without a declared use case.
    for (const app of [...a.apps].sort((x, y) => compareStrings(x.id, y.id))) {
      if (app.use_case !== null) continue;
      const t = new Tally();
      let records = 0;
      for (const r of rows) {
        if (r.app !== app.id) continue;
        t.add(r, r.requests);
        records = add(records, r.records);
      }
      if (t.rows.length === 0) continue;
      drafts.push({
        ...base,
        rule: 'undeclared_use_case',
        severity: 'medium',
        metric: 'requests',
        subject: app.id,
        period_start: window.start,
        period_end: window.end,
        observed: t.total,
        limit: null,
        excess: null,
        apps: appsOf(t),
        detail: `app ${JSON.stringify(app.id)} used without a declared use case: ${fmtInt(t.total)} request(s), ${fmtInt(records)} records`,
        evidence: evidenceOf(t.rows, (p) => p.requests > 0),
        periodKey: month,
      });
    }

    // unauthorized_endpoint: per endpoint outside `endpoints` (when the agreement lists them).
    if (a.endpoints !== undefined) {
      const allowed = new Set(a.endpoints);
      const perEndpoint = new Map<string, Tally>();
      for (const r of rows) {
        for (const [ep, c] of Object.entries(r.endpoints)) {
          if (allowed.has(ep) || c.requests <= 0) continue;
          let t = perEndpoint.get(ep);
          if (!t) {
            t = new Tally();
            perEndpoint.set(ep, t);
          }
          t.add(r, c.requests);
        }
      }
      for (const ep of [...perEndpoint.keys()].sort(compareStrings)) {
        const t = perEndpoint.get(ep) as Tally;
        drafts.push({
          ...base,
          rule: 'unauthorized_endpoint',
          severity: 'medium',
          metric: 'requests',
          subject: ep,
          period_start: window.start,
          period_end: window.end,
          observed: t.total,
          limit: null,
          excess: null,
          apps: appsOf(t),
          detail: `${fmtInt(t.total)} request(s) to endpoint ${JSON.stringify(ep)}, which is not among the ${a.endpoints.length} allowed endpoint(s)`,
          evidence: evidenceOf(t.rows, (p) => (own(p.endpoints, ep)?.requests ?? 0) > 0),
          periodKey: month,
        });
      }
    }

    // outside_term: usage on days of W before term.start or after term.end.
    const outsideDays = days.filter((d) => d < a.term.start || d > a.term.end);
    if (outsideDays.length > 0) {
      const outside = new Set(outsideDays);
      const t = new Tally();
      for (const r of rows) if (outside.has(r.day)) t.add(r, r.records);
      if (t.rows.length > 0) {
        const usedDays = [...new Set(t.rows.map((r) => r.day))].sort();
        drafts.push({
          ...base,
          rule: 'outside_term',
          severity: 'high',
          metric: 'records',
          subject: null,
          period_start: outsideDays[0] as string,
          period_end: outsideDays[outsideDays.length - 1] as string,
          observed: t.total,
          limit: null,
          excess: null,
          apps: appsOf(t),
          detail: `usage outside the term ${a.term.start}..${a.term.end} on ${usedDays.length} day(s) (${dayList(usedDays)}): ${fmtInt(t.total)} records`,
          evidence: evidenceOf(t.rows, (p) => (t.total > 0 ? p.records > 0 : hasUsage(p))),
          periodKey: month,
        });
      }
    }
  }

  // unknown_app: apps used in W that no agreement covers.
  for (const app of [...byApp.keys()].sort(compareStrings)) {
    if (covered.has(app)) continue;
    const t = new Tally();
    let records = 0;
    for (const r of byApp.get(app)?.values() ?? []) {
      if (!hasUsage(r)) continue;
      t.add(r, r.requests);
      records = add(records, r.records);
    }
    if (t.rows.length === 0) continue;
    drafts.push({
      licensee: null,
      rule: 'unknown_app',
      severity: 'low',
      metric: 'requests',
      subject: app,
      period_start: window.start,
      period_end: window.end,
      observed: t.total,
      limit: null,
      excess: null,
      amount_owed: null,
      currency: null,
      apps: appsOf(t),
      detail: `app ${JSON.stringify(app)} is covered by no agreement: ${fmtInt(t.total)} request(s), ${fmtInt(records)} records`,
      evidence: evidenceOf(t.rows, (p) => p.requests > 0),
      periodKey: month,
    });
  }

  return drafts.sort(compareDrafts).map(({ periodKey, ...d }) => ({
    report_date: input.reportDate,
    finding_id: findingId({
      licensee: d.licensee,
      rule: d.rule,
      metric: d.metric,
      subject: d.subject,
      periodKey,
    }),
    licensee: d.licensee,
    rule: d.rule,
    severity: d.severity,
    metric: d.metric,
    subject: d.subject,
    period_start: d.period_start,
    period_end: d.period_end,
    observed: d.observed,
    limit: d.limit,
    excess: d.excess,
    amount_owed: d.amount_owed,
    currency: d.currency,
    apps: d.apps,
    detail: d.detail,
    evidence: d.evidence,
  }));
}

/** The deterministic order of findings: licensee (null last), rule, metric, subject, period. */
export function compareFindings(
  a: Pick<Finding, 'licensee' | 'rule' | 'metric' | 'subject' | 'period_start' | 'period_end'>,
  b: Pick<Finding, 'licensee' | 'rule' | 'metric' | 'subject' | 'period_start' | 'period_end'>,
): number {
  if (a.licensee !== b.licensee) {
    if (a.licensee === null) return 1;
    if (b.licensee === null) return -1;
    return compareStrings(a.licensee, b.licensee);
  }
  return (
    compareStrings(a.rule, b.rule) ||
    compareStrings(a.metric, b.metric) ||
    compareStrings(a.subject ?? '', b.subject ?? '') ||
    compareStrings(a.period_start, b.period_start) ||
    compareStrings(a.period_end, b.period_end)
  );
}

const compareDrafts = (a: Draft, b: Draft): number => compareFindings(a, b);
