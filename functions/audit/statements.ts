/**
 * Use case: licensee statements (functions/core/statement/). One licensee's statement of a month is
 * rendered from one stored report (the month's last day, else its newest report), so every number
 * in it traces to a report whose hashes it prints. `auditor statement` writes it to local files;
 * the nightly run writes every licensee's statement under statements/licensee=L/month=YYYY-MM/ in
 * the reports bucket once the month's last day is audited (and any audit run that writes a month's
 * last report again writes its statements again, so that they always match that report).
 */

import { statementCsv, statementHtml } from '../core/statement/render.ts';
import { monthEnd, type StatementInput, statementDate, statementInput } from '../core/statement/source.ts';
import { parseJson, type ReportFiles, type StatementFiles } from './ports.ts';
import type { DateResult } from './run-audit.ts';

export const STATEMENT_HTML = 'statement.html';
export const STATEMENT_CSV = 'statement.csv';

export interface RenderedStatement {
  input: StatementInput;
  files: { name: string; body: string; contentType: string }[];
}

function rendered(input: StatementInput): RenderedStatement {
  return {
    input,
    files: [
      { name: STATEMENT_HTML, body: statementHtml(input), contentType: 'text/html; charset=utf-8' },
      { name: STATEMENT_CSV, body: statementCsv(input), contentType: 'text/csv; charset=utf-8' },
    ],
  };
}

/** A licensee's statement of `month`; a string says why there is none. */
export async function buildStatement(
  reports: ReportFiles,
  licensee: string,
  month: string,
): Promise<RenderedStatement | string> {
  const date = statementDate(month, await reports.listDates());
  if (date === undefined) return `no report of ${month} yet: run \`auditor audit\` first`;
  const input = statementInput(await reports.readAll(date), licensee, month);
  return typeof input === 'string' ? input : rendered(input);
}

/**
 * After an audit run: for each report date it audited that is its month's last day, written now
 * (or never given its statements, e.g. a run that stopped before this step), every licensee of that
 * report gets its statement. Answers the licensees written, as `L/YYYY-MM`.
 */
export async function writeMonthStatements(
  deps: { reports: ReportFiles; statements: StatementFiles },
  results: readonly DateResult[],
): Promise<string[]> {
  const written: string[] = [];
  for (const r of results) {
    const month = r.date.slice(0, 7);
    if (r.skipped || r.date !== monthEnd(month)) continue;
    const files = await deps.reports.readAll(r.date);
    const report = parseJson<{ licensees?: { licensee: string }[] }>(files.get('report.json'));
    for (const { licensee } of report?.licensees ?? []) {
      if (!r.written && (await deps.statements.readStatement(licensee, month, STATEMENT_CSV)) !== undefined)
        continue;
      const input = statementInput(files, licensee, month);
      if (typeof input === 'string') continue;
      await deps.statements.writeStatement(licensee, month, rendered(input).files);
      written.push(`${licensee}/${month}`);
    }
  }
  return written;
}
