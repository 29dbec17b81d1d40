/**
 * prohibited_recipient (SPEC §4): per prohibited category of the agreement, the requests of W
 * attributed to it, minus those of approved organisations (one finding per category).
 *
 * metric requests, subject the category, period W, observed the requests counted (the records
 * alongside are in the detail).
 */
import { compareStrings, ownValue } from '../../support.ts';
import { add } from '../../usage-math.ts';
import { fmtInt } from '../format.ts';
import type { AuditRule, FindingDraft } from '../types.ts';
import { appsOf, evidenceOf, monthToDate, perAgreement, Tally } from './support.ts';

const SEVERITY = 'critical';

export const prohibitedRecipient = {
  name: 'prohibited_recipient',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx) => {
    const drafts: FindingDraft[] = [];
    const approved = new Set(a.approved_organisations);
    for (const cat of [...a.prohibited_recipients].sort(compareStrings)) {
      const req = new Tally();
      let records = 0;
      let approvedRequests = 0;
      for (const r of rows) {
        const c = ownValue(r.categories, cat);
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
      drafts.push(
        monthToDate(ctx, {
          licensee: a.licensee,
          severity: SEVERITY,
          metric: 'requests',
          subject: cat,
          observed: req.total,
          apps: appsOf(req),
          detail: `${fmtInt(req.total)} request(s) (${fmtInt(records)} records) attributed to prohibited recipient category ${JSON.stringify(cat)}${excused}`,
          evidence: evidenceOf(req.rows, (p) => (ownValue(p.categories, cat)?.requests ?? 0) > 0),
        }),
      );
    }
    return drafts;
  }),
} as const satisfies AuditRule;
