/**
 * The audit Lambda handler. Invoked by the nightly schedule (any event carrying the scheduled
 * `time`, or none: the nightly run) or on demand with `{ "date": "YYYY-MM-DD" }` or
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }` (one invocation for the whole range). A date
 * another audit run holds the lease of is skipped (named in the result); a request for that one
 * date fails with a LeaseHeldError.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { addDays, daysFrom, isRealDate } from '../core/audit/format.ts';
import {
  type AuditDeps,
  auditDates,
  ChainMismatchError,
  type DateResult,
  LeaseHeldError,
  nightlyDates,
} from './run-audit.ts';
import { writeMonthStatements } from './statements.ts';

export interface AuditHandlerDeps extends AuditDeps {
  logger: Logger;
  metrics: Metrics;
}

export class AuditRequestError extends Error {
  override name = 'AuditRequestError';
}

/** How long a run's leases outlast the invocation's remaining time (clock differences). */
export const LEASE_MARGIN_MS = 30_000;

/** At most this many dates in one on-demand request. */
export const MAX_DATES = 400;

export type AuditRequest = { kind: 'dates'; dates: string[] } | { kind: 'nightly'; time: Date };

/** Fields a scheduler or EventBridge envelope may carry besides `time`. */
const ENVELOPE = new Set([
  'source',
  'detail-type',
  'time',
  'detail',
  'id',
  'account',
  'region',
  'resources',
  'version',
]);

export function parseAuditEvent(event: unknown, now: Date): AuditRequest {
  if (event !== undefined && event !== null && (typeof event !== 'object' || Array.isArray(event))) {
    throw new AuditRequestError(
      `expected an object ({date}, {from, to} or a schedule event), got ${JSON.stringify(event)}`,
    );
  }
  const e = (event ?? {}) as Record<string, unknown>;
  const today = now.toISOString().slice(0, 10);
  const date = (name: string): string => {
    const v = e[name];
    if (typeof v !== 'string' || !isRealDate(v)) {
      throw new AuditRequestError(`${name}: expected a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    }
    // A report on a day that has not ended would be incomplete, and would become the latest.
    if (v >= today) throw new AuditRequestError(`${name}: ${v} has not ended yet (today is ${today} UTC)`);
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
  const unknown = Object.keys(e).filter((k) => !ENVELOPE.has(k));
  if (unknown.length > 0) {
    throw new AuditRequestError(
      `unknown field(s) ${unknown.join(', ')}: expected {date}, {from, to} or a schedule event`,
    );
  }
  if ('time' in e && typeof e.time !== 'string')
    throw new AuditRequestError(`time: expected a timestamp string`);
  if (typeof e.time === 'string') {
    const t = new Date(e.time);
    if (Number.isNaN(t.getTime()))
      throw new AuditRequestError(`time: not a timestamp: ${JSON.stringify(e.time)}`);
    // The nightly run audits the day before `time`: that day must have ended.
    const reportDate = addDays(t.toISOString().slice(0, 10), -1);
    if (reportDate >= today) {
      throw new AuditRequestError(
        `time: ${e.time} is in the future: its report date ${reportDate} has not ended yet (today is ${today} UTC)`,
      );
    }
    return { kind: 'nightly', time: t };
  }
  return { kind: 'nightly', time: now };
}

export function createAuditHandler(deps: AuditHandlerDeps) {
  const { logger, metrics } = deps;
  async function handle(event: unknown, context?: Context): Promise<{ reports: DateResult[] }> {
    metrics.addMetric('AuditInvoked', MetricUnit.Count, 1);
    const request = parseAuditEvent(event, deps.now());
    const dates = request.kind === 'dates' ? request.dates : await nightlyDates(deps, request.time);
    const trigger = request.kind === 'nightly' ? 'schedule' : 'on-demand';
    let reports: DateResult[];
    try {
      // The leases outlive this invocation (its remaining time and a margin), so a retry after a
      // timeout finds them lapsed, and none needs renewing.
      const remaining = context?.getRemainingTimeInMillis();
      const leaseMs = deps.leaseMs ?? (remaining ? remaining + LEASE_MARGIN_MS : undefined);
      reports = await auditDates({ ...deps, trigger, ...(leaseMs ? { leaseMs } : {}) }, dates);
    } catch (err) {
      if (err instanceof ChainMismatchError) {
        // A stored report is not what the audit wrote: alarm, and leave it as it is for inspection.
        metrics.addMetric('ChainMismatch', MetricUnit.Count, 1);
        logger.error('report chain mismatch', { date: err.date, file: err.file, error: err.message });
      }
      throw err;
    }
    for (const r of reports) logger.info(r.skipped ? 'report skipped' : 'report', { ...r });
    // After a month's last day, the nightly run also writes each licensee's statement of that month
    // (and any run that writes a month's last report again writes them again, so they follow it).
    if (deps.statements) {
      const statements = await writeMonthStatements({ ...deps, statements: deps.statements }, reports);
      if (statements.length > 0) logger.info('statements', { statements });
    }
    // A request for one date another run holds fails with that one line; a range or the nightly
    // run goes on with the other dates and names the skipped ones in its result.
    const only = reports[0];
    if (request.kind === 'dates' && reports.length === 1 && only?.skipped)
      throw new LeaseHeldError(`${only.date}: ${only.skipped}`);
    metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);
    metrics.addMetric('ReportsWritten', MetricUnit.Count, reports.filter((r) => r.written).length);
    return { reports };
  }
  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
