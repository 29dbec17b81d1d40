/**
 * The parts of auditDate that differ when usage comes from per-(app, day) rollups (AuditDeps
 * .rollups): findings with evidence streamed into evidence/FINDING_ID.jsonl (evidence.ts), which
 * objects data quality looks up, and the evidence files of findings that are gone.
 */
import type { Manifest } from '../core/audit/report.ts';
import { REPORT_MAX_SOURCES } from '../core/audit/report.ts';
import type { AuditInput, Finding } from '../core/audit/rules.ts';
import { compareStrings } from '../core/support.ts';
import { auditWithStreamedEvidence } from './evidence.ts';
import { settledFiles } from './pending-evidence.ts';
import { MANIFEST, type PendingEvidence, parseJson, type ReportFiles, type RollupUsage } from './ports.ts';

export interface RollupEvidence {
  findings: Finding[];
  /** evidence/FINDING_ID.jsonl → sha256, for the manifest. */
  files: Record<string, string>;
  /** The objects data quality looks up: the first REPORT_MAX_SOURCES of the rows' sources. */
  sourceKeys: string[];
  /** Whether the rows name fewer objects than are behind them, or more than are looked up. */
  sourcesTruncated: boolean;
}

type Rows = AuditInput['usage'][number] & { sourceCount?: number };

export async function rollupEvidence(
  deps: { reports: ReportFiles; control: PendingEvidence },
  rollups: RollupUsage,
  input: AuditInput,
): Promise<RollupEvidence> {
  const date = input.reportDate;
  const stored = parseJson<Manifest>(await deps.reports.readFile(date, MANIFEST));
  const listed = stored && typeof stored.files === 'object' && stored.files !== null ? stored.files : {};
  const storedFiles = await settledFiles(deps.control, date, listed);
  const { findings, files } = await auditWithStreamedEvidence(rollups, input, storedFiles, async (f, sha) => {
    // Recorded before it is written: a run failing before the manifest leaves no "tampered" file.
    await deps.control.pendingEvidence?.(date, f.name, sha);
    await deps.reports.write(date, [f]);
  });
  const keys = new Set<string>();
  let named = true;
  for (const r of input.usage as Rows[]) {
    for (const s of r.sources) keys.add(s.key);
    if (r.sourceCount !== undefined && r.sourceCount > r.sources.length) named = false;
  }
  const sorted = [...keys].sort(compareStrings);
  return {
    findings,
    files,
    sourceKeys: sorted.slice(0, REPORT_MAX_SOURCES),
    sourcesTruncated: !named || sorted.length > REPORT_MAX_SOURCES,
  };
}

/** Deletes the evidence files the stored manifest listed that the new one does not. */
export async function removeStaleEvidence(
  reports: ReportFiles,
  date: string,
  storedManifest: string | undefined,
  manifest: Manifest,
): Promise<void> {
  const before = parseJson<Manifest>(storedManifest)?.files ?? {};
  const gone = Object.keys(before).filter(
    (n) => n.startsWith('evidence/') && !Object.hasOwn(manifest.files, n),
  );
  if (gone.length > 0) await reports.remove?.(date, gone);
}
