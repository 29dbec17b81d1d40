/** `auditor audit`: runs the audit function for report dates (default: the nightly run). */
import type { Command } from 'commander';
import type { DateResult } from '../../audit/run-audit.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

export interface AuditOptions {
  date?: string;
  from?: string;
  to?: string;
  /** --json: no progress line on stderr. */
  json?: boolean;
}

/**
 * Runs the audit handler once: with no dates, the nightly run (yesterday plus late-data
 * re-audits); else `{date}` or `{from, to}`.
 */
export async function runAudit(rt: Runtime, opts: AuditOptions): Promise<DateResult[]> {
  if (opts.date && (opts.from || opts.to)) throw new CliError('give either --date or --from/--to, not both');
  if ((opts.from === undefined) !== (opts.to === undefined))
    throw new CliError('--from and --to go together');
  let event: Record<string, string> = {};
  if (opts.date) event = { date: parseDate(opts.date, '--date') };
  if (opts.from && opts.to) {
    const [from, to] = [parseDate(opts.from, '--from'), parseDate(opts.to, '--to')];
    if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
    event = { from, to };
  }
  // One request, whatever the range: the function (locally) or the state machine (--stack) audits the dates newest first.
  const { reports } = (await rt.invokeAudit(event, { quiet: opts.json === true })) as {
    reports: DateResult[];
  };
  // One date another run holds fails with that one line, as the function answers a direct request
  // (the state machine's run answers it as skipped).
  const only = reports[0];
  if (event.date !== undefined && reports.length === 1 && only?.skipped)
    throw new CliError(`${only.date}: ${only.skipped}`);
  return reports;
}

export function printAudit(results: readonly DateResult[], json: boolean): void {
  if (json) {
    printJson({ reports: results });
    return;
  }
  printTable(
    ['report date', 'findings', 'files'],
    results.map((r) =>
      r.skipped
        ? [r.date, '-', `skipped: ${r.skipped}`]
        : [r.date, r.findings, r.written ? 'written' : 'unchanged'],
    ),
    new Set([1]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('audit')
    .description('audit report dates (default: the nightly run, yesterday plus late-data re-audits)')
    .option('--date <date>', 'one report date')
    .option('--from <date>', 'first report date')
    .option('--to <date>', 'last report date')
    .option('--json', 'print JSON')
    .action(async (opts: { date?: string; from?: string; to?: string; json?: boolean }) => {
      printAudit(await run((rt) => runAudit(rt, opts)), opts.json === true);
    });
}
