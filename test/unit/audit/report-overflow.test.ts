/**
 * The usage overflow line under data quality (issue 8): shown in report.json and report.html only
 * when an app-day of the window holds an `(other endpoints)` or `(other organisations)` entry, so
 * every other report stays byte-identical.
 */
import { describe, expect, it } from 'vitest';
import { type ReportInput, renderReport } from '../../../functions/core/audit/report.ts';
import { OTHER_ENDPOINTS, OTHER_ORGANISATIONS } from '../../../functions/core/log-reader.ts';
import { row } from './helpers.ts';

const D = '2026-11-20';

function input(usage: ReportInput['usage']): ReportInput {
  return {
    reportDate: D,
    agreements: [],
    usage,
    findings: [],
    dataQuality: {
      objects: [],
      totals: { objects: 0, ingested: 0, empty: 0, quarantined: 0, lines: 0, counted: 0, rejected: 0 },
    },
    run: {},
    previousManifestSha256: null,
  };
}

const files = (i: ReportInput) => new Map(renderReport(i).files.map((f) => [f.name, f.body]));

describe('usage overflow in the report', () => {
  it('is absent when no bound was reached', () => {
    const f = files(input([row('a1', '2026-11-19', { requests: 3 })]));
    expect(JSON.parse(f.get('report.json') ?? '').data_quality).not.toHaveProperty('usage_overflow');
    expect(f.get('report.html')).not.toContain('usage-overflow');
  });

  it('lists the app-days with an overflow entry, summed over sources, in report.json and report.html', () => {
    const usage = [
      row('a1', '2026-11-19', {
        requests: 10,
        endpoints: { 'GET /x': { requests: 4 }, [OTHER_ENDPOINTS]: { requests: 6 } },
        categories: {
          partners: { requests: 5, records: 0, orgs: { [OTHER_ORGANISATIONS]: { requests: 2, records: 0 } } },
        },
      }),
      row('a1', '2026-11-19', {
        requests: 1,
        endpoints: { [OTHER_ENDPOINTS]: { requests: 1 } },
        sources: [{ key: 'logs/b.jsonl', gen: 'g2' }],
      }),
      row('a2', '2026-11-18', { requests: 2 }),
      // Outside the window: ignored.
      row('a1', '2026-10-01', { endpoints: { [OTHER_ENDPOINTS]: { requests: 1 } } }),
    ];
    const f = files(input(usage));
    expect(JSON.parse(f.get('report.json') ?? '').data_quality.usage_overflow).toEqual([
      {
        app_id: 'a1',
        usage_date: '2026-11-19',
        other_endpoints_requests: 7,
        other_organisations_requests: 2,
      },
    ]);
    expect(f.get('report.html')).toContain(
      '<li><code>a1</code> on 2026-11-19: 7 request(s) under <code>(other endpoints)</code>, 2 under <code>(other organisations)</code></li>',
    );
  });
});
