/**
 * Use case: one audit run fanned out into parts, each small enough for its own invocation.
 *
 *   plan         the run's report dates, newest first (a request's dates, or the nightly run's:
 *                yesterday, then the stale and missing ones), after checking the part of the
 *                chain the run may touch (checkChain from its earliest date); each date past a
 *                size split into parts, groups of licensees (parts.ts), within the plan's budget
 *                (core/audit-parts.ts boundParts: at most 16 parts a date, the run within 20,000
 *                Step Functions history events, else refused), and the run's id. Each split
 *                date's parts are stored under (run, date) in the part store; the plan answers
 *                only their numbers, so its payload never grows with licensee names.
 *   audit-part   one part of a split date, loaded by (run, date, number), under the date's lease
 *                held as the run: its apps' stale rollups rebuilt, its findings' evidence files
 *                written, its results stored.
 *   audit-date   one report date (a split date's join): its lease in the control table, then
 *                auditDate (usage of its window, every report file, the anchor), taking the
 *                parts' evidence. A date another run holds is skipped.
 *   finish-date  the join of one date's parts: when the date is the newest report there is, it is
 *                linked to its predecessor and latest.json moved to it, under the chain's lease,
 *                at once (yesterday's report is published before any re-audit of an older date).
 *                An older date is linked by `link`: re-linking forward after each older date would
 *                rewrite every later manifest once per date.
 *   link         the run's end, under the chain's lease: re-links forward from the earliest date
 *                audited and moves latest.json to the newest report (relinkAndMoveLatest).
 *
 * In AWS a Step Functions state machine runs these steps (infra/constructs/audit-fan-out.ts):
 * plan, then a Map over the dates (one at a time, in the plan's order) of an inner Map over the
 * date's parts (audit-part, up to 4 at once), audit-date and finish-date, then link; each step is
 * one invocation of the audit function. Locally, and for a direct invocation of the function
 * (`auditor audit`), auditInProcess runs the same steps in order in one process (a date's parts
 * one after another).
 *
 * Every step is idempotent: a date audited again finds its report unchanged and rewrites nothing
 * (written: false), re-linking a linked chain writes nothing, and latest.json is only moved when it
 * does not already name the newest report. A step that fails leaves the chain and latest.json as
 * they were for its date (they are only written after the date's report is), and is retried.
 */
import { randomUUID } from 'node:crypto';
import { boundParts } from '../core/audit-parts.ts';
import { auditPart, joinDate, type PartOutcome, planDateParts } from './parts.ts';
import { AuditRequestError } from './request-error.ts';
import {
  type AuditDeps,
  auditDate,
  checkChain,
  type DateResult,
  leaseHeldMessage,
  nightlyDates,
  RunLeases,
  rechain,
  relinkAndMoveLatest,
} from './run-audit.ts';
import { writeMonthStatements } from './statements.ts';

/** What a run audits: these dates (on demand), or the nightly run's for a schedule firing at `time`. */
export type AuditRequest = { kind: 'dates'; dates: string[] } | { kind: 'nightly'; time: Date };

/** What report.json's run field records as the run's trigger. */
export type Trigger = 'schedule' | 'on-demand';

/**
 * One date of a run's plan: the numbers of its parts (0 … n-1; the parts themselves are stored,
 * PartResults.getPlan), none when it is audited in one invocation.
 */
export interface DatePlan {
  date: string;
  parts: number[];
}

/** The plan of one run: what the state machine's Map iterates over. */
export interface AuditPlan {
  /** Newest first. */
  dates: DatePlan[];
  trigger: Trigger;
  /** The run's id: the owner of its dates' leases, the key of its parts' results. */
  run: string;
}

/**
 * Plans a run: its dates newest first, each split into parts when it is past the size (parts.ts),
 * within the plan's budget (boundParts; a plan one execution cannot hold is refused with an
 * AuditRequestError naming the limit); the chain checked from the earliest. Writes only the split
 * dates' parts, under the new run's id: a plan step retried plans a new run, and the records of
 * the one before are never read (they expire).
 */
export async function planAudit(deps: AuditDeps, request: AuditRequest): Promise<AuditPlan> {
  const requested = request.kind === 'dates' ? request.dates : await nightlyDates(deps, request.time);
  const earliest = [...requested].sort()[0];
  // Dates with a failed run's pending evidence files are audited again (pending-evidence.ts).
  const pending = earliest === undefined ? [] : await checkChain(deps, earliest);
  const dates = [...new Set([...requested, ...pending])].sort().reverse();
  const wanted = await planDateParts(deps, dates);
  const bounded = boundParts(dates.map((d) => wanted.get(d) ?? []));
  if ('refused' in bounded) throw new AuditRequestError(bounded.refused);
  const run = randomUUID();
  for (const [i, date] of dates.entries()) {
    const parts = bounded.parts[i] ?? [];
    if (parts.length > 0) await deps.partResults?.putPlan(run, date, parts);
  }
  return {
    dates: dates.map((date, i) => ({ date, parts: (bounded.parts[i] ?? []).map((p) => p.part) })),
    trigger: request.kind === 'nightly' ? 'schedule' : 'on-demand',
    run,
  };
}

/**
 * One part of a split date, as the run planned it: loads part `part` of the run's plan of `date`
 * and audits it (parts.ts auditPart). A plan that is not stored (expired, or another run's) is
 * refused: only a new run can audit the date.
 */
export async function auditPlannedPart(
  deps: AuditDeps,
  run: string,
  date: string,
  part: number,
): Promise<PartOutcome> {
  const plan = (await deps.partResults?.getPlan(run, date))?.[part];
  if (plan?.part !== part)
    throw new AuditRequestError(
      `audit-part: run ${run} planned no part ${part} of ${date} (its plan is gone after its records' expiry, or was never stored): start a new run`,
    );
  return auditPart(deps, run, date, plan);
}

/**
 * Audits one report date under its lease (released at the end); a date another run holds is
 * skipped, with `lease held by another audit run until …`. Writes the report, never the chain's
 * other manifests or latest.json.
 */
export async function auditOneDate(deps: AuditDeps, date: string): Promise<DateResult> {
  const leases = new RunLeases(deps);
  try {
    const until = await leases.take(date);
    if (until !== undefined) return { date, findings: 0, written: false, skipped: leaseHeldMessage(until) };
    return await auditDate(deps, date);
  } finally {
    await leases.releaseAll();
  }
}

/**
 * Once every part of a date is done: when it is the newest report there is, links it to its
 * predecessor and moves latest.json to it, under the chain's lease. Answers the date's result.
 */
export async function finishDate(deps: AuditDeps, result: DateResult): Promise<DateResult> {
  if (result.skipped !== undefined || (await deps.reports.listDates()).at(-1) !== result.date) return result;
  const leases = new RunLeases(deps);
  try {
    await leases.takeChain();
    // Only this date's link is checked and, if need be, rewritten: no later date exists.
    await rechain(deps, result.date);
    if (
      (await deps.reports.listDates()).at(-1) === result.date &&
      (await deps.reports.latest()) !== result.date
    )
      await deps.reports.setLatest(result.date);
    return result;
  } finally {
    await leases.releaseAll();
  }
}

/** The run's end: re-links from the earliest date it audited and moves latest.json, under the chain's lease. */
export async function linkRun(deps: AuditDeps, reports: readonly DateResult[]): Promise<void> {
  const audited = reports.filter((r) => r.skipped === undefined).map((r) => r.date);
  const leases = new RunLeases(deps);
  try {
    await leases.takeChain();
    await relinkAndMoveLatest(deps, audited.sort()[0]);
  } finally {
    await leases.releaseAll();
  }
  // After a month's last day, each licensee's statement of that month (and any run that writes a
  // month's last report again writes them again, so they follow it). Written before the events
  // are delivered, so a delivery failure (which fails the run) cannot skip them.
  if (deps.statements) await writeMonthStatements({ ...deps, statements: deps.statements }, reports);
  // Finding events are delivered after latest.json, outside the chain's lease. On the state
  // machine this process recorded none: the months of the run's reports say where to look.
  await deps.events?.flush(audited.map((d) => d.slice(0, 7)));
}

/**
 * The whole run in this process, in the state machine's order: plan, then per date (newest first)
 * audit-date and finish-date, then link. The run's last date is not finished on its own: link,
 * right after it, does what finish-date would (one chain lease instead of two).
 */
export async function auditInProcess(
  deps: AuditDeps,
  request: AuditRequest,
  onProgress?: (done: number, total: number, result: DateResult) => void,
): Promise<DateResult[]> {
  const plan = await planAudit(deps, request);
  const run: AuditDeps = { ...deps, trigger: plan.trigger };
  const reports: DateResult[] = [];
  for (const [i, { date, parts }] of plan.dates.entries()) {
    // The date's parts one after another, then its join (the state machine runs parts at once).
    const outcomes: PartOutcome[] = [];
    for (const part of parts) {
      const outcome = await auditPlannedPart(run, plan.run, date, part);
      outcomes.push(outcome);
      if (outcome.skipped !== undefined) break;
    }
    const result = await joinDate(run, plan.run, date, outcomes);
    reports.push(i < plan.dates.length - 1 ? await finishDate(run, result) : result);
    onProgress?.(reports.length, plan.dates.length, result);
  }
  await linkRun(run, reports);
  return reports;
}
