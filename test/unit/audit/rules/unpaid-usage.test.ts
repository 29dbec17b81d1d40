import { describe, expect, it } from 'vitest';
import { amountCents } from '../../../../functions/core/audit/format.ts';
import { agreement, only, row, run } from '../helpers.ts';

describe('unpaid_usage', () => {
  const usage = [
    row('a1', '2026-03-01', { records: 1000 }),
    row('a2', '2026-03-02', { records: 2000 }),
    row('a1', '2026-03-03', { records: 4000 }),
  ];
  const paid = (paid_through: string | null | undefined) => {
    const a = agreement();
    if (paid_through !== undefined) a.paid_through = paid_through;
    return only(run('2026-03-03', [a], usage), 'unpaid_usage');
  };

  it('absent paid_through = fully paid: nothing', () => {
    expect(paid(undefined)).toEqual([]);
  });

  it('never paid (null): all of W', () => {
    const [f] = paid(null);
    expect(f).toMatchObject({
      severity: 'high',
      metric: 'records',
      period_start: '2026-03-01',
      period_end: '2026-03-03',
      observed: 7000,
      amount_owed: 5.25,
      currency: 'USD',
      limit: null,
      excess: null,
    });
    expect(f?.apps).toEqual([
      { app_id: 'a1', value: 5000, share: 0.7143 },
      { app_id: 'a2', value: 2000, share: 0.2857 },
    ]);
  });

  it('paid through the day before W starts: all of W', () => {
    expect(paid('2026-02-28')[0]).toMatchObject({
      period_start: '2026-03-01',
      observed: 7000,
      amount_owed: 5.25,
    });
    expect(paid('2025-12-31')[0]).toMatchObject({ period_start: '2026-03-01', observed: 7000 });
  });

  it('paid through a day inside W: only the days after it', () => {
    expect(paid('2026-03-01')[0]).toMatchObject({
      period_start: '2026-03-02',
      observed: 6000,
      amount_owed: 4.5,
    });
    expect(paid('2026-03-02')[0]).toMatchObject({
      period_start: '2026-03-03',
      period_end: '2026-03-03',
      observed: 4000,
      amount_owed: 3,
    });
  });

  it('paid through D (the last day of W) or later: nothing', () => {
    expect(paid('2026-03-03')).toEqual([]);
    expect(paid('2026-12-31')).toEqual([]);
  });

  it('an unpaid day without usage adds nothing; no usage after paid_through = no finding', () => {
    const a = agreement({ paid_through: '2026-03-01' });
    expect(only(run('2026-03-05', [a], [row('a1', '2026-03-01', { records: 10 })]), 'unpaid_usage')).toEqual(
      [],
    );
  });

  it('rounds half away from zero to cents, on exact integers', () => {
    const owed = (records: number, rate: number) => {
      const a = agreement({ paid_through: null, rate: { per_1000_records: rate, currency: 'EUR' } });
      return only(run('2026-03-01', [a], [row('a1', '2026-03-01', { records })]), 'unpaid_usage')[0]
        ?.amount_owed;
    };
    expect(owed(1, 5)).toBe(0.01); // 0.005 → 0.01
    expect(owed(1, 4.99)).toBe(0); // 0.00499 → 0.00
    expect(owed(1, 0.75)).toBe(0); // 0.00075
    expect(owed(7, 0.75)).toBe(0.01); // 0.00525
    expect(owed(3, 1.5)).toBe(0); // 0.0045
    expect(owed(100, 1.45)).toBe(0.15); // 0.145 exactly (a float product gives 0.14499…)
    expect(owed(1000, 0.005)).toBe(0.01); // 0.005
    expect(owed(2010, 0.5)).toBe(1.01); // 1.005 (float: 1.00499…)
    expect(owed(40_000_000, 0.75)).toBe(30000);
    expect(owed(0, 0.75)).toBe(0);
    expect(amountCents(Number.MAX_SAFE_INTEGER, 1.2)).toBe(1080863910568919n); // 9007199254740991 × 0.0012 = 10808639105689.1892 → cents
  });

  it('without a rate the amount and currency are null', () => {
    const a = agreement({ paid_through: null });
    delete a.rate;
    expect(only(run('2026-03-03', [a], usage), 'unpaid_usage')[0]).toMatchObject({
      amount_owed: null,
      currency: null,
      observed: 7000,
    });
  });
});
