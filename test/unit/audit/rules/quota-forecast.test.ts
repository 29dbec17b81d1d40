import { describe, expect, it } from 'vitest';
import type { Agreement } from '../../../../functions/core/audit/agreements.ts';
import type { AuditUsageRow } from '../../../../functions/core/audit/rules.ts';
import { agreement, only, row, run } from '../helpers.ts';

const quota = (q: Agreement['quotas']) => agreement({ quotas: q });

/** Usage of a1 on January 1 … n, day i with 10 × i records and i requests. */
const january = (n: number): AuditUsageRow[] =>
  Array.from({ length: n }, (_, i) =>
    row('a1', `2026-01-${String(i + 1).padStart(2, '0')}`, { requests: i + 1, records: 10 * (i + 1) }),
  );

describe('quota_forecast', () => {
  // On 2026-01-10: records used 550, projected 550 + 490 / 7 × 21 = 2,020;
  // requests used 55, projected 55 + 49 / 7 × 21 = 202.
  it('fires when the month-end projection exceeds a quota not yet exceeded', () => {
    const fs = only(run('2026-01-10', [quota({ monthly_records: 2_000 })], january(10)), 'quota_forecast');
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      licensee: 'acme',
      rule: 'quota_forecast',
      severity: 'low',
      metric: 'monthly_records',
      subject: null,
      period_start: '2026-01-01',
      period_end: '2026-01-31',
      observed: 2_020,
      limit: 2_000,
      excess: 20,
      amount_owed: null,
      currency: null,
      apps: [{ app_id: 'a1', value: 550, share: 1 }],
      evidence: { source_count: 10, truncated: false },
    });
    expect(fs[0]?.detail).toBe(
      'records projected for 2026-01-01..2026-01-31: 2,020 > monthly records quota 2,000 (over by 20); ' +
        '550 to date (2026-01-01..2026-01-10) + 490 / 7 per day (the average of 2026-01-04..2026-01-10) × 21 remaining day(s), rounded',
    );
  });

  it('monthly requests too; nothing when the projection is at or under the quota', () => {
    const fs = only(
      run('2026-01-10', [quota({ monthly_records: 2_020, monthly_requests: 201 })], january(10)),
      'quota_forecast',
    );
    expect(fs.map((f) => [f.metric, f.observed, f.limit, f.excess])).toEqual([
      ['monthly_requests', 202, 201, 1],
    ]);
  });

  it('nothing once the quota is exceeded (quota_exceeded covers it); at the quota still a forecast', () => {
    const over = run('2026-01-10', [quota({ monthly_records: 549 })], january(10));
    expect(only(over, 'quota_forecast')).toEqual([]);
    expect(only(over, 'quota_exceeded')).toHaveLength(1);
    const at = run('2026-01-10', [quota({ monthly_records: 550 })], january(10));
    expect(only(at, 'quota_forecast').map((f) => f.observed)).toEqual([2_020]);
    expect(only(at, 'quota_exceeded')).toEqual([]);
  });

  it('the first day of a month, the 3rd, and the last day (nothing left to project)', () => {
    // 2026-03-01: 70 + 70 × 30 = 2,170.
    const first = only(
      run('2026-03-01', [quota({ monthly_records: 2_169 })], [row('a1', '2026-03-01', { records: 70 })]),
      'quota_forecast',
    );
    expect(first.map((f) => [f.observed, f.period_start, f.period_end])).toEqual([
      [2_170, '2026-03-01', '2026-03-31'],
    ]);
    // 2026-03-03: 70 + 70 / 3 × 28 = 723.
    const third = [10, 20, 40].map((records, i) => row('a1', `2026-03-0${i + 1}`, { records }));
    expect(
      only(run('2026-03-03', [quota({ monthly_records: 722 })], third), 'quota_forecast')[0]?.observed,
    ).toBe(723);
    expect(only(run('2026-03-03', [quota({ monthly_records: 723 })], third), 'quota_forecast')).toEqual([]);
    const last = Array.from({ length: 31 }, (_, i) =>
      row('a1', `2026-03-${String(i + 1).padStart(2, '0')}`, { records: 10 }),
    );
    expect(only(run('2026-03-31', [quota({ monthly_records: 310 })], last), 'quota_forecast')).toEqual([]);
  });

  it('February 2028 (leap) projects over 19 more days, February 2027 over 18', () => {
    const feb = (year: number) =>
      Array.from({ length: 10 }, (_, i) =>
        row('a1', `${year}-02-${String(i + 1).padStart(2, '0')}`, { records: 100 }),
      );
    // 1,000 + 100 × 19 = 2,900 in 2028; 1,000 + 100 × 18 = 2,800 in 2027.
    const leap = only(run('2028-02-10', [quota({ monthly_records: 2_850 })], feb(2028)), 'quota_forecast');
    expect(leap.map((f) => [f.observed, f.period_end])).toEqual([[2_900, '2028-02-29']]);
    expect(only(run('2027-02-10', [quota({ monthly_records: 2_850 })], feb(2027)), 'quota_forecast')).toEqual(
      [],
    );
    const common = only(run('2027-02-10', [quota({ monthly_records: 2_799 })], feb(2027)), 'quota_forecast');
    expect(common.map((f) => [f.observed, f.period_end])).toEqual([[2_800, '2027-02-28']]);
  });

  it('keeps its finding id through the month', () => {
    const a = [quota({ monthly_records: 2_000 })];
    const id = (d: string, n: number) => only(run(d, a, january(n)), 'quota_forecast')[0]?.finding_id;
    expect(id('2026-01-10', 10)).toMatch(/^[0-9a-f]{20}$/);
    expect(id('2026-01-11', 11)).toBe(id('2026-01-10', 10));
  });
});

describe('quota_threshold', () => {
  // Quota 1,000 records: cumulative 500, 800 (80% on the 2nd), 950, 1,000 (100% on the 4th), 1,010.
  const usage = [500, 300, 150, 50, 10].map((records, i) => row('a1', `2026-03-0${i + 1}`, { records }));
  const a = [quota({ monthly_records: 1_000 })];
  const thresholds = (d: string) =>
    only(run(d, a, usage), 'quota_threshold').map((f) => [
      f.subject,
      f.period_start,
      f.period_end,
      f.observed,
      f.limit,
    ]);

  it('is present from the day usage to date reaches 80% and 100% of the quota, with that day as period_start', () => {
    expect(thresholds('2026-03-01')).toEqual([]);
    expect(thresholds('2026-03-02')).toEqual([['80%', '2026-03-02', '2026-03-02', 800, 1_000]]);
    expect(thresholds('2026-03-03')).toEqual([['80%', '2026-03-02', '2026-03-03', 950, 1_000]]);
    expect(thresholds('2026-03-05')).toEqual([
      ['100%', '2026-03-04', '2026-03-05', 1_010, 1_000],
      ['80%', '2026-03-02', '2026-03-05', 1_010, 1_000],
    ]);
  });

  it('severity low, a stable id per threshold and month, the crossing in the detail', () => {
    const [f] = only(run('2026-03-03', a, usage), 'quota_threshold');
    expect(f).toMatchObject({ severity: 'low', metric: 'monthly_records', excess: null, amount_owed: null });
    expect(f?.detail).toBe(
      'records to date (2026-03-01..2026-03-03): 950, at least 80% of the monthly records quota 1,000; crossed on 2026-03-02 (800 by then)',
    );
    const later = only(run('2026-03-05', a, usage), 'quota_threshold').find((x) => x.subject === '80%');
    expect(later?.finding_id).toBe(f?.finding_id);
  });

  it('counts requests for monthly_requests; no threshold for usage of 0 (even with a quota of 0)', () => {
    const reqs = [row('a1', '2026-03-01', { requests: 8 })];
    expect(
      only(
        run('2026-03-01', [quota({ monthly_requests: 10, monthly_records: 0 })], reqs),
        'quota_threshold',
      ).map((f) => [f.metric, f.subject, f.observed]),
    ).toEqual([['monthly_requests', '80%', 8]]);
  });
});
