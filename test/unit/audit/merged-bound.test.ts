/**
 * Issue 8 #7, across objects: the distinct-endpoint and distinct-organisation bounds hold per
 * app-day of the audit window, not only per log object. Three objects of one app-day with 10,000
 * distinct endpoints each used to give ~29,000 endpoints and as many unauthorized_endpoint findings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundDayUsage } from '../../../functions/core/aggregate.ts';
import { type ReportInput, renderReport } from '../../../functions/core/audit/report.ts';
import type { AuditUsageRow } from '../../../functions/core/audit/rules.ts';
import { DEFAULT_BOUNDS, OTHER_ENDPOINTS, OTHER_ORGANISATIONS } from '../../../functions/core/log-reader.ts';
import type { DayUsage } from '../../../functions/core/types.ts';
import { sumDayUsage } from '../../../functions/core/usage-math.ts';
import { agreement, only, row, run } from './helpers.ts';

const D = '2026-11-20';
const DAY = '2026-11-19';
const N = DEFAULT_BOUNDS.maxEndpointsPerDay;
const ORGS = DEFAULT_BOUNDS.maxOrganisationsPerCategory;
const SHARED = 500;

/** Object k: SHARED endpoints common to all three, the rest its own; 1,000 organisations of its own. */
function objectRow(k: number): AuditUsageRow {
  const endpoints: Record<string, { requests: number; records: number }> = {};
  for (let i = 0; i < N; i++) {
    const name = i < SHARED ? `GET /shared/${i}` : `GET /o${k}/${i}`;
    endpoints[name] = { requests: 1, records: 2 };
  }
  endpoints[OTHER_ENDPOINTS] = { requests: 7, records: 0 };
  const orgs: Record<string, { requests: number; records: number }> = {};
  for (let i = 0; i < ORGS; i++) orgs[`Org ${k}-${i}`] = { requests: 1, records: 1 };
  return row('a1', DAY, {
    requests: N + 7,
    records: 2 * N,
    endpoints,
    categories: { government: { requests: ORGS, records: ORGS, orgs } },
    sources: [{ key: `logs/o${k}.jsonl`, gen: `g${k}` }],
  });
}

function input(usage: AuditUsageRow[]): ReportInput {
  const agreements = [agreement({ endpoints: ['GET /allowed'] })];
  return {
    reportDate: D,
    agreements,
    usage,
    findings: run(D, agreements, usage),
    dataQuality: {
      objects: [],
      totals: { objects: 0, ingested: 0, empty: 0, quarantined: 0, lines: 0, counted: 0, rejected: 0 },
    },
    run: {},
    previousManifestSha256: null,
  };
}

describe('distinct-value bounds per app-day across objects', () => {
  it('three objects of 10,000 endpoints each: at most 10,000 endpoint findings, the rest under data quality, whatever the order', () => {
    const rows = [0, 1, 2].map(objectRow);
    const a = input(rows);
    const findings = only(a.findings, 'unauthorized_endpoint');
    expect(findings).toHaveLength(N);
    expect(findings.some((f) => f.subject === OTHER_ENDPOINTS)).toBe(false);
    // The shared endpoints (3 requests each) are among the kept ones: the most requested first.
    for (let i = 0; i < SHARED; i++)
      expect(findings.some((f) => f.subject === `GET /shared/${i}`)).toBe(true);
    const report = JSON.parse(renderReport(a).files.find((f) => f.name === 'report.json')?.body ?? '') as {
      data_quality: { usage_overflow: unknown[] };
    };
    const distinct = 3 * N - 2 * SHARED;
    const keptRequests = findings.reduce((n, f) => n + (f.observed ?? 0), 0);
    expect(report.data_quality.usage_overflow).toEqual([
      {
        app_id: 'a1',
        usage_date: DAY,
        other_endpoints_requests: 3 * (N + 7) - keptRequests,
        other_organisations_requests: 3 * ORGS - ORGS,
        merged_endpoints: distinct - N,
        merged_organisations: 2 * ORGS,
      },
    ]);
    // Another order of the objects: the same files, byte for byte.
    const b = input([rows[2], rows[0], rows[1]] as AuditUsageRow[]);
    const bodies = (i: ReportInput) => renderReport(i).files.map((f) => [f.name, f.body]);
    expect(bodies(b)).toEqual(bodies(a));
  }, 60_000);

  it('property: bounding the sum keeps totals, holds at most bound + 1 entries, and does not depend on object order', () => {
    const names = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', OTHER_ENDPOINTS);
    const part = fc.record({
      endpoints: fc.dictionary(names, fc.integer({ min: 1, max: 5 }), { maxKeys: 7 }),
      orgs: fc.dictionary(
        fc.constantFrom('x', 'y', 'z', 'w', OTHER_ORGANISATIONS),
        fc.integer({ min: 1, max: 5 }),
      ),
    });
    const toUsage = (p: { endpoints: Record<string, number>; orgs: Record<string, number> }): DayUsage => {
      const endpoints: DayUsage['endpoints'] = {};
      let requests = 0;
      for (const [e, n] of Object.entries(p.endpoints)) {
        endpoints[e] = { requests: n, records: n, bytes: 0, errors: 0 };
        requests += n;
      }
      const orgs: Record<string, { requests: number; records: number }> = {};
      let orgRequests = 0;
      for (const [o, n] of Object.entries(p.orgs)) {
        orgs[o] = { requests: n, records: 0 };
        orgRequests += n;
      }
      return {
        app: 'a',
        day: DAY,
        requests,
        records: requests,
        bytes: 0,
        errors: 0,
        endpoints,
        categories: { c: { requests: orgRequests, records: 0, orgs } },
      };
    };
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (parts, maxEp, maxOrg) => {
          const usage = parts.map(toUsage);
          const bounds = { maxEndpointsPerDay: maxEp, maxOrganisationsPerCategory: maxOrg };
          const [summed] = sumDayUsage(usage);
          const [reversed] = sumDayUsage([...usage].reverse());
          const a = boundDayUsage(summed as DayUsage, bounds);
          const b = boundDayUsage(reversed as DayUsage, bounds);
          expect(JSON.stringify(a)).toBe(JSON.stringify(b));
          const sum = (r: Record<string, { requests: number }>) =>
            Object.values(r).reduce((n, c) => n + c.requests, 0);
          expect(sum(a.usage.endpoints)).toBe(sum((summed as DayUsage).endpoints));
          expect(Object.keys(a.usage.endpoints).length).toBeLessThanOrEqual(maxEp + 1);
          const orgs = a.usage.categories.c?.orgs ?? {};
          expect(sum(orgs)).toBe(sum((summed as DayUsage).categories.c?.orgs ?? {}));
          expect(Object.keys(orgs).length).toBeLessThanOrEqual(maxOrg + 1);
          const named = Object.keys((summed as DayUsage).endpoints).filter(
            (e) => e !== OTHER_ENDPOINTS,
          ).length;
          expect(a.merged.endpoints).toBe(Math.max(0, named - maxEp));
          // Within the bounds nothing changes.
          if (named <= maxEp && a.merged.organisations === 0) expect(a.usage).toBe(summed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
