/** `auditor reports list | show | verify`. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { MANIFEST } from '../../audit/ports.ts';
import { verifyReport } from '../../core/audit/report.ts';
import { reportKey } from '../../shared/resources.ts';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import { fmt, printJson, printTable, writeLine } from '../output.ts';
import { printFindings, readFindings, resolveDate } from './findings.ts';

export async function listReports(rt: Runtime, json: boolean): Promise<void> {
  const [dates, latest] = await Promise.all([rt.reports.listDates(), rt.reports.latest()]);
  if (json) {
    printJson({ reports: dates.map((date) => ({ date, latest: date === latest })), latest: latest ?? null });
    return;
  }
  if (dates.length === 0) {
    process.stdout.write('no reports yet\n');
    return;
  }
  printTable(
    ['report date', ''],
    dates.map((d) => [d, d === latest ? 'latest' : '']),
  );
}

/** Copies report.html somewhere a person can open it; returns where. */
async function reportHtmlLocation(rt: Runtime, date: string): Promise<string> {
  if (!rt.local) return `s3://${rt.reportsBucket}/${reportKey(date, 'report.html')}`;
  const html = await rt.reports.readFile(date, 'report.html');
  if (html === undefined) throw new CliError(`report ${date} has no report.html`);
  const dir = join(rt.local.dataDir, 'exports', `date=${date}`);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'report.html');
  await writeFile(path, html);
  return path;
}

export async function showReport(rt: Runtime, opts: { date?: string; json?: boolean }): Promise<void> {
  const date = await resolveDate(rt, opts.date);
  const text = await rt.reports.readFile(date, 'report.json');
  if (text === undefined) throw new CliError(`no report for ${date}`);
  if (opts.json) {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return;
  }
  const findings = await readFindings(rt, date);
  const bySeverity = new Map<string, number>();
  for (const f of findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  process.stdout.write(`report ${date}: ${fmt(findings.length)} findings`);
  const parts = ['critical', 'high', 'medium', 'low']
    .filter((s) => bySeverity.has(s))
    .map((s) => `${bySeverity.get(s)} ${s}`);
  process.stdout.write(parts.length ? ` (${parts.join(', ')})\n` : '\n');
  printFindings(findings, false);
  process.stdout.write(`report.html: ${await reportHtmlLocation(rt, date)}\n`);
}

export async function verifyReports(rt: Runtime, json: boolean): Promise<boolean> {
  const dates = await rt.reports.listDates();
  const problems: { date: string; problem: string }[] = [];
  let previous: string | null = null;
  for (const date of dates) {
    const files = await rt.reports.readAll(date);
    for (const p of verifyReport(files, previous)) problems.push({ date, problem: p });
    previous = files.get(MANIFEST) ?? null;
  }
  const latest = await rt.reports.latest();
  if (dates.length > 0 && latest !== dates.at(-1)) {
    problems.push({
      date: latest ?? '-',
      problem: `latest.json names ${latest ?? 'nothing'}, the newest report is ${dates.at(-1)}`,
    });
  }
  if (json) printJson({ reports: dates.length, ok: problems.length === 0, problems });
  else if (problems.length === 0)
    process.stdout.write(
      `${dates.length} report(s) verified: every file matches its manifest and the chain is intact\n`,
    );
  else for (const p of problems) writeLine(`${p.date}: ${p.problem}`);
  return problems.length === 0;
}

export function register(program: Command, { run }: CommandContext): void {
  const reports = program.command('reports').description('compliance reports');
  reports
    .command('list')
    .description('report dates')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run((rt) => listReports(rt, opts.json === true)));
  reports
    .command('show')
    .description('one report (default: the latest); --json prints report.json')
    .option('--date <date>', 'report date')
    .option('--json', 'print report.json')
    .action((opts: { date?: string; json?: boolean }) => run((rt) => showReport(rt, opts)));
  reports
    .command('verify')
    .description('check every report file against its manifest and the manifests’ hash chain')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      if (!(await run((rt) => verifyReports(rt, opts.json === true))))
        throw new CliError('verification failed');
    });
}
