/** The month-end projection (forecast.ts), on hand-computed figures. */
import { describe, expect, it } from 'vitest';
import { FORECAST_DAYS, projectMonthEnd } from '../../../functions/core/audit/forecast.ts';

describe('projectMonthEnd', () => {
  it('averages the last 7 days', () => {
    expect(FORECAST_DAYS).toBe(7);
  });

  it('on the first day of a month: one day elapsed, its usage × the 30 days left (31-day month)', () => {
    // 70 + 70 / 1 × 30 = 2,170
    expect(projectMonthEnd('2026-03-01', [70])).toEqual({
      used: 70,
      monthEnd: '2026-03-31',
      averagedDays: 1,
      averagedFrom: '2026-03-01',
      averagedSum: 70,
      remaining: 30,
      projected: 2_170,
    });
  });

  it('on the 3rd: fewer than 7 days, all of them averaged', () => {
    // 70 + 70 / 3 × 28 = 70 + 653.33… → 70 + 653 = 723
    expect(projectMonthEnd('2026-03-03', [10, 20, 40])).toMatchObject({
      used: 70,
      averagedDays: 3,
      averagedFrom: '2026-03-01',
      averagedSum: 70,
      remaining: 28,
      projected: 723,
    });
  });

  it('rounds the averaged part half up', () => {
    // 1 + 1 / 2 × 29 = 1 + 14.5 → 1 + 15 = 16
    expect(projectMonthEnd('2026-03-02', [0, 1]).projected).toBe(16);
    // 1 + 1 / 3 × 28 = 1 + 9.33… → 1 + 9 = 10
    expect(projectMonthEnd('2026-03-03', [0, 0, 1]).projected).toBe(10);
  });

  it('in a 31-day month past day 7: only the last 7 days are averaged', () => {
    // Day i has 10 × i: used 550; days 4 … 10 sum to 490; 550 + 490 / 7 × 21 = 550 + 1,470 = 2,020
    const daily = Array.from({ length: 10 }, (_, i) => 10 * (i + 1));
    expect(projectMonthEnd('2026-01-10', daily)).toEqual({
      used: 550,
      monthEnd: '2026-01-31',
      averagedDays: 7,
      averagedFrom: '2026-01-04',
      averagedSum: 490,
      remaining: 21,
      projected: 2_020,
    });
  });

  it('February of a leap year (2028: 29 days) and of a common year (2027: 28 days)', () => {
    const daily = Array.from({ length: 10 }, () => 100);
    // 1,000 + 700 / 7 × 19 = 2,900
    expect(projectMonthEnd('2028-02-10', daily)).toMatchObject({
      monthEnd: '2028-02-29',
      remaining: 19,
      projected: 2_900,
    });
    // 1,000 + 700 / 7 × 18 = 2,800
    expect(projectMonthEnd('2027-02-10', daily)).toMatchObject({
      monthEnd: '2027-02-28',
      remaining: 18,
      projected: 2_800,
    });
    // On the last day nothing remains: the projection is the usage.
    expect(
      projectMonthEnd(
        '2028-02-29',
        Array.from({ length: 29 }, () => 5),
      ),
    ).toMatchObject({
      remaining: 0,
      projected: 145,
    });
  });

  it('counts days without usage as zero, and refuses a series that is not W', () => {
    // Usage only long ago: the last 7 days (9 … 15 of April, 30 days) average 0.
    const daily = [500, ...Array.from({ length: 14 }, () => 0)];
    expect(projectMonthEnd('2026-04-15', daily)).toMatchObject({ used: 500, averagedSum: 0, projected: 500 });
    expect(() => projectMonthEnd('2026-04-15', [1, 2])).toThrow(/expected 15 daily values/);
  });
});
