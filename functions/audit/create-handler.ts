/**
 * The audit Lambda handler. Invoked by the nightly schedule (any event carrying the scheduled
 * `time`, or none: the nightly run) or on demand with `{ "date": "YYYY-MM-DD" }` or
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }` (one invocation for the whole range). A date
 * another audit run holds the lease of is skipped (named in the result); a request for that one
 * date fails with a LeaseHeldError. A direct invocation runs the fan-out's steps in process
 * (fan-out.ts); in AWS the nightly schedule starts the state machine, which invokes the same
 * function once per step (fan-out-handler.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { addDays, daysFrom, isRealDate } from '../core/audit/format.ts';
import { type AuditRequest, auditInProcess } from './fan-out.ts';
import { AuditRequestError } from './request-error.ts';
import { type AuditDeps, ChainMismatchError, type DateResult, LeaseHeldError } from './run-audit.ts';

export type { AuditRequest } from './fan-out.ts';

export interface AuditHandlerDeps extends AuditDeps {
  logger: Logger;
  metrics: Metrics;
}

export { AuditRequestError } from './request-error.ts';

/** How long a run's leases outlast the invocation's remaining time (clock differences). */
export const LEASE_MARGIN_MS = 30_000;

/** At most this many dates in one on-demand request. */
export const MAX_DATES = 400;

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

/** The leases of an invocation outlive it (its remaining time and a margin): a retry after a timeout finds them lapsed. */
export function invocationDeps<D extends AuditDeps>(deps: D, context?: Context): D {
  const remaining = context?.getRemainingTimeInMillis();
  const leaseMs = deps.leaseMs ?? (remaining ? remaining + LEASE_MARGIN_MS : undefined);
  return leaseMs ? { ...deps, leaseMs } : deps;
}

/** Counts and logs a ChainMismatchError (an alarm), and throws `err` on. */
export function rethrowCounted(deps: AuditHandlerDeps, err: unknown): never {
  if (err instanceof ChainMismatchError) {
    // A stored report is not what the audit wrote: alarm, and leave it as it is for inspection.
    deps.metrics.addMetric('ChainMismatch', MetricUnit.Count, 1);
    deps.logger.error('report chain mismatch', { date: err.date, file: err.file, error: err.message });
  }
  throw err;
}

/** A run's results counted (each date's result is logged where it is audited). */
export function concludeRun(deps: AuditHandlerDeps, reports: DateResult[]): { reports: DateResult[] } {
  deps.metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);
  deps.metrics.addMetric('ReportsWritten', MetricUnit.Count, reports.filter((r) => r.written).length);
  return { reports };
}

/**
 * A direct invocation: the whole run in this invocation, through the same plan, audit-date,
 * finish-date and link steps the state machine runs one invocation each (fan-out.ts).
 */
export function createAuditHandler(deps: AuditHandlerDeps) {
  const { logger, metrics } = deps;
  async function handle(event: unknown, context?: Context): Promise<{ reports: DateResult[] }> {
    metrics.addMetric('AuditInvoked', MetricUnit.Count, 1);
    const request = parseAuditEvent(event, deps.now());
    let reports: DateResult[];
    try {
      reports = await auditInProcess(invocationDeps(deps, context), request);
    } catch (err) {
      rethrowCounted(deps, err);
    }
    for (const r of reports) logger.info(r.skipped ? 'report skipped' : 'report', { ...r });
    // A request for one date another run holds fails with that one line; a range or the nightly
    // run goes on with the other dates and names the skipped ones in its result.
    const only = reports[0];
    if (request.kind === 'dates' && reports.length === 1 && only?.skipped)
      throw new LeaseHeldError(`${only.date}: ${only.skipped}`);
    return concludeRun(deps, reports);
  }
  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
