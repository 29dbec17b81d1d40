/**
 * Two extensions of SPEC §4 (not in its table; registry.test.ts lists them), for each monthly quota
 * (monthly_records, monthly_requests) of an agreement with usage in W. Both are severity low and
 * never critical; both take usage as quota_exceeded does (every covered app, every day of W).
 *
 * quota_forecast: the month-end projection of ../forecast.ts
 *     projected = used + round(usage of the last k days × remaining days / k), k = min(7, days of W)
 *   fires when projected > quota while used ≤ quota (once used > quota, quota_exceeded covers it).
 *   metric the quota's, subject null, period the whole month (first day … last day: what the
 *   projection covers), observed the projection, limit the quota, excess projected − quota,
 *   amount_owed and currency null; apps and evidence those of the usage to date. The detail gives
 *   the method and its figures. Period key the month: one finding id per month.
 *
 * quota_threshold: for 80% and 100% of the quota, present on every report date D whose usage to
 *   date is positive and at least that share of the quota (used × 100 ≥ p × quota); subject "80%"
 *   or "100%", period_start the crossing day C = the first day of W on which the usage to date
 *   reached that share (so it depends on the usage alone), period_end D, observed the usage to
 *   date, limit the quota, excess null. Period key the month: the same finding id night after
 *   night, with the same period_start while the usage of the days up to C stays the same.
 */
import { add } from '../../usage-math.ts';
import type { Agreement } from '../agreements.ts';
import { projectMonthEnd } from '../forecast.ts';
import { fmtInt } from '../format.ts';
import type { AuditRule, FindingDraft, RuleContext } from '../types.ts';
import { appsOf, evidenceOf, monthToDate, perAgreement, span, Tally } from './support.ts';

const SEVERITY = 'low';

/** The share of a quota, in percent, that a quota_threshold finding reports crossing. */
export const QUOTA_THRESHOLDS = [80, 100] as const;

const MONTHLY = [
  ['monthly_records', 'records'],
  ['monthly_requests', 'requests'],
] as const;

/** One monthly quota of an agreement with its usage to date: tallied per app, and per day of W. */
interface MonthlyQuota {
  metric: (typeof MONTHLY)[number][0];
  field: (typeof MONTHLY)[number][1];
  limit: number;
  t: Tally;
  daily: number[];
}

/** A rule evaluated per monthly quota of each agreement (those it sets) with its usage to date. */
function perMonthlyQuota(
  each: (a: Agreement, q: MonthlyQuota, ctx: RuleContext) => FindingDraft[],
): (ctx: RuleContext) => FindingDraft[] {
  return perAgreement((a, rows, ctx) =>
    MONTHLY.flatMap(([metric, field]) => {
      const limit = a.quotas[metric];
      if (limit === undefined) return [];
      const t = new Tally();
      const perDay = new Map<string, number>();
      for (const r of rows) {
        t.add(r, r[field]);
        perDay.set(r.day, add(perDay.get(r.day) ?? 0, r[field]));
      }
      const daily = ctx.days.map((d) => perDay.get(d) ?? 0);
      return each(a, { metric, field, limit, t, daily }, ctx);
    }),
  );
}

/** The first day of W on which usage to date is positive and at least `percent`% of `limit`. */
function crossingDay(
  days: readonly string[],
  daily: readonly number[],
  percent: number,
  limit: number,
): { day: string; usedBy: number } | null {
  let cum = 0;
  for (const [i, v] of daily.entries()) {
    cum = add(cum, v);
    if (cum > 0 && BigInt(cum) * 100n >= BigInt(percent) * BigInt(limit))
      return { day: days[i] as string, usedBy: cum };
  }
  return null;
}

export const quotaForecast = {
  name: 'quota_forecast',
  severities: [SEVERITY],
  evaluate: perMonthlyQuota((a, { metric, field, limit, t, daily }, ctx) => {
    const p = projectMonthEnd(ctx.reportDate, daily);
    if (p.used > limit || p.projected <= limit) return [];
    const excess = p.projected - limit;
    return [
      {
        ...monthToDate(ctx, {
          licensee: a.licensee,
          severity: SEVERITY,
          metric,
          subject: null,
          observed: p.projected,
          limit,
          excess,
          apps: appsOf(t),
          detail:
            `${field} projected for ${span(ctx.window.start, p.monthEnd)}: ${fmtInt(p.projected)} > ${metric.replace('_', ' ')} quota ${fmtInt(limit)} (over by ${fmtInt(excess)}); ` +
            `${fmtInt(p.used)} to date (${span(ctx.window.start, ctx.reportDate)}) + ${fmtInt(p.averagedSum)} / ${p.averagedDays} per day ` +
            `(the average of ${span(p.averagedFrom, ctx.reportDate)}) × ${p.remaining} remaining day(s), rounded`,
          evidence: evidenceOf(t.rows, (x) => x[field]),
        }),
        period_end: p.monthEnd,
      },
    ];
  }),
} as const satisfies AuditRule;

export const quotaThreshold = {
  name: 'quota_threshold',
  severities: [SEVERITY],
  evaluate: perMonthlyQuota((a, { metric, field, limit, t, daily }, ctx) =>
    QUOTA_THRESHOLDS.flatMap((percent) => {
      const crossed = crossingDay(ctx.days, daily, percent, limit);
      if (crossed === null) return [];
      return [
        {
          ...monthToDate(ctx, {
            licensee: a.licensee,
            severity: SEVERITY,
            metric,
            subject: `${percent}%`,
            observed: t.total,
            limit,
            apps: appsOf(t),
            detail: `${field} to date (${span(ctx.window.start, ctx.reportDate)}): ${fmtInt(t.total)}, at least ${percent}% of the ${metric.replace('_', ' ')} quota ${fmtInt(limit)}; crossed on ${crossed.day} (${fmtInt(crossed.usedBy)} by then)`,
            evidence: evidenceOf(t.rows, (x) => x[field]),
          }),
          period_start: crossed.day,
        },
      ];
    }),
  ),
} as const satisfies AuditRule;
