/**
 * `auditor findings ack|dispute|waive|resolve FINDING_ID --note TEXT [--until DATE]`: a change of a
 * finding's state (see functions/core/audit/lifecycle.ts for the state machine), appended to the
 * control table and never overwritten. It reaches the reports when they are audited again: the
 * nightly run re-renders the reports it affects, `auditor audit` does so at once.
 */
import type { Command } from 'commander';
import { LIFECYCLE_ACTIONS, type LifecycleAction, planChange } from '../../core/audit/lifecycle.ts';
import type { Finding } from '../../core/audit/rules.ts';
import type { LifecycleChange } from '../../core/audit/types.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import { osUser } from '../identity.ts';
import { printJson, writeLine } from '../output.ts';
import { readFindings } from './findings.ts';

/** How many reports, newest first, a command searches for the finding. */
export const FINDING_SEARCH_REPORTS = 40;

const FINDING_ID_RE = /^[0-9a-f]{20}$/;

/** The newest report (of the last FINDING_SEARCH_REPORTS) that holds the finding, and its line there. */
export async function findFinding(
  rt: Runtime,
  findingId: string,
): Promise<{ finding: Finding; dates: string[] }> {
  const dates = await rt.reports.listDates();
  if (FINDING_ID_RE.test(findingId)) {
    for (const date of dates.slice(-FINDING_SEARCH_REPORTS).reverse()) {
      const finding = (await readFindings(rt, date)).find((f) => f.finding_id === findingId);
      if (finding) return { finding, dates };
    }
  }
  const searched = Math.min(dates.length, FINDING_SEARCH_REPORTS);
  throw new CliError(
    `unknown finding id "${findingId}": no finding of the newest ${searched} report(s) has it; nothing was stored`,
  );
}

export interface ChangeResult {
  finding_id: string;
  licensee: string | null;
  rule: string;
  change: LifecycleChange;
  /** The reports that will show the change once audited again: its report date to that month's newest. */
  reports: { from: string; to: string };
}

export async function changeFinding(
  rt: Runtime,
  action: LifecycleAction,
  findingId: string,
  opts: { note: string; until?: string | undefined },
  now: Date = new Date(),
): Promise<ChangeResult> {
  const { finding, dates } = await findFinding(rt, findingId);
  const changes = await rt.control.findingChanges(findingId);
  const by = rt.identity ? await rt.identity() : osUser();
  const plan = planChange(changes, {
    action,
    note: opts.note,
    until: opts.until,
    by,
    at: now.toISOString(),
    finding,
  });
  if (!plan.ok) throw new CliError(`${plan.error}; nothing was stored`);
  if (!(await rt.control.appendLifecycleChange(findingId, plan.change)))
    throw new CliError(
      `finding ${findingId} was changed by another command meanwhile; nothing was stored, try again`,
    );
  const month = finding.report_date.slice(0, 7);
  const to = dates.filter((d) => d.slice(0, 7) === month).at(-1) ?? finding.report_date;
  return {
    finding_id: findingId,
    licensee: finding.licensee,
    rule: finding.rule,
    change: plan.change,
    reports: { from: finding.report_date, to },
  };
}

function describe(r: ChangeResult): string {
  const c = r.change;
  const until = c.until === null ? '' : ` until ${c.until}`;
  const range = r.reports.from === r.reports.to ? r.reports.from : `${r.reports.from} … ${r.reports.to}`;
  return (
    `finding ${r.finding_id} (${r.rule}, ${r.licensee ?? 'no agreement'}) is now ${c.state}${until}; ` +
    `recorded by ${c.by} at ${c.at}. The reports of ${range} show it once audited again ` +
    `(the nightly run does; now: auditor audit ${r.reports.from === r.reports.to ? `--date ${r.reports.from}` : `--from ${r.reports.from} --to ${r.reports.to}`})`
  );
}

const DESCRIPTIONS: Record<LifecycleAction, string> = {
  ack: 'acknowledge a finding (someone is on it)',
  dispute: 'dispute a finding (the licensee or the team contests it)',
  waive: 'waive a finding (still reported, marked with its waiver, until --until)',
  resolve: 'resolve a finding (it reopens if it comes back with new usage)',
};

/** Adds the four sub-commands to `auditor findings` (registered before this module, see index.ts). */
export function register(program: Command, { run }: CommandContext): void {
  const findings = program.commands.find((c) => c.name() === 'findings');
  if (!findings) throw new Error('finding-lifecycle: register the findings command first');
  for (const action of LIFECYCLE_ACTIONS) {
    const cmd = findings
      .command(action)
      .description(DESCRIPTIONS[action])
      .argument('<finding-id>')
      .requiredOption('--note <text>', 'why (stored with the change)');
    if (action === 'waive') cmd.option('--until <date>', 'last day of the waiver (default: no end)');
    cmd
      .option('--json', 'print JSON')
      .action(async (findingId: string, opts: { note: string; until?: string }, command: Command) => {
        const result = await run((rt) => changeFinding(rt, action, findingId, opts));
        // `findings` has a --json of its own, which takes the flag wherever it is written.
        if (command.optsWithGlobals<{ json?: boolean }>().json) printJson(result);
        else writeLine(describe(result));
      });
  }
}
