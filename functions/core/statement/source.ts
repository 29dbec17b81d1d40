/**
 * A licensee statement's input, read from ONE stored report (reports/date=D/): the licensee's entry
 * of report.json, its lines of usage.jsonl and findings.jsonl, and the report's hashes. D is the
 * month's last day when that report exists, else the month's newest report (a statement to date).
 * Only this licensee's data is taken: the other licensees' entries, lines and findings, the apps
 * in no agreement, the data-quality section and the evidence (log object keys) are left behind.
 * Pure: the caller reads the files.
 */
import type { Finding } from '../audit/findings.ts';
import { sha256Hex } from '../audit/format.ts';
import type { FindingLifecycle } from '../audit/types.ts';
import { daysInMonth } from '../support.ts';

export interface StatementUsageRow {
  app_id: string;
  usage_date: string;
  requests: number;
  records: number;
  bytes: number;
  errors: number;
}

export interface StatementFinding {
  finding_id: string;
  rule: string;
  severity: string;
  metric: string;
  subject: string | null;
  period_start: string;
  period_end: string;
  observed: number;
  limit: number | null;
  excess: number | null;
  amount_owed: number | null;
  currency: string | null;
  detail: string;
  /** `open` when nobody changed it. */
  state: string;
  /** The waiver's last day (waived or waiver_expired), else null. */
  until: string | null;
}

/** A report the statement draws on, by its hashes (SPEC §5 manifest). */
export interface StatementReport {
  report_date: string;
  manifest_sha256: string;
  content_sha256: string;
  /** sha256 of the files read, as the manifest lists them. */
  files: { name: string; sha256: string }[];
}

export interface StatementInput {
  licensee: string;
  name: string;
  /** YYYY-MM. */
  month: string;
  /** The report's date: the month's last day, or earlier for a month to date. */
  through: string;
  complete: boolean;
  term: { start: string; end: string };
  paid_through: string | null | undefined;
  rate: { per_1000_records: number; currency: string } | null;
  totals: { requests: number; records: number; bytes: number; errors: number };
  apps: {
    app_id: string;
    use_case: string | null;
    requests: number;
    records: number;
    bytes: number;
    errors: number;
  }[];
  usage: StatementUsageRow[];
  findings: StatementFinding[];
  report: StatementReport;
}

/** The files of the report a statement reads. */
export const STATEMENT_SOURCES = ['report.json', 'usage.jsonl', 'findings.jsonl'] as const;

/** The last day of month YYYY-MM. */
export function monthEnd(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return `${month}-${String(daysInMonth(y ?? 0, m ?? 0)).padStart(2, '0')}`;
}

/** The report a statement of `month` reads: the month's last day if reported, else its newest report. */
export function statementDate(month: string, reportDates: readonly string[]): string | undefined {
  return reportDates.filter((d) => d.slice(0, 7) === month && d <= monthEnd(month)).at(-1);
}

const lines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

function statementFinding(f: Finding): StatementFinding {
  const l: FindingLifecycle | undefined = f.lifecycle;
  return {
    finding_id: f.finding_id,
    rule: f.rule,
    severity: f.severity,
    metric: f.metric,
    subject: f.subject,
    period_start: f.period_start,
    period_end: f.period_end,
    observed: f.observed,
    limit: f.limit,
    excess: f.excess,
    amount_owed: f.amount_owed,
    currency: f.currency,
    detail: f.detail,
    state: l?.state ?? 'open',
    until: l?.until ?? null,
  };
}

interface ReportLicensee {
  licensee: string;
  name: string;
  term: { start: string; end: string };
  paid_through?: string | null;
  rate: { per_1000_records: number; currency: string } | null;
  totals: { requests: number; records: number; bytes: number; errors: number };
  apps: {
    app_id: string;
    use_case?: string | null;
    requests: number;
    records: number;
    bytes: number;
    errors: number;
  }[];
}

/**
 * The statement input of `licensee` from the files of one report folder; a string says why there
 * is none (a file missing, or no such licensee in the report).
 */
export function statementInput(
  files: ReadonlyMap<string, string>,
  licensee: string,
  month: string,
): StatementInput | string {
  const [json, usage, findings, manifestText] = [...STATEMENT_SOURCES, 'manifest.json'].map((n) =>
    files.get(n),
  );
  if (json === undefined || usage === undefined || findings === undefined || manifestText === undefined)
    return 'the report is incomplete';
  const report = JSON.parse(json) as { report_date: string; licensees: ReportLicensee[] };
  const manifest = JSON.parse(manifestText) as { content_sha256: string; files: Record<string, string> };
  const entry = report.licensees.find((l) => l.licensee === licensee);
  if (!entry) return `licensee "${licensee}" is not in the report of ${report.report_date}`;
  return {
    licensee,
    name: entry.name,
    month,
    through: report.report_date,
    complete: report.report_date === monthEnd(month),
    term: { start: entry.term.start, end: entry.term.end },
    paid_through: entry.paid_through,
    rate: entry.rate
      ? { per_1000_records: entry.rate.per_1000_records, currency: entry.rate.currency }
      : null,
    totals: {
      requests: entry.totals.requests,
      records: entry.totals.records,
      bytes: entry.totals.bytes,
      errors: entry.totals.errors,
    },
    apps: entry.apps.map((a) => ({
      app_id: a.app_id,
      use_case: a.use_case ?? null,
      requests: a.requests,
      records: a.records,
      bytes: a.bytes,
      errors: a.errors,
    })),
    usage: lines<StatementUsageRow & { licensee: string | null }>(usage)
      .filter((u) => u.licensee === licensee)
      .map((u) => ({
        app_id: u.app_id,
        usage_date: u.usage_date,
        requests: u.requests,
        records: u.records,
        bytes: u.bytes,
        errors: u.errors,
      })),
    findings: lines<Finding>(findings)
      .filter((f) => f.licensee === licensee)
      .map(statementFinding),
    report: {
      report_date: report.report_date,
      manifest_sha256: sha256Hex(manifestText),
      content_sha256: manifest.content_sha256,
      files: STATEMENT_SOURCES.map((name) => ({ name, sha256: manifest.files[name] ?? '' })),
    },
  };
}
