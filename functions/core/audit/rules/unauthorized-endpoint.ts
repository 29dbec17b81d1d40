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
import { findingLines } from './evidence-lines.ts';
import { appsOf, daysOf, evidenceOf, monthToDate, perAgreement, Tally } from './support.ts';

const SEVERITY = 'medium';

export const unauthorizedEndpoint = {
  name: 'unauthorized_endpoint',
  severities: [SEVERITY],
  evaluate: perAgreement((a, rows, ctx, on) => {
    // Versioned terms: a day's requests are checked against the endpoints of that day's terms.
    const allowedSets = new Map<readonly string[], ReadonlySet<string>>();
    const allowedOn = (day: string): ReadonlySet<string> | undefined => {
      const listed = on(day)?.endpoints;
      if (listed === undefined) return undefined;
      let set = allowedSets.get(listed);
      if (!set) {
        set = new Set(listed);
        allowedSets.set(listed, set);
      }
      return set;
    };
    const perEndpoint = new Map<string, Tally>();
    for (const r of rows) {
      const allowed = allowedOn(r.day);
      if (allowed === undefined) continue;
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
      // The allowed list of the latest day with such requests (the agreement's own when one version).
      const listed = on(daysOf(t.rows).at(-1) ?? ctx.reportDate)?.endpoints ?? a.endpoints ?? [];
      return monthToDate(ctx, {
        licensee: a.licensee,
        severity: SEVERITY,
        metric: 'requests',
        subject: ep,
        observed: t.total,
        apps: appsOf(t),
        detail: `${fmtInt(t.total)} request(s) to endpoint ${JSON.stringify(ep)}, which is not among the ${listed.length} allowed endpoint(s)`,
        evidence: evidenceOf(t.rows, (p) => ownValue(p.endpoints, ep)?.requests ?? 0),
        lines: findingLines(t.rows, (ev) => ownValue(ev.endpoints, ep) ?? []),
      });
    });
  }),
} as const satisfies AuditRule;
