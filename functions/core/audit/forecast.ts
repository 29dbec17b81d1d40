/**
 * Month-end projection of a monthly quota's usage (the quota_forecast rule and the cumulative chart
 * of report.html), from the usage of the window W = the first day of D's month … D alone:
 *
 *   projected = used + round(sum of the last k days × remaining / k)
 *
 * where used is the usage over W, k = min(7, days of W) (the last k calendar days of W, ending on
 * D; a day without usage counts as 0; days before an agreement's term start are calendar days of W
 * like any other), and remaining = the days of the month after D (0 on its last day, when the
 * projection is the usage itself). Exact integer arithmetic; the average part rounded half up to a
 * whole number. Pure and deterministic.
 */
import { daysInMonth } from '../support.ts';
import { add } from '../usage-math.ts';
import { addDays, roundHalfUp, windowOf } from './format.ts';

/** The most recent days whose average daily usage is projected over the rest of the month. */
export const FORECAST_DAYS = 7;

export interface Projection {
  /** Usage over W. */
  used: number;
  /** The last day of D's month. */
  monthEnd: string;
  /** k: the days averaged (min(FORECAST_DAYS, days of W)), from `averagedFrom` to D. */
  averagedDays: number;
  averagedFrom: string;
  /** Usage over those k days. */
  averagedSum: number;
  /** Days of the month after D. */
  remaining: number;
  projected: number;
}

/** The projection for report date D from `daily`, the usage of each day of W in order. */
export function projectMonthEnd(reportDate: string, daily: readonly number[]): Projection {
  const { start } = windowOf(reportDate);
  const elapsed = Number(reportDate.slice(8, 10));
  if (daily.length !== elapsed)
    throw new Error(`expected ${elapsed} daily values for ${start}..${reportDate}, got ${daily.length}`);
  const length = daysInMonth(Number(reportDate.slice(0, 4)), Number(reportDate.slice(5, 7)));
  const k = Math.min(FORECAST_DAYS, elapsed);
  const used = daily.reduce(add, 0);
  const averagedSum = daily.slice(elapsed - k).reduce(add, 0);
  const remaining = length - elapsed;
  const rest = roundHalfUp(BigInt(averagedSum) * BigInt(remaining), BigInt(k));
  return {
    used,
    monthEnd: addDays(start, length - 1),
    averagedDays: k,
    averagedFrom: addDays(reportDate, 1 - k),
    averagedSum,
    remaining,
    projected: Number(BigInt(used) + rest),
  };
}
