import { describe, expect, it } from 'vitest';
import type { Agreement } from '../../../../functions/core/audit/agreements.ts';
// SPEC §4's rules only: the quota extensions (quota_forecast, quota_threshold) have their own tests.
import { agreement, row, runSpec as run } from '../helpers.ts';

describe('quota_exceeded', () => {
  const quota = (q: Agreement['quotas']) => agreement({ quotas: q });

  it('monthly records: exactly at the quota does not fire, one over does', () => {
    const at = [row('a1', '2026-03-01', { records: 600 }), row('a2', '2026-03-02', { records: 400 })];
    expect(run('2026-03-02', [quota({ monthly_records: 1000 })], at)).toEqual([]);
    const over = [row('a1', '2026-03-01', { records: 600 }), row('a2', '2026-03-02', { records: 401 })];
    const [f, ...rest] = run('2026-03-02', [quota({ monthly_records: 1000 })], over);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      report_date: '2026-03-02',
      licensee: 'acme',
      rule: 'quota_exceeded',
      metric: 'monthly_records',
      subject: null,
      period_start: '2026-03-01',
      period_end: '2026-03-02',
      observed: 1001,
      limit: 1000,
      excess: 1,
      severity: 'medium',
      amount_owed: null,
      currency: null,
      apps: [
        { app_id: 'a1', value: 600, share: 0.5994 },
        { app_id: 'a2', value: 401, share: 0.4006 },
      ],
      evidence: {
        sources: [
          { key: 'logs/a1/2026-03-01.jsonl', gen: 'g1' },
          { key: 'logs/a2/2026-03-02.jsonl', gen: 'g1' },
        ],
      },
    });
    expect(f?.finding_id).toMatch(/^[0-9a-f]{20}$/);
  });

  it('severity: an excess of exactly 10% of the limit is medium, above it high', () => {
    const sev = (records: number) =>
      run('2026-03-05', [quota({ monthly_records: 1000 })], [row('a1', '2026-03-05', { records })])[0]
        ?.severity;
    expect(sev(1100)).toBe('medium');
    expect(sev(1101)).toBe('high');
    expect(sev(1001)).toBe('medium');
  });

  it('monthly requests are counted over W only (days before the month and after D are ignored)', () => {
    const usage = [
      row('a1', '2026-02-28', { requests: 1000 }),
      row('a1', '2026-03-01', { requests: 5 }),
      row('a2', '2026-03-03', { requests: 6 }),
      row('a2', '2026-03-04', { requests: 1000 }),
    ];
    const fs = run('2026-03-03', [quota({ monthly_requests: 10 })], usage);
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      metric: 'monthly_requests',
      observed: 11,
      limit: 10,
      excess: 1,
      severity: 'medium',
    });
    expect(fs[0]?.apps).toEqual([
      { app_id: 'a2', value: 6, share: 0.5455 },
      { app_id: 'a1', value: 5, share: 0.4545 },
    ]);
  });

  it('daily records: one finding per day over the quota, summed over the apps; at the quota none', () => {
    const usage = [
      row('a1', '2026-03-01', { records: 300 }),
      row('a2', '2026-03-01', { records: 200 }), // 500: at the quota
      row('a1', '2026-03-02', { records: 501 }), // over by 1
      row('a1', '2026-03-03', { records: 100 }),
      row('a2', '2026-03-03', { records: 600 }), // over by 200 (40%)
    ];
    const fs = run('2026-03-03', [quota({ daily_records: 500 })], usage);
    expect(fs.map((f) => [f.metric, f.period_start, f.period_end, f.observed, f.excess, f.severity])).toEqual(
      [
        ['daily_records', '2026-03-02', '2026-03-02', 501, 1, 'medium'],
        ['daily_records', '2026-03-03', '2026-03-03', 700, 200, 'high'],
      ],
    );
    expect(fs[1]?.apps).toEqual([
      { app_id: 'a2', value: 600, share: 0.8571 },
      { app_id: 'a1', value: 100, share: 0.1429 },
    ]);
    expect(fs[1]?.evidence.sources.map((s) => s.key)).toEqual([
      'logs/a1/2026-03-03.jsonl',
      'logs/a2/2026-03-03.jsonl',
    ]);
    expect(fs[0]?.finding_id).not.toBe(fs[1]?.finding_id);
  });

  it('on the first day of a month W is that one day', () => {
    const usage = [row('a1', '2026-02-28', { records: 900 }), row('a1', '2026-03-01', { records: 101 })];
    const fs = run('2026-03-01', [quota({ monthly_records: 100, daily_records: 100 })], usage);
    expect(fs.map((f) => [f.metric, f.period_start, f.period_end, f.observed])).toEqual([
      ['daily_records', '2026-03-01', '2026-03-01', 101],
      ['monthly_records', '2026-03-01', '2026-03-01', 101],
    ]);
  });

  it('sums several rows (objects) of one app and day, with the union of their sources', () => {
    const usage = [
      row('a1', '2026-03-01', { records: 60, sources: [{ key: 'logs/b.jsonl', gen: 'v2' }] }),
      row('a1', '2026-03-01', {
        records: 50,
        sources: [
          { key: 'logs/a.jsonl', gen: 'v1' },
          { key: 'logs/b.jsonl', gen: 'v2' },
        ],
      }),
    ];
    const [f] = run('2026-03-01', [quota({ monthly_records: 100 })], usage);
    expect(f?.observed).toBe(110);
    expect(f?.apps).toEqual([{ app_id: 'a1', value: 110, share: 1 }]);
    expect(f?.evidence.sources).toEqual([
      { key: 'logs/a.jsonl', gen: 'v1' },
      { key: 'logs/b.jsonl', gen: 'v2' },
    ]);
  });
});
