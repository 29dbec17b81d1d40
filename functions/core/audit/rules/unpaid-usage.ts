/**
 * unpaid_usage (SPEC §4): usage on the days of W after paid_through (all of W when never paid;
 * nothing when the agreement is fully paid, i.e. has no paid_through).
 *
 * metric records, subject null, period max(W start, paid_through + 1) … D, observed the records on
 * those days. amount_owed = records / 1000 × rate rounded half away from zero to 0.01, computed on
 * exact integers; null (with currency null) when the agreement has no rate.
 */
import { addDays, amountCents, centsToNumber, fmtCents, fmtInt } from '../format.ts';
import type { AuditRule } from '../types.ts';
import { appsOf, dayList, daysOf, evidenceOf, hasUsage, perAgreement, Tally } from './support.ts';

const SEVERITY = 'high';

export const unpaidUsage = {
  name: 'unpaid_usage',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, { window, month }) => {
    if (a.paid_through === undefined) return [];
    const paid = a.paid_through;
    const from = paid === null || paid < window.start ? window.start : addDays(paid, 1);
    if (from > window.end) return [];
    const t = new Tally();
    for (const r of rows) if (r.day >= from) t.add(r, r.records);
    if (t.rows.length === 0) return [];
    const cents = a.rate ? amountCents(t.total, a.rate.per_1000_records) : null;
    const usedDays = daysOf(t.rows);
    const why = paid === null ? 'never paid' : `paid through ${paid}`;
    const value = a.rate
      ? `; ${fmtInt(t.total)} records / 1000 × ${a.rate.currency} ${a.rate.per_1000_records} = ${a.rate.currency} ${fmtCents(cents as bigint)}`
      : '; the agreement has no rate';
    return [
      {
        licensee: a.licensee,
        severity: SEVERITY,
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
        evidence: evidenceOf(
          t.rows,
          (p) => p.records,
          (p) => (t.total > 0 ? p.records > 0 : hasUsage(p)),
        ),
        periodKey: month,
      },
    ];
  }),
} as const satisfies AuditRule;
