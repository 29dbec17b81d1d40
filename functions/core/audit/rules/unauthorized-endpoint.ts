/**
 * unauthorized_endpoint (SPEC §4): requests in W to each endpoint outside the agreement's
 * `endpoints` (one finding per endpoint; nothing when the agreement lists no endpoints, i.e. all
 * are allowed).
 *
 * metric requests, subject the endpoint, period W, observed the requests to the endpoint.
 */

import { OTHER_ENDPOINTS } from '../../reader/limits.ts';
import { compareStrings, ownValue } from '../../support.ts';
import { fmtInt } from '../format.ts';
import type { AuditRule } from '../types.ts';
import { appsOf, evidenceOf, monthToDate, perAgreement, Tally } from './support.ts';

const SEVERITY = 'medium';

export const unauthorizedEndpoint = {
  name: 'unauthorized_endpoint',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx) => {
    const listed = a.endpoints;
    if (listed === undefined) return [];
    const allowed = new Set(listed);
    const perEndpoint = new Map<string, Tally>();
    for (const r of rows) {
      for (const [ep, c] of Object.entries(r.endpoints)) {
        // The overflow entry is not an endpoint: which endpoints it holds is unknown, so it is shown
        // under data quality (usage_overflow), never as a finding.
        if (allowed.has(ep) || c.requests <= 0 || ep === OTHER_ENDPOINTS) continue;
        let t = perEndpoint.get(ep);
        if (!t) {
          t = new Tally();
          perEndpoint.set(ep, t);
        }
        t.add(r, c.requests);
      }
    }
    return [...perEndpoint.keys()].sort(compareStrings).map((ep) => {
      const t = perEndpoint.get(ep) as Tally;
      return monthToDate(ctx, {
        licensee: a.licensee,
        severity: SEVERITY,
        metric: 'requests',
        subject: ep,
        observed: t.total,
        apps: appsOf(t),
        detail: `${fmtInt(t.total)} request(s) to endpoint ${JSON.stringify(ep)}, which is not among the ${listed.length} allowed endpoint(s)`,
        evidence: evidenceOf(t.rows, (p) => ownValue(p.endpoints, ep)?.requests ?? 0),
      });
    });
  }),
} as const satisfies AuditRule;
