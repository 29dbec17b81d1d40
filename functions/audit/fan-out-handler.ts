/**
 * The audit function's fan-out steps, as the state machine invokes them (infra/constructs/
 * audit-fan-out.ts), one invocation each:
 *
 *   { "step": "plan", "request": <the execution's input> }    -> { dates: [{ date, parts }], trigger, run }
 *   { "step": "audit-part", "date", "trigger", "run", "part": <number> }  -> PartOutcome
 *   { "step": "audit-date", "date": "YYYY-MM-DD", "trigger": …, "run"?, "parts"?: PartOutcome[] }
 *                                                                        -> DateResult
 *   { "step": "finish-date", "result": DateResult }                     -> DateResult
 *   { "step": "link", "trigger": …, "reports": DateResult[] }           -> { reports }
 *
 * The request is whatever the function itself accepts ({date}, {from, to} or a schedule event),
 * refused the same way; the execution's output is what a direct invocation answers ({reports}).
 * A date's `parts` in the plan are the numbers of its parts (0 … n-1, at most MAX_DATE_PARTS):
 * the parts themselves are stored by the plan step and loaded by audit-part (fan-out.ts).
 * Any other event goes to the direct handler (create-handler.ts), which runs the same steps in
 * process.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { isRealDate } from '../core/audit/format.ts';
import { MAX_DATE_PARTS } from '../core/audit-parts.ts';
import {
  type AuditHandlerDeps,
  AuditRequestError,
  concludeRun,
  invocationDeps,
  parseAuditEvent,
  rethrowCounted,
} from './create-handler.ts';
import {
  type AuditPlan,
  auditOneDate,
  auditPlannedPart,
  finishDate,
  linkRun,
  planAudit,
  type Trigger,
} from './fan-out.ts';
import { joinDate, type PartOutcome } from './parts.ts';
import type { DateResult } from './run-audit.ts';

/** The field that marks an event as one of the state machine's steps. */
export const STEP_FIELD = 'step';

export type FanOutStep =
  | { step: 'plan'; request: unknown }
  | { step: 'audit-part'; date: string; trigger: Trigger; run: string; part: number }
  | { step: 'audit-date'; date: string; trigger: Trigger; run?: string; parts: PartOutcome[] }
  | { step: 'finish-date'; result: DateResult }
  | { step: 'link'; trigger: Trigger; reports: DateResult[] };

export type StepOutput = AuditPlan | PartOutcome | DateResult | { reports: DateResult[] };

/** True for an object carrying the step field (anything else is a direct request). */
export function isFanOutStep(event: unknown): event is Record<string, unknown> {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && STEP_FIELD in event;
}

const TRIGGERS: readonly string[] = ['schedule', 'on-demand'] satisfies Trigger[];

function refuse(what: string, v: unknown): never {
  throw new AuditRequestError(`fan-out step: ${what}, got ${JSON.stringify(v)}`);
}

function dateOf(v: unknown): string {
  return typeof v === 'string' && isRealDate(v) ? v : refuse('expected a date YYYY-MM-DD', v);
}

function triggerOf(v: unknown): Trigger {
  return typeof v === 'string' && TRIGGERS.includes(v) ? (v as Trigger) : refuse('expected a trigger', v);
}

function resultOf(v: unknown): DateResult {
  const r = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof r.findings !== 'number' || typeof r.written !== 'boolean') refuse('expected a date result', v);
  if (r.skipped !== undefined && typeof r.skipped !== 'string') refuse('expected a date result', v);
  return {
    date: dateOf(r.date),
    findings: r.findings,
    written: r.written,
    ...(typeof r.skipped === 'string' ? { skipped: r.skipped } : {}),
  };
}

function runOf(v: unknown): string {
  return typeof v === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(v) ? v : refuse('expected a run id', v);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function partOf(v: unknown): number {
  return isCount(v) && v < MAX_DATE_PARTS ? v : refuse(`expected a part number below ${MAX_DATE_PARTS}`, v);
}

function outcomeOf(v: unknown, of: number): PartOutcome {
  const o = isObject(v) ? v : refuse('expected a part outcome', v);
  if (!isCount(o.part) || o.of !== of || o.part >= of || !isCount(o.findings))
    refuse('expected a part outcome', v);
  if (o.skipped !== undefined && typeof o.skipped !== 'string') refuse('expected a part outcome', v);
  return {
    part: o.part,
    of,
    findings: o.findings,
    ...(typeof o.skipped === 'string' ? { skipped: o.skipped } : {}),
  };
}

function outcomesOf(v: unknown): PartOutcome[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return refuse('audit-date: expected parts', v);
  const of = isObject(v[0]) && isCount(v[0].of) ? v[0].of : 0;
  const out = v.map((o) => outcomeOf(o, of));
  if (new Set(out.map((o) => o.part)).size !== of) refuse('audit-date: expected one outcome per part', v);
  return out;
}

/** Reads one step event; throws AuditRequestError naming what is wrong. */
export function parseFanOutStep(e: Record<string, unknown>): FanOutStep {
  switch (e[STEP_FIELD]) {
    case 'plan':
      return { step: 'plan', request: e.request };
    case 'audit-part':
      return {
        step: 'audit-part',
        date: dateOf(e.date),
        trigger: triggerOf(e.trigger),
        run: runOf(e.run),
        part: partOf(e.part),
      };
    case 'audit-date': {
      const parts = outcomesOf(e.parts);
      if (e.run === undefined && parts.length > 0) refuse('audit-date: parts without a run', e.run);
      return {
        step: 'audit-date',
        date: dateOf(e.date),
        trigger: triggerOf(e.trigger),
        ...(e.run === undefined ? {} : { run: runOf(e.run) }),
        parts,
      };
    }
    case 'finish-date':
      return { step: 'finish-date', result: resultOf(e.result) };
    case 'link':
      if (!Array.isArray(e.reports)) refuse('link: expected reports', e.reports);
      return { step: 'link', trigger: triggerOf(e.trigger), reports: e.reports.map(resultOf) };
    default:
      return refuse('expected plan, audit-part, audit-date, finish-date or link', e[STEP_FIELD]);
  }
}

export function createFanOutStepHandler(deps: AuditHandlerDeps) {
  const { logger, metrics } = deps;
  async function handle(event: unknown, context?: Context): Promise<StepOutput> {
    metrics.addMetric('AuditInvoked', MetricUnit.Count, 1);
    if (!isFanOutStep(event)) return refuse('expected an object with a step', event);
    const step = parseFanOutStep(event);
    // As for a direct request: a report on a day that has not ended would be incomplete, and latest.
    if (step.step === 'audit-part' || step.step === 'audit-date') {
      const today = deps.now().toISOString().slice(0, 10);
      if (step.date >= today)
        refuse(`${step.step}: ${step.date} has not ended yet (today is ${today} UTC)`, step.date);
    }
    const run = invocationDeps(deps, context);
    try {
      switch (step.step) {
        case 'plan':
          return await planAudit(run, parseAuditEvent(step.request, deps.now()));
        case 'audit-part': {
          const outcome = await auditPlannedPart(
            { ...run, trigger: step.trigger },
            step.run,
            step.date,
            step.part,
          );
          logger.info(outcome.skipped ? 'part skipped' : 'part', { date: step.date, ...outcome });
          return outcome;
        }
        case 'audit-date': {
          const dateRun = { ...run, trigger: step.trigger };
          const result =
            step.run === undefined
              ? await auditOneDate(dateRun, step.date)
              : await joinDate(dateRun, step.run, step.date, step.parts);
          logger.info(result.skipped ? 'report skipped' : 'report', { ...result });
          return result;
        }
        case 'finish-date':
          return await finishDate(run, step.result);
        case 'link':
          await linkRun(run, step.reports);
          return concludeRun(deps, step.reports);
      }
    } catch (err) {
      return rethrowCounted(deps, err);
    }
  }
  return middy(handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}

type Invocable = (event: unknown, context: Context) => Promise<unknown>;

/** The audit function's handler: the state machine's steps to their handler, anything else to the direct one. */
export function routeAuditEvents(direct: Invocable, steps: Invocable): Invocable {
  return (event, context) => (isFanOutStep(event) ? steps(event, context) : direct(event, context));
}
