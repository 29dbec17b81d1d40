/** `auditor reports list | show | verify`. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { directorySource, type VerifyResult, verifyStoredReports } from '../../audit/verify-reports.ts';
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

/** Prints a verification result; true when there is no problem. */
function printVerification(result: VerifyResult, json: boolean, notes: string[]): boolean {
  const { dates, problems } = result;
  const ok = problems.length === 0;
  if (json) printJson({ reports: dates.length, ok, problems, notes, restated: result.restated ?? [] });
  else {
    for (const n of notes) writeLine(`note: ${n}`);
    for (const r of result.restated ?? [])
      writeLine(
        `${r.date}: restated ${r.restatements} time(s), last at ${r.last_at} (restatement.json: old and new values, and why)`,
      );
    if (ok)
      process.stdout.write(
        `${dates.length} report(s) verified: every file matches its manifest and the chain is intact\n`,
      );
    else for (const p of problems) writeLine(`${p.date}: ${p.problem}`);
  }
  return ok;
}

export async function verifyReports(rt: Runtime, json: boolean): Promise<boolean> {
  const result = await verifyStoredReports(
    rt.reports,
    await rt.control.anchors(),
    await rt.control.anchorContents(),
    (date) => rt.control.pendingOf(date),
  );
  return printVerification(result, json, []);
}

/** `reports verify --dir PATH`: a plain copy of reports/, no AWS, no anchors. */
export async function verifyReportsDir(dir: string, json: boolean): Promise<boolean> {
  const result = await verifyStoredReports(await directorySource(dir), undefined);
  return printVerification(result, json, [
    'a copy on disk cannot be checked against the control table’s anchors (run verify without --dir for that)',
  ]);
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
    .description(
      'check every report against its manifest, content_sha256, the control table’s anchors and the hash chain',
    )
    .option('--json', 'print JSON')
    .option('--dir <path>', 'verify a downloaded copy of reports/ instead (no AWS, no anchors)')
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const json = opts.json === true;
      const ok = opts.dir
        ? await verifyReportsDir(opts.dir, json)
        : await run((rt) => verifyReports(rt, json));
      if (!ok) throw new CliError('verification failed');
    });
}
