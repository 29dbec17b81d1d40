/**
 * findings.csv (SPEC §5): UTF-8 with BOM, CRLF, RFC 4180 quoting, text cells that a spreadsheet
 * could take for a formula prefixed with ' (csvCell); numbers stay numbers. Rendered as a stream
 * of lines (report.ts coalesces them into chunks).
 */
import type { Finding } from './findings.ts';
import { FINDING_FIELDS, type FindingEvidence } from './types.ts';

/**
 * A text cell a spreadsheet could take for a formula (OWASP "CSV injection"): its first character
 * that is not whitespace (\s), a control character (\p{Cc}: C0, DEL, C1) or an invisible format
 * character (\p{Cf}, e.g. U+200B, U+FEFF) is = + - @ or a full-width ＝ ＋ － ＠ (U+FF1D, U+FF0B,
 * U+FF0D, U+FF20); or it starts with a tab or a carriage return.
 */
const FORMULA_LIKE = /^(?:[\s\p{Cc}\p{Cf}]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|[\t\r])/u;

/**
 * One CSV cell: a text cell that looks like a formula (FORMULA_LIKE) gets a leading ' (OWASP), then
 * any cell is quoted per RFC 4180 when needed. A number stays a number (a negative one included):
 * it is written as is, never prefixed.
 */
export function csvCell(value: string | number | null): string {
  let s = value === null ? '' : String(value);
  if (typeof value === 'string' && FORMULA_LIKE.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The evidence cell: "key#gen; …" for the sources listed, then "(+N more of M)" when truncated. */
function evidenceCell(e: FindingEvidence): string {
  const shown = e.sources.map((s) => `${s.key}#${s.gen}`);
  if (e.source_count > shown.length)
    shown.push(`(+${e.source_count - shown.length} more of ${e.source_count})`);
  return shown.join('; ');
}

/** findings.csv, a line at a time (the BOM with the header). */
export function* findingsCsv(findings: readonly Finding[]): Generator<string> {
  yield `\uFEFF${FINDING_FIELDS.join(',')}\r\n`;
  for (const f of findings) {
    const cells: Record<(typeof FINDING_FIELDS)[number], string | number | null> = {
      ...f,
      amount_owed: f.amount_owed === null ? null : f.amount_owed.toFixed(2),
      apps: f.apps.map((a) => `${a.app_id}=${a.value} (${a.share})`).join('; '),
      evidence: evidenceCell(f.evidence),
    };
    yield `${FINDING_FIELDS.map((c) => csvCell(cells[c])).join(',')}\r\n`;
  }
}
