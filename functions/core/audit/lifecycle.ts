/**
 * The finding lifecycle: what people do to a finding (`auditor findings ack|dispute|waive|resolve`)
 * and the state each report shows. Pure: the changes come from the control table (append-only,
 * never overwritten) and the state is derived from them and the report, deterministically.
 *
 * State machine (the state a report shows → the actions allowed; each action leads to one state):
 *
 *   open, reopened, waiver_expired   ack, dispute, waive, resolve
 *   acknowledged                     dispute, waive, resolve
 *   disputed                         ack, waive, resolve
 *   waived                           ack, dispute, resolve, waive (a new waiver replaces it)
 *   resolved                         none (it reopens by itself when the finding comes back)
 *
 *   ack → acknowledged   dispute → disputed   waive → waived   resolve → resolved
 *
 * `--until DATE` goes only with waive: the waiver's last day (inclusive), not before the report
 * date the waiver is made on; a waiver without --until has no end.
 *
 * A change is made on the newest report that holds the finding (its `report_date`) and applies to
 * the reports of that date and later; earlier reports do not show it. In a report dated D:
 *   - the changes with report_date ≤ D are the finding's history there, in the order made (seq);
 *   - the state is the last one's, except that a waiver whose `until` < D shows `waiver_expired`,
 *     and a resolved finding shows `reopened` when D is after the resolve's report date and the
 *     finding's observed value has risen by more than REOPEN_PERCENT (10%) past the one it was
 *     resolved at (new usage brought it back; a month-to-date value that grows a little does not).
 */
import type { Finding } from './findings.ts';
import { isRealDate } from './format.ts';
import type { FindingLifecycle, LifecycleAction, LifecycleChange, LifecycleState } from './types.ts';

export type { FindingLifecycle, LifecycleAction, LifecycleChange, LifecycleState };

export const LIFECYCLE_ACTIONS = [
  'ack',
  'dispute',
  'waive',
  'resolve',
] as const satisfies readonly LifecycleAction[];

/** The state each action leads to. */
export const ACTION_STATE: Record<LifecycleAction, LifecycleState> = {
  ack: 'acknowledged',
  dispute: 'disputed',
  waive: 'waived',
  resolve: 'resolved',
};

/** The actions allowed in each state (the state machine of the module comment). */
export const TRANSITIONS: Record<LifecycleState, readonly LifecycleAction[]> = {
  open: ['ack', 'dispute', 'waive', 'resolve'],
  reopened: ['ack', 'dispute', 'waive', 'resolve'],
  waiver_expired: ['ack', 'dispute', 'waive', 'resolve'],
  acknowledged: ['dispute', 'waive', 'resolve'],
  disputed: ['ack', 'waive', 'resolve'],
  waived: ['ack', 'dispute', 'resolve', 'waive'],
  resolved: [],
};

/**
 * How far (percent of the value it was resolved at) a resolved finding's observed value must rise
 * for it to reopen: the finding-event change threshold's default. Most findings are month to date
 * and only grow, so "any change" would reopen a resolved finding the next night; a value that
 * stays, falls (late data reprocessed away) or grows a little keeps it resolved.
 */
export const REOPEN_PERCENT = 10;

/** Whether `observed` has risen past `atResolve` by more than REOPEN_PERCENT (exact integers). */
export const reopens = (atResolve: number, observed: number): boolean =>
  BigInt(Math.round(observed)) * 100n > BigInt(Math.round(atResolve)) * BigInt(100 + REOPEN_PERCENT);

/** The changes of one finding that apply to a report dated `reportDate`, in the order made. */
function applying(changes: readonly LifecycleChange[], reportDate: string): LifecycleChange[] {
  return changes.filter((c) => c.report_date <= reportDate).sort((a, b) => a.seq - b.seq);
}

/**
 * A finding's lifecycle in the report dated `reportDate` where its observed value is `observed`;
 * undefined when no change applies (the finding is `open` and its line carries no lifecycle).
 */
export function lifecycleAt(
  changes: readonly LifecycleChange[],
  reportDate: string,
  observed: number,
): FindingLifecycle | undefined {
  const history = applying(changes, reportDate);
  const last = history.at(-1);
  if (last === undefined) return undefined;
  let state = last.state;
  if (state === 'waived' && last.until !== null && reportDate > last.until) state = 'waiver_expired';
  if (state === 'resolved' && reportDate > last.report_date && reopens(last.observed, observed))
    state = 'reopened';
  const until = state === 'waived' || state === 'waiver_expired' ? last.until : null;
  return { state, until, history };
}

/** The state a finding is in (`open` without changes). */
export function stateAt(
  changes: readonly LifecycleChange[],
  reportDate: string,
  observed: number,
): LifecycleState {
  return lifecycleAt(changes, reportDate, observed)?.state ?? 'open';
}

/** Every finding with its lifecycle attached where one applies (others are returned as they are). */
export function withLifecycle(
  findings: readonly Finding[],
  changes: ReadonlyMap<string, readonly LifecycleChange[]>,
  reportDate: string,
): Finding[] {
  return findings.map((f) => {
    const mine = changes.get(f.finding_id);
    const lifecycle = mine === undefined ? undefined : lifecycleAt(mine, reportDate, f.observed);
    return lifecycle === undefined ? f : { ...f, lifecycle };
  });
}

/** Changes grouped by finding id. */
export function byFinding(
  changes: Iterable<LifecycleChange & { finding_id: string }>,
): Map<string, LifecycleChange[]> {
  const out = new Map<string, LifecycleChange[]>();
  for (const { finding_id, ...c } of changes) {
    const list = out.get(finding_id);
    if (list) list.push(c);
    else out.set(finding_id, [c]);
  }
  return out;
}

/** What a person asks for: an action on the finding as the newest report holding it shows it. */
export interface ChangeRequest {
  action: LifecycleAction;
  note: string;
  until?: string | undefined;
  by: string;
  at: string;
  finding: Pick<Finding, 'finding_id' | 'report_date' | 'observed'>;
}

/**
 * The change to append, or the one-line reason it is refused (an invalid transition, --until
 * without waive or before the report date, an empty note).
 */
export function planChange(
  changes: readonly LifecycleChange[],
  req: ChangeRequest,
): { ok: true; change: LifecycleChange } | { ok: false; error: string } {
  const id = req.finding.finding_id;
  const date = req.finding.report_date;
  if (req.note.trim() === '') return { ok: false, error: '--note: expected some text' };
  if (req.until !== undefined) {
    if (req.action !== 'waive') return { ok: false, error: '--until goes only with waive' };
    if (!isRealDate(req.until))
      return { ok: false, error: `--until: expected a date YYYY-MM-DD, got "${req.until}"` };
    if (req.until < date)
      return {
        ok: false,
        error: `--until: ${req.until} is before the report date ${date} the waiver is made on`,
      };
  }
  const state = stateAt(changes, date, req.finding.observed);
  if (!TRANSITIONS[state].includes(req.action)) {
    const allowed = TRANSITIONS[state];
    return {
      ok: false,
      error:
        `finding ${id} is ${state} (report ${date}): cannot ${req.action} it` +
        (allowed.length === 0
          ? '; a resolved finding reopens by itself when it comes back'
          : `; allowed: ${allowed.join(', ')}`),
    };
  }
  const seq = changes.reduce((m, c) => Math.max(m, c.seq), 0) + 1;
  return {
    ok: true,
    change: {
      seq,
      action: req.action,
      state: ACTION_STATE[req.action],
      note: req.note,
      until: req.action === 'waive' ? (req.until ?? null) : null,
      by: req.by,
      at: req.at,
      report_date: date,
      observed: req.finding.observed,
    },
  };
}

/**
 * The report dates (among `written`, with when each was last written) that a change made after
 * they were written affects: a change applies from its report date to that month's end (a finding
 * id never outlives its month), so those reports must be rendered again to show it.
 */
export function datesToRerender(
  written: ReadonlyMap<string, string>,
  changes: Iterable<Pick<LifecycleChange, 'report_date' | 'at'>>,
): string[] {
  const out = new Set<string>();
  const list = [...changes];
  for (const [date, writtenAt] of written) {
    if (
      list.some(
        (c) => c.report_date <= date && c.report_date.slice(0, 7) === date.slice(0, 7) && c.at > writtenAt,
      )
    )
      out.add(date);
  }
  return [...out].sort();
}
