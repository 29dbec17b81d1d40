import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderReport, summariseDataQuality } from '../../../functions/core/audit/report.ts';
import { RULE_SEVERITIES } from '../../../functions/core/audit/rules/registry.ts';
import { type AuditUsageRow, audit } from '../../../functions/core/audit/rules.ts';
import { agreement, row } from './helpers.ts';

const APPS = ['a1', 'a2', 'a3', 'zz'];
const arbRow = fc
  .record({
    app: fc.constantFrom(...APPS),
    day: fc.integer({ min: 1, max: 12 }),
    requests: fc.integer({ min: 1, max: 50 }),
    records: fc.integer({ min: 0, max: 5_000 }),
    gov: fc.integer({ min: 0, max: 3 }),
    approved: fc.integer({ min: 0, max: 3 }),
    ep: fc.constantFrom('GET /ok', 'GET /no'),
    src: fc.integer({ min: 0, max: 5 }),
  })
  .map((r): AuditUsageRow => {
    const gov = Math.min(r.gov, r.requests);
    const approved = Math.min(r.approved, gov);
    return row(r.app, `2026-03-${String(r.day).padStart(2, '0')}`, {
      requests: r.requests,
      records: r.records,
      endpoints: { [r.ep]: { requests: r.requests, records: r.records } },
      categories:
        gov > 0
          ? {
              government: {
                requests: gov,
                records: 0,
                orgs: approved > 0 ? { ok: { requests: approved, records: 0 } } : {},
              },
            }
          : {},
      sources: [{ key: `logs/${r.src}.jsonl`, gen: `g${r.src % 2}` }],
    });
  });

const agreements = [
  agreement({
    apps: [
      { id: 'a1', use_case: 'x' },
      { id: 'a2', use_case: null },
    ],
    quotas: { monthly_records: 20_000, monthly_requests: 200, daily_records: 4_000 },
    endpoints: ['GET /ok'],
    prohibited_recipients: ['government'],
    approved_organisations: ['ok'],
    paid_through: '2026-03-04',
    term: { start: '2026-01-01', end: '2026-03-08' },
  }),
  agreement({ licensee: 'beta', apps: [{ id: 'a3', use_case: 'y' }], paid_through: null }),
];

describe('audit properties', () => {
  it('apps values add up to observed; ids unique; order-independent; render deterministic', () => {
    fc.assert(
      fc.property(fc.array(arbRow, { maxLength: 40 }), fc.integer({ min: 1, max: 12 }), (usage, d) => {
        const reportDate = `2026-03-${String(d).padStart(2, '0')}`;
        const fs = audit({ reportDate, agreements, usage });
        for (const f of fs) {
          expect(RULE_SEVERITIES[f.rule]).toContain(f.severity);
          expect(f.period_start <= f.period_end).toBe(true);
          const appsSum = f.apps.reduce((s, a) => s + a.value, 0);
          if (f.rule === 'quota_forecast') {
            // A projection over the whole month, above the quota, from usage to date within it.
            expect([f.period_start, f.period_end]).toEqual(['2026-03-01', '2026-03-31']);
            expect(f.observed).toBeGreaterThan(f.limit as number);
            expect(appsSum).toBeLessThanOrEqual(f.limit as number);
            expect(appsSum).toBeLessThanOrEqual(f.observed);
            continue;
          }
          if (f.rule === 'quota_threshold') {
            // Usage to date at least 80% (or 100%) of the quota, since the crossing day.
            expect(appsSum).toBe(f.observed);
            expect(f.period_end).toBe(reportDate);
            const percent = f.subject === '80%' ? 80 : 100;
            expect(f.subject).toBe(`${percent}%`);
            expect(f.observed * 100).toBeGreaterThanOrEqual(percent * (f.limit as number));
            continue;
          }
          expect(appsSum).toBe(f.observed);
          expect(f.period_end <= reportDate && f.period_start >= '2026-03-01').toBe(true);
          if (f.limit !== null) expect(f.observed).toBeGreaterThan(f.limit);
        }
        expect(new Set(fs.map((f) => f.finding_id)).size).toBe(fs.length);
        const shuffled = [...usage].reverse();
        expect(audit({ reportDate, agreements: [...agreements].reverse(), usage: shuffled })).toEqual(fs);
        const input = {
          reportDate,
          agreements,
          usage,
          findings: fs,
          dataQuality: summariseDataQuality([]),
          run: {},
          previousManifestSha256: null,
        };
        expect(renderReport({ ...input, usage: shuffled }).files).toEqual(renderReport(input).files);
      }),
      { numRuns: 60 },
    );
  });

  it('splitting a usage row into two objects changes no number', () => {
    fc.assert(
      fc.property(fc.array(arbRow, { minLength: 1, maxLength: 20 }), (usage) => {
        const split = usage.flatMap((r) => {
          if (r.requests < 2 || Object.keys(r.categories).length > 0) return [r];
          const half = Math.floor(r.requests / 2);
          const rec = Math.floor(r.records / 2);
          const ep = Object.keys(r.endpoints)[0] as string;
          const part = (requests: number, records: number): AuditUsageRow => ({
            ...r,
            requests,
            records,
            endpoints: { [ep]: { requests, records, bytes: 0, errors: 0 } },
          });
          return [part(half, rec), part(r.requests - half, r.records - rec)];
        });
        const strip = (fs: ReturnType<typeof audit>) => fs.map((f) => ({ ...f, detail: '' }));
        expect(strip(audit({ reportDate: '2026-03-12', agreements, usage: split }))).toEqual(
          strip(audit({ reportDate: '2026-03-12', agreements, usage })),
        );
      }),
      { numRuns: 60 },
    );
  });
});
