/**
 * A report date split into parts, pure (functions/audit/parts.ts runs them): what each licensee's
 * share of the date's object-proportional work is, and how licensees are grouped into parts.
 *
 * What in a date's audit grows with log objects is rebuilding stale rollups (every contribution of
 * a changed app-day is read) and writing each finding's evidence file (every contribution of the
 * finding's app-days is read). Both are per app, so a licensee's size is the objects behind the
 * app-days of its apps in the window: the stored rollups' object counts, plus, for a rollup that is
 * stale or missing, an estimate of the objects its day gained since (the day's commits since the
 * rollup's token, shared out by each app's part of the stored objects). Nothing else is read.
 *
 * Units: each licensee (its apps: those of every version of its terms on the window's days), and
 * the apps no licensee covers (their unknown_app findings). Parts: units in licensee order, a part
 * closed before a unit that would take it past the size; a unit alone past the size is a part of
 * its own; the uncovered apps go with the last part when they fit, else alone. A date whose units
 * together stay within the size is not split (no parts: audited in one invocation, as always).
 */
import type { Agreement } from './audit/agreements.ts';
import { compareStrings } from './support.ts';

/** One part of a split date: the licensees from `first` to `last` (by name), and/or the uncovered apps. */
export interface PartPlan {
  part: number;
  of: number;
  first?: string;
  last?: string;
  unlicensed?: true;
}

/** The default size past which a date is split: objects behind one part's app-days (README: Sizing the audit). */
export const AUDIT_PART_OBJECTS = 100_000;

const revOf = (token: string | undefined): number => Number((token ?? '0@').split('@')[0]) || 0;

/**
 * About how many objects are behind each listed app's app-days (app → day → objects; see the module
 * comment). `stored`: the stored rollups by `<day>\0<app>` (fresh or not); `tokens`: the days'
 * current tokens.
 */
export function estimateObjects(
  apps: readonly string[],
  tokens: ReadonlyMap<string, string>,
  stored: ReadonlyMap<string, { sourceCount: number; token: string }>,
): Map<string, Map<string, number>> {
  const storedOf = new Map<string, number>(apps.map((a) => [a, 0]));
  let all = 0;
  for (const day of tokens.keys()) {
    for (const app of apps) {
      const n = stored.get(`${day}\u0000${app}`)?.sourceCount ?? 0;
      storedOf.set(app, (storedOf.get(app) ?? 0) + n);
      all += n;
    }
  }
  const out = new Map<string, Map<string, number>>();
  for (const app of apps) {
    const days = new Map<string, number>();
    out.set(app, days);
    const share = all > 0 ? (storedOf.get(app) ?? 0) / all : 1 / apps.length;
    for (const [day, token] of tokens) {
      const r = stored.get(`${day}\u0000${app}`);
      let n = r?.sourceCount ?? 0;
      if (r?.token !== token) n += Math.ceil(Math.max(0, revOf(token) - revOf(r?.token)) * share);
      days.set(day, n);
    }
  }
  return out;
}

/** Per app, the objects of its days up to `date` (from estimateObjects). */
export function objectsUpTo(
  perDay: ReadonlyMap<string, ReadonlyMap<string, number>>,
  date: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [app, days] of perDay) {
    let n = 0;
    for (const [day, k] of days) if (day <= date) n += k;
    out.set(app, n);
  }
  return out;
}

/** Each licensee's apps over the window's days: those of its agreement on D and of its terms on each day. */
export function licenseeApps(
  agreements: readonly Agreement[],
  termsOn: ((licensee: string, day: string) => Agreement | undefined) | undefined,
  days: readonly string[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of [...agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const versions = [a, ...(termsOn ? days.map((d) => termsOn(a.licensee, d)) : [])];
    const ids = new Set<string>();
    for (const v of versions) for (const app of v?.apps ?? []) ids.add(app.id);
    out.set(a.licensee, [...ids].sort(compareStrings));
  }
  return out;
}

/** The apps of one part: its licensees' apps, and the uncovered ones when it has them. */
export function partApps(
  part: PartPlan,
  appsOf: ReadonlyMap<string, readonly string[]>,
  listed: readonly string[],
): string[] {
  const apps = new Set<string>();
  for (const [licensee, ids] of appsOf) if (inPart(part, licensee)) for (const id of ids) apps.add(id);
  if (part.unlicensed) {
    const covered = new Set([...appsOf.values()].flat());
    for (const app of listed) if (!covered.has(app)) apps.add(app);
  }
  return [...apps].sort(compareStrings);
}

/** Whether a licensee is one of the part's. */
export function inPart(part: PartPlan, licensee: string): boolean {
  return (
    part.first !== undefined &&
    part.last !== undefined &&
    compareStrings(licensee, part.first) >= 0 &&
    compareStrings(licensee, part.last) <= 0
  );
}

/**
 * The parts of one date, or none when every unit together is within `limit` objects (see the
 * module comment). `objects`: per app (estimateObjects).
 */
export function planParts(
  appsOf: ReadonlyMap<string, readonly string[]>,
  objects: ReadonlyMap<string, number>,
  limit: number,
): PartPlan[] {
  const sizeOf = (apps: Iterable<string>) => {
    let n = 0;
    for (const a of apps) n += objects.get(a) ?? 0;
    return n;
  };
  const covered = new Set([...appsOf.values()].flat());
  const uncovered = sizeOf([...objects.keys()].filter((a) => !covered.has(a)));
  const units = [...appsOf].map(([licensee, apps]) => ({ licensee, size: sizeOf(apps) }));
  if (units.reduce((n, u) => n + u.size, uncovered) <= limit) return [];
  const groups: { first: string; last: string; size: number }[] = [];
  let open: { first: string; last: string; size: number } | undefined;
  for (const u of units) {
    if (open && open.size + u.size > limit) {
      groups.push(open);
      open = undefined;
    }
    if (open) {
      open.last = u.licensee;
      open.size += u.size;
    } else open = { first: u.licensee, last: u.licensee, size: u.size };
  }
  if (open) groups.push(open);
  const last = groups.at(-1);
  const alone = last === undefined || (uncovered > 0 && last.size + uncovered > limit);
  const parts: Omit<PartPlan, 'part' | 'of'>[] = groups.map((g, i) => ({
    first: g.first,
    last: g.last,
    ...(!alone && i === groups.length - 1 ? { unlicensed: true as const } : {}),
  }));
  if (alone) parts.push({ unlicensed: true });
  return parts.map((p, part) => ({ part, of: parts.length, ...p }));
}

/*
 * The plan's budget: what one execution of the audit state machine (infra/constructs/
 * audit-fan-out.ts) may hold. A standard execution stops at 25,000 history events, and a state's
 * payload at 256 KB (neither is caught by a Catch). The plan's payload names each date and its
 * part numbers only (the parts themselves are stored: functions/audit/fan-out.ts), so its bytes
 * grow with dates and part numbers, never with licensee names; both are bounded here by events.
 *
 * Events, counted from the definition (the figures test/infra/audit-fan-out.test.ts checks):
 *   a task state        5 (entered, scheduled, started, succeeded, exited), and 3 a retry
 *                       (failed, scheduled, started); budgeted with 2 retries: 11
 *   a Map state         4 (entered, started, succeeded, exited), and 2 an iteration
 *   the run             2 (execution started, succeeded) + Plan 11 + Link 11 + AuditDates 4 = 28
 *   a date              its iteration 2 + AuditParts 4 + AuditDate 11 + FinishDate 11 = 28
 *   a part              its iteration 2 + AuditPart 11 = 13
 * A plan may use 20,000 of the 25,000: the other 5,000 are for retries past the budgeted two (a
 * held lease is retried up to 5 times, a Lambda service error up to 6).
 */

/** Step Functions' limit on one standard execution's history. */
export const HISTORY_EVENTS_LIMIT = 25_000;
/** The events one plan may use (the rest: retries past the budgeted ones). */
export const HISTORY_EVENTS_BUDGET = 20_000;
/**
 * The retries of a failed step the budget counts: the state machine's default, and the most its
 * construct accepts (infra/constructs/audit-fan-out.ts stepRetryAttempts), so the budget holds.
 */
export const BUDGETED_STEP_RETRIES = 2;
/** A task state's events, with the retries budgeted. */
const TASK_EVENTS = 5 + 3 * BUDGETED_STEP_RETRIES;
/** A Map state's own events, and an iteration's. */
const MAP_EVENTS = 4;
const ITERATION_EVENTS = 2;
/** Events of the run itself, of each date and of each part (see above). */
export const RUN_EVENTS = 2 + 2 * TASK_EVENTS + MAP_EVENTS;
export const DATE_EVENTS = ITERATION_EVENTS + MAP_EVENTS + 2 * TASK_EVENTS;
export const PART_EVENTS = ITERATION_EVENTS + TASK_EVENTS;
/** The most parts of one date: a date that needs more has its parts merged (each larger). */
export const MAX_DATE_PARTS = 16;
/** The fewest parts a date past the size keeps when a plan is over its budget; below, it is refused. */
export const MIN_DATE_PARTS = 8;

/** A run's history events, at most (with the budgeted retries). */
export const runEvents = (dates: number, parts: number): number =>
  RUN_EVENTS + DATE_EVENTS * dates + PART_EVENTS * parts;

/**
 * A date's n parts merged into `max` when n is more: runs of floor(n / max) or ceil(n / max)
 * consecutive parts (so each new part is at most ceil(n / max) times the size), licensee ranges
 * in name order, the uncovered apps with the run of their part; renumbered.
 */
export function mergeParts(parts: readonly PartPlan[], max: number): PartPlan[] {
  if (parts.length <= max) return [...parts];
  const merged: Omit<PartPlan, 'part' | 'of'>[] = [];
  for (let g = 0; g < max; g++) {
    const run = parts.slice(Math.floor((g * parts.length) / max), Math.floor(((g + 1) * parts.length) / max));
    const first = run.find((p) => p.first !== undefined)?.first;
    const last = run.findLast((p) => p.last !== undefined)?.last;
    merged.push({
      ...(first !== undefined && last !== undefined ? { first, last } : {}),
      ...(run.some((p) => p.unlicensed) ? { unlicensed: true as const } : {}),
    });
  }
  return merged.map((p, part) => ({ part, of: merged.length, ...p }));
}

/** A plan's parts within the budget, or why it cannot be. */
export type BoundedParts = { parts: PartPlan[][] } | { refused: string };

/**
 * Each date's parts (`wanted`, newest first) within the plan's budget: at most MAX_DATE_PARTS a
 * date, and the whole run within HISTORY_EVENTS_BUDGET events, lowering the most parts a date
 * may have (merging its parts, so each is larger) down to MIN_DATE_PARTS. A plan still over the
 * budget is refused, naming how many of its dates (newest first) one execution holds.
 */
export function boundParts(wanted: readonly (readonly PartPlan[])[]): BoundedParts {
  const countAt = (max: number, dates: readonly (readonly PartPlan[])[]) =>
    dates.reduce((n, p) => n + mergeParts(p, max).length, 0);
  for (let max = MAX_DATE_PARTS; max >= MIN_DATE_PARTS; max--)
    if (runEvents(wanted.length, countAt(max, wanted)) <= HISTORY_EVENTS_BUDGET)
      return { parts: wanted.map((p) => mergeParts(p, max)) };
  const parts = countAt(MIN_DATE_PARTS, wanted);
  let fit = 0;
  for (let n = 0; fit < wanted.length; fit++) {
    n += mergeParts(wanted[fit] ?? [], MIN_DATE_PARTS).length;
    if (runEvents(fit + 1, n) > HISTORY_EVENTS_BUDGET) break;
  }
  return {
    refused:
      `${wanted.length} dates in ${parts} parts would take up to ${runEvents(wanted.length, parts)} ` +
      `history events, past the ${HISTORY_EVENTS_BUDGET} one audit execution is planned for ` +
      `(Step Functions stops one at ${HISTORY_EVENTS_LIMIT}): audit at most ${fit} of these dates at once`,
  };
}
