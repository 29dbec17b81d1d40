/**
 * unpaid_usage (SPEC §4): usage on the days of W after paid_through (all of W when never paid;
 * nothing when the agreement is fully paid, i.e. has no paid_through).
 *
 * metric records, subject null, period max(W start, paid_through + 1) … D, observed the records on
 * those days. amount_owed = records / 1000 × rate rounded half away from zero to 0.01, computed on
 * exact integers; null (with currency null) when the agreement has no rate.
 *
 * Versioned terms: each day is unpaid or not, and valued at a rate, under the agreement in force on
 * that day. The period runs from the first to the last unpaid day of W. When the unpaid days had
 * different rates, the amount is the sum over the rates of records / 1000 × rate, each rounded to
 * 0.01; records of days whose terms have no rate are not valued (the detail says how many), and
 * when the rates are in different currencies there is no single amount (amount_owed and currency
 * null, the detail lists each).
 */

import { add } from '../../usage-math.ts';
import type { Agreement } from '../agreements.ts';
import { amountCents, centsToNumber, fmtCents, fmtInt } from '../format.ts';
import type { AuditRule, WindowRow } from '../types.ts';
import { appsOf, dayList, daysOf, evidenceOf, hasUsage, perAgreement, Tally } from './support.ts';

const SEVERITY = 'high';

/** Whether `day` is unpaid under `terms`. */
function unpaid(terms: Agreement | undefined, day: string): boolean {
  if (terms === undefined || terms.paid_through === undefined) return false;
  return terms.paid_through === null || day > terms.paid_through;
}

/** The unpaid records per rate (rate undefined: terms without a rate), in order of first use. */
function byRate(rows: readonly WindowRow[], on: (day: string) => Agreement | undefined) {
  const groups = new Map<string, { rate: Agreement['rate']; records: number }>();
  for (const r of rows) {
    const rate = on(r.day)?.rate;
    const k = rate ? `${rate.currency} ${rate.per_1000_records}` : '';
    const g = groups.get(k) ?? { rate, records: 0 };
    g.records = add(g.records, r.records);
    groups.set(k, g);
  }
  return [...groups.values()];
}

export const unpaidUsage = {
  name: 'unpaid_usage',
  severities: [SEVERITY],
  evaluate: perAgreement((_a, rows, { days, month }, on) => {
    const unpaidDays = days.filter((d) => unpaid(on(d), d));
    const from = unpaidDays[0];
    const to = unpaidDays.at(-1);
    if (from === undefined || to === undefined) return [];
    const t = new Tally();
    for (const r of rows) if (unpaid(on(r.day), r.day)) t.add(r, r.records);
    if (t.rows.length === 0) return [];
    const last = on(to) as Agreement;
    const paid = last.paid_through;
    const groups = byRate(t.rows, on);
    const priced = groups.filter((g) => g.rate !== undefined);
    const currencies = new Set(priced.map((g) => g.rate?.currency));
    const term = (g: (typeof groups)[number]) =>
      g.rate ? `${fmtInt(g.records)} records / 1000 × ${g.rate.currency} ${g.rate.per_1000_records}` : '';
    let cents: bigint | null = null;
    let currency: string | null = null;
    let value: string;
    const only = groups[0];
    if (groups.length === 1 && only) {
      // One rate (or none) over the unpaid days: the classic detail.
      cents = only.rate ? amountCents(t.total, only.rate.per_1000_records) : null;
      currency = only.rate ? only.rate.currency : null;
      value = only.rate
        ? `; ${term(only)} = ${only.rate.currency} ${fmtCents(cents as bigint)}`
        : '; the agreement has no rate';
    } else {
      const unvalued = groups.find((g) => g.rate === undefined);
      const note = unvalued
        ? ` (${fmtInt(unvalued.records)} records under terms without a rate not valued)`
        : '';
      if (currencies.size === 1) {
        cents = priced.reduce((sum, g) => sum + amountCents(g.records, g.rate?.per_1000_records ?? 0), 0n);
        currency = priced[0]?.rate?.currency ?? null;
        value = `; ${priced.map(term).join(' + ')} = ${currency} ${fmtCents(cents)}${note}`;
      } else value = `; ${priced.map(term).join(', ')} (several currencies: no single amount)${note}`;
    }
    const usedDays = daysOf(t.rows);
    const why = paid === null ? 'never paid' : `paid through ${paid}`;
    return [
      {
        licensee: last.licensee,
        severity: SEVERITY,
        metric: 'records',
        subject: null,
        period_start: from,
        period_end: to,
        observed: t.total,
        limit: null,
        excess: null,
        amount_owed: cents === null ? null : centsToNumber(cents),
        currency,
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
