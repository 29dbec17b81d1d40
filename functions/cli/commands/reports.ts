/** `auditor audit`, `auditor reports list | show | verify` and `auditor findings`. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST, reportKey } from '../../adapters/report-store.ts';
import type { DateResult } from '../../audit/run-audit.ts';
import { daysFrom } from '../../core/audit/format.ts';
import { verifyReport } from '../../core/audit/report.ts';
import type { Finding } from '../../core/audit/rules.ts';
import { CliError, parseDate } from '../errors.ts';
import { fmt, printJson, printTable, progressBar } from '../output.ts';
import type { Runtime } from '../runtime.ts';

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

async function resolveDate(rt: Runtime, date: string | undefined): Promise<string> {
  if (date) return parseDate(date, '--date');
  const latest = await rt.reports.latest();
  if (!latest) throw new CliError('no reports yet: run `auditor audit` first');
  return latest;
}

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
  else for (const p of problems) process.stdout.write(`${p.date}: ${p.problem}\n`);
  return problems.length === 0;
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
