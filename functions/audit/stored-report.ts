/**
 * What auditDate needs of the report already stored for its date, read without holding the folder:
 * whether every stored file matches the stored manifest (the checks of verify-report.ts verifyReport, on
 * sha256 streamed per file, so evidence files are never held in memory), and, only when a report
 * with other content replaces it, the two stored files a restatement reads.
 */
import { type Manifest, REPORT_FILES } from '../core/audit/report.ts';
import { MANIFEST, parseJson, type ReportFiles } from './ports.ts';

/**
 * True when the stored folder of `date` is what its manifest (`manifestText`) says: every listed
 * file present with that sha256, every report file listed, no file the manifest does not cover, and
 * report.json naming the manifest's report date (verifyReport's checks, with no chain link).
 */
export async function storedReportIntact(
  reports: ReportFiles,
  date: string,
  manifestText: string,
): Promise<boolean> {
  const m = parseJson<Partial<Manifest> | null>(manifestText);
  if (!m || typeof m !== 'object' || typeof m.files !== 'object' || m.files === null) return false;
  if (typeof m.report_date !== 'string') return false;
  const listed: Record<string, unknown> = m.files;
  const hashes = await reports.fileHashes(date);
  if (hashes.get(MANIFEST) === undefined) return false;
  for (const [name, hash] of Object.entries(listed)) if (hashes.get(name) !== hash) return false;
  for (const name of REPORT_FILES) if (!Object.hasOwn(listed, name)) return false;
  for (const name of hashes.keys()) if (name !== MANIFEST && !Object.hasOwn(listed, name)) return false;
  const report = parseJson<{ report_date?: unknown } | null>(await reports.readFile(date, 'report.json'));
  return typeof report === 'object' && report !== null && report.report_date === m.report_date;
}

/** The stored files a restatement reads (audit-terms.ts restatedFiles), by name. */
export async function restatementInputs(reports: ReportFiles, date: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of ['restatement.json', 'findings.jsonl']) {
    const text = await reports.readFile(date, name);
    if (text !== undefined) out.set(name, text);
  }
  return out;
}
