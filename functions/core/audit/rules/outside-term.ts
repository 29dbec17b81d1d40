/**
 * outside_term (SPEC §4): usage on the days of W before term.start or after term.end. Every
 * agreement is evaluated whatever its term (one whose term ended before W still gets outside_term
 * for usage in W).
 *
 * metric records, subject null, period the first … last day of W outside the term, observed the
 * records on those days.
 */
import { fmtInt } from '../format.ts';
import type { AuditRule } from '../types.ts';
import { appsOf, dayList, daysOf, evidenceOf, hasUsage, perAgreement, Tally } from './support.ts';

const SEVERITY = 'high';

export const outsideTerm = {
  name: 'outside_term',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, { days, month }, on) => {
    // Versioned terms: each day is inside or outside the term of the agreement in force that day.
    const termOn = (d: string) => (on(d) ?? a).term;
    const outsideDays = days.filter((d) => on(d) !== undefined && (d < termOn(d).start || d > termOn(d).end));
    if (outsideDays.length === 0) return [];
    const outside = new Set(outsideDays);
    const t = new Tally();
    for (const r of rows) if (outside.has(r.day)) t.add(r, r.records);
    if (t.rows.length === 0) return [];
    const usedDays = daysOf(t.rows);
    return [
      {
        licensee: a.licensee,
        severity: SEVERITY,
        metric: 'records',
        subject: null,
        period_start: outsideDays[0] as string,
        period_end: outsideDays[outsideDays.length - 1] as string,
        observed: t.total,
        limit: null,
        excess: null,
        amount_owed: null,
        currency: null,
        apps: appsOf(t),
        detail: `usage outside the term ${[...new Set(usedDays.map((d) => `${termOn(d).start}..${termOn(d).end}`))].join(' / ')} on ${usedDays.length} day(s) (${dayList(usedDays)}): ${fmtInt(t.total)} records`,
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
