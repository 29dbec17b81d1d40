/**
 * prohibited_recipient (SPEC §4): per prohibited category of the agreement, the requests of W
 * attributed to it, minus those of approved organisations (one finding per category).
 *
 * metric requests, subject the category, period W, observed the requests counted (the records
 * alongside are in the detail). Excused requests (those of approved organisations) are never
 * evidence: the evidence names only the log objects with requests in the category that are not
 * excused, each with that number of requests as its contribution.
 *
 * Excusing is decided per input row (one per log object), never on the window row: the window row
 * is held to the distinct-organisation bound across objects (window.ts), which may fold a rarely
 * seen approved organisation into `(other organisations)` and so stop excusing its requests. The
 * observed number is therefore the sum of the evidence's contributions.
 */
import { compareStrings, normaliseOrg, ownValue } from '../../support.ts';
import type { DayUsage } from '../../types.ts';
import { add } from '../../usage-math.ts';
import type { Agreement } from '../agreements.ts';
import { fmtInt } from '../format.ts';
import type { AuditRule, FindingDraft, WindowRow } from '../types.ts';
import { findingLines } from './evidence-lines.ts';
import { appsOf, evidenceOf, monthToDate, perAgreement, Tally } from './support.ts';

const SEVERITY = 'critical';

/** The requests and records of a row in a category that approved organisations do not excuse. */
function notExcused(
  r: DayUsage,
  cat: string,
  approved: ReadonlySet<string>,
): { requests: number; records: number; excused: number } | null {
  const c = ownValue(r.categories, cat);
  if (!c) return null;
  let requests = c.requests;
  let records = c.records;
  let excused = 0;
  for (const [org, oc] of Object.entries(c.orgs)) {
    if (!approved.has(normaliseOrg(org))) continue;
    requests -= oc.requests;
    records -= oc.records;
    excused = add(excused, oc.requests);
  }
  return { requests: Math.max(0, requests), records: Math.max(0, records), excused };
}

/** notExcused summed over the input rows behind a window row (the row itself when it has none). */
function notExcusedRow(
  r: WindowRow,
  cat: string,
  approved: ReadonlySet<string>,
): { requests: number; records: number; excused: number } | null {
  if (r.parts.length === 0) return notExcused(r, cat, approved);
  let sum: { requests: number; records: number; excused: number } | null = null;
  for (const p of r.parts) {
    const n = notExcused(p, cat, approved);
    if (!n) continue;
    sum = sum
      ? {
          requests: add(sum.requests, n.requests),
          records: add(sum.records, n.records),
          excused: add(sum.excused, n.excused),
        }
      : n;
  }
  return sum;
}

export const prohibitedRecipient = {
  name: 'prohibited_recipient',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx, on) => {
    const drafts: FindingDraft[] = [];
    // Organisations match as the registry matches them: case, compatibility forms and spacing aside.
    // Versioned terms: a day's requests count under the categories and organisations of its terms.
    const approvedSets = new Map<Agreement, ReadonlySet<string>>();
    const approvedOn = (day: string): ReadonlySet<string> => {
      const terms = on(day) ?? a;
      let set = approvedSets.get(terms);
      if (!set) {
        set = new Set(terms.approved_organisations.map(normaliseOrg));
        approvedSets.set(terms, set);
      }
      return set;
    };
    const prohibitedOn = (day: string, cat: string) => (on(day) ?? a).prohibited_recipients.includes(cat);
    const categories = new Set(rows.flatMap((r) => on(r.day)?.prohibited_recipients ?? []));
    for (const cat of [...categories].sort(compareStrings)) {
      const req = new Tally();
      let records = 0;
      let approvedRequests = 0;
      for (const r of rows) {
        if (!prohibitedOn(r.day, cat)) continue;
        const n = notExcusedRow(r, cat, approvedOn(r.day));
        if (!n) continue;
        approvedRequests = add(approvedRequests, n.excused);
        if (n.requests > 0 || n.records > 0) {
          req.add(r, n.requests);
          records = add(records, n.records);
        }
      }
      if (req.rows.length === 0) continue;
      const excused =
        approvedRequests > 0
          ? `; ${fmtInt(approvedRequests)} request(s) for approved organisations not counted`
          : '';
      drafts.push(
        monthToDate(ctx, {
          licensee: a.licensee,
          severity: SEVERITY,
          metric: 'requests',
          subject: cat,
          observed: req.total,
          apps: appsOf(req),
          detail: `${fmtInt(req.total)} request(s) (${fmtInt(records)} records) attributed to prohibited recipient category ${JSON.stringify(cat)}${excused}`,
          evidence: evidenceOf(req.rows, (p) => notExcused(p, cat, approvedOn(p.day))?.requests ?? 0),
          // Lines of approved organisations are excused requests: never evidence.
          lines: findingLines(req.rows, (ev, r) => {
            const approved = approvedOn(r.day);
            return Object.entries(ownValue(ev.categories, cat) ?? {})
              .filter(([org]) => org === '' || !approved.has(normaliseOrg(org)))
              .flatMap(([, l]) => l);
          }),
        }),
      );
    }
    return drafts;
  }),
} as const satisfies AuditRule;
