/** `auditor findings`: the findings of a report (default: the latest), filtered. */
import { type Command, Option } from 'commander';
import { type Finding, RULES, SEVERITIES } from '../../core/audit/rules.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError, parseDate } from '../errors.ts';
import { printJson, printTable } from '../output.ts';

/** The date asked for, else the date latest.json names. */
export async function resolveDate(rt: Runtime, date: string | undefined): Promise<string> {
  if (date) return parseDate(date, '--date');
  const latest = await rt.reports.latest();
  if (!latest) throw new CliError('no reports yet: run `auditor audit` first');
  return latest;
}

export async function readFindings(rt: Runtime, date: string): Promise<Finding[]> {
  const text = await rt.reports.readFile(date, 'findings.jsonl');
  if (text === undefined) throw new CliError(`no report for ${date}`);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Finding);
}

export interface FindingsOptions {
  date?: string;
  rule?: string;
  licensee?: string;
  severity?: string;
  json?: boolean;
}

export async function queryFindings(rt: Runtime, opts: FindingsOptions): Promise<Finding[]> {
  const date = await resolveDate(rt, opts.date);
  return (await readFindings(rt, date)).filter(
    (f) =>
      (!opts.rule || f.rule === opts.rule) &&
      (!opts.licensee || f.licensee === opts.licensee) &&
      (!opts.severity || f.severity === opts.severity),
  );
}

const money = (f: Finding): string =>
  f.amount_owed === null
    ? ''
    : `${f.amount_owed.toLocaleString('en-US', { minimumFractionDigits: 2 })} ${f.currency ?? ''}`.trim();

export function printFindings(findings: readonly Finding[], json: boolean): void {
  if (json) {
    printJson({ findings });
    return;
  }
  if (findings.length === 0) {
    process.stdout.write('no findings\n');
    return;
  }
  printTable(
    ['severity', 'rule', 'licensee', 'metric', 'subject', 'period', 'observed', 'limit', 'excess', 'owed'],
    findings.map((f) => [
      f.severity,
      f.rule,
      f.licensee ?? '—',
      f.metric,
      f.subject ?? '',
      f.period_start === f.period_end ? f.period_start : `${f.period_start} … ${f.period_end}`,
      f.observed,
      f.limit ?? '',
      f.excess ?? '',
      money(f),
    ]),
    new Set([6, 7, 8, 9]),
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('findings')
    .description('findings of a report (default: the latest)')
    .option('--date <date>', 'report date')
    .addOption(new Option('--rule <rule>', 'only this rule').choices(RULES))
    .option('--licensee <licensee>', 'only this licensee')
    .addOption(new Option('--severity <severity>', 'only this severity').choices(SEVERITIES))
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        date?: string;
        rule?: string;
        licensee?: string;
        severity?: string;
        json?: boolean;
      }) => {
        printFindings(await run((rt) => queryFindings(rt, opts)), opts.json === true);
      },
    );
}
