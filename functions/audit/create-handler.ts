/**
 * The audit Lambda handler. Invoked by the nightly schedule (any event carrying the scheduled
 * `time`, or none: the nightly run) or on demand with `{ "date": "YYYY-MM-DD" }` or
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }`.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { daysFrom, isRealDate } from '../core/audit/format.ts';
import { type AuditDeps, auditDates, type DateResult, nightlyDates } from './run-audit.ts';

export interface AuditHandlerDeps extends AuditDeps {
  logger: Logger;
  metrics: Metrics;
}

export class AuditRequestError extends Error {
  override name = 'AuditRequestError';
}

/** At most this many dates in one on-demand request. */
export const MAX_DATES = 400;

export type AuditRequest = { kind: 'dates'; dates: string[] } | { kind: 'nightly'; time: Date };

export function parseAuditEvent(event: unknown, now: Date): AuditRequest {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const date = (name: string): string => {
    const v = e[name];
    if (typeof v !== 'string' || !isRealDate(v)) {
      throw new AuditRequestError(`${name}: expected a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  if ('date' in e) return { kind: 'dates', dates: [date('date')] };
  if ('from' in e || 'to' in e) {
    const [from, to] = [date('from'), date('to')];
    if (from > to) throw new AuditRequestError(`from ${from} is after to ${to}`);
    const dates = daysFrom(from, to);
    if (dates.length > MAX_DATES)
      throw new AuditRequestError(`${dates.length} dates requested; at most ${MAX_DATES}`);
    return { kind: 'dates', dates };
  }
  if (typeof e.time === 'string') {
    const t = new Date(e.time);
    if (Number.isNaN(t.getTime()))
      throw new AuditRequestError(`time: not a timestamp: ${JSON.stringify(e.time)}`);
    return { kind: 'nightly', time: t };
  }
  return { kind: 'nightly', time: now };
}

export function createAuditHandler(deps: AuditHandlerDeps) {
  const { logger, metrics } = deps;
  async function handle(event: unknown): Promise<{ reports: DateResult[] }> {
    const request = parseAuditEvent(event, deps.now());
    const dates = request.kind === 'dates' ? request.dates : await nightlyDates(deps, request.time);
    const trigger = request.kind === 'nightly' ? 'schedule' : 'on-demand';
    const reports = await auditDates({ ...deps, trigger }, dates);
    for (const r of reports) logger.info('report', { ...r });
    metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);
    metrics.addMetric('ReportsWritten', MetricUnit.Count, reports.filter((r) => r.written).length);
    return { reports };
  }
  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
