/** `auditor audit`: runs the audit function for report dates (default: the nightly run). */
import type { Command } from 'commander';
import type { DateResult } from '../../audit/run-audit.ts';
import { daysFrom } from '../../core/audit/format.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate } from '../errors.ts';
import { printJson, printTable, progressBar } from '../output.ts';

export interface AuditOptions {
  date?: string;
  from?: string;
  to?: string;
}

/**
 * Runs the audit handler: with no dates, the nightly run (yesterday plus late-data re-audits);
 * else once per date, with a progress bar on a terminal.
 */
export async function runAudit(rt: Runtime, opts: AuditOptions): Promise<DateResult[]> {
  if (opts.date && (opts.from || opts.to)) throw new CliError('give either --date or --from/--to, not both');
  if ((opts.from === undefined) !== (opts.to === undefined))
    throw new CliError('--from and --to go together');
  let dates: string[] | undefined;
  if (opts.date) dates = [parseDate(opts.date, '--date')];
  if (opts.from && opts.to) {
    const [from, to] = [parseDate(opts.from, '--from'), parseDate(opts.to, '--to')];
    if (from > to) throw new CliError(`--from ${from} is after --to ${to}`);
    dates = daysFrom(from, to);
  }
  if (!dates) return ((await rt.invokeAudit({})) as { reports: DateResult[] }).reports;

  const bar = progressBar('auditing {bar} {value}/{total} dates  {date}', dates.length > 1);
  bar?.start(dates.length, 0, { date: '' });
  const results: DateResult[] = [];
  try {
    for (const date of dates) {
      const out = (await rt.invokeAudit({ date })) as { reports: DateResult[] };
      results.push(...out.reports);
      bar?.increment(1, { date });
    }
  } finally {
    bar?.stop();
  }
  return results;
}

export function printAudit(results: readonly DateResult[], json: boolean): void {
  if (json) {
    printJson({ reports: results });
    return;
  }
  printTable(
    ['report date', 'findings', 'files'],
    results.map((r) => [r.date, r.findings, r.written ? 'written' : 'unchanged']),
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
