/**
 * quota_exceeded (SPEC §4): a quota fires only when observed > limit (exactly at the limit does
 * not); severity is high when the excess is more than 10% of the limit (exactly 10% is medium).
 *
 * | metric           | subject | period                             | observed                        |
 * |------------------|---------|------------------------------------|---------------------------------|
 * | monthly_records  | null    | W                                  | records over W, covered apps    |
 * | monthly_requests | null    | W                                  | requests over W                 |
 * | daily_records    | null    | the day (one finding per day over) | records that day                |
 *
 * Versioned terms: the monthly quotas are those of the agreement in force on D (the month's terms as
 * they stand on the report date); the daily quota of each day is that of the agreement in force on
 * that day.
 */
import { fmtInt, fmtPercent } from '../format.ts';
import type { AuditRule, FindingDraft } from '../types.ts';
import { appsOf, evidenceOf, monthToDate, perAgreement, severityOfExcess, span, Tally } from './support.ts';

export const quotaExceeded = {
  name: 'quota_exceeded',
  severities: ['high', 'medium'],
  evaluate: perAgreement((a, rows, ctx, on) => {
    const { window, days } = ctx;
    const drafts: FindingDraft[] = [];

    // Monthly records / requests over W.
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
      drafts.push(
        monthToDate(ctx, {
          licensee: a.licensee,
          severity: severityOfExcess(excess, limit),
          metric,
          subject: null,
          observed: t.total,
          limit,
          excess,
          apps: appsOf(t),
          detail: `${field} ${span(window.start, window.end)}: ${fmtInt(t.total)} > ${metric.replace('_', ' ')} quota ${fmtInt(limit)} (excess ${fmtInt(excess)} = ${fmtPercent(excess, limit)}% of the quota)`,
          evidence: evidenceOf(t.rows, (p) => p[field]),
        }),
      );
    }
    for (const day of days) {
      const daily = on(day)?.quotas.daily_records;
      if (daily === undefined) continue;
      const t = new Tally();
      for (const r of rows) if (r.day === day) t.add(r, r.records);
      if (t.total <= daily) continue;
      const excess = t.total - daily;
      drafts.push({
        licensee: a.licensee,
        severity: severityOfExcess(excess, daily),
        metric: 'daily_records',
        subject: null,
        period_start: day,
        period_end: day,
        observed: t.total,
        limit: daily,
        excess,
        amount_owed: null,
        currency: null,
        apps: appsOf(t),
        detail: `records on ${day}: ${fmtInt(t.total)} > daily records quota ${fmtInt(daily)} (excess ${fmtInt(excess)} = ${fmtPercent(excess, daily)}% of the quota)`,
        evidence: evidenceOf(t.rows, (p) => p.records),
        periodKey: day,
      });
    }
    return drafts;
  }),
} as const satisfies AuditRule;
