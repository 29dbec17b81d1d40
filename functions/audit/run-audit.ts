/**
 * Use case: audit report dates and write their reports.
 *
 *   auditDate     one report date D: usage of W (D's month to date) from the committed aggregates,
 *                 every agreement, the rules, every report file, the manifest chained to the
 *                 previous report's manifest.
 *   nightly       D = the day before the scheduled time, plus a re-audit of every earlier date of
 *                 the last 35 days whose window's usage changed after its report was last checked.
 *
 * Idempotent: when a report's content (everything but report.json's run info) is what is stored
 * and the stored files still match their manifest, nothing is rewritten, so the files stay
 * byte-identical. Reports are chained by date: after an earlier date is rewritten, the manifests
 * of later dates are re-linked (their other files are unchanged).
 */
import { addDays, sha256Hex, stableJson, windowOf } from '../core/audit/format.ts';
import {
  type DataQualityObject,
  type Manifest,
  renderReport,
  summariseDataQuality,
  verifyReport,
} from '../core/audit/report.ts';
import { audit } from '../core/audit/rules.ts';
import type { ObjectManifest } from '../core/ledger.ts';
import {
  type AgreementReader,
  MANIFEST,
  parseJson,
  type ReportFiles,
  type ReportLog,
  type UsageReader,
} from './ports.ts';

export interface AuditDeps {
  usage: UsageReader;
  control: AgreementReader & ReportLog;
  reports: ReportFiles;
  now: () => Date;
  /** Recorded in report.json's run field. */
  trigger?: string;
}

export interface DateResult {
  date: string;
  findings: number;
  /** False when the stored report already had this content. */
  written: boolean;
}

/** How far back the nightly run looks for late data. */
export const LATE_DATA_DAYS = 35;

function toDataQuality(m: ObjectManifest): DataQualityObject {
  return {
    key: m.key,
    gen: m.gen,
    status: m.status,
    lines: m.lines,
    counted: m.counted,
    rejected: m.rejected,
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.rejectsKey ? { rejects_key: m.rejectsKey } : {}),
  };
}

async function previousManifest(
  deps: AuditDeps,
  date: string,
  dates: readonly string[],
): Promise<string | null> {
  const before = dates.filter((d) => d < date).at(-1);
  if (!before) return null;
  const text = await deps.reports.readFile(before, MANIFEST);
  return text === undefined ? null : sha256Hex(text);
}

export async function auditDate(
  deps: AuditDeps,
  date: string,
  knownDates?: readonly string[],
): Promise<DateResult> {
  const { start, end } = windowOf(date);
  // A change committed after this instant may be missing from what is read below, so this (not the
  // time the files are written) is what the late-data check compares day markers with.
  const readAt = deps.now().toISOString();
  const [agreements, usage, dqKeys] = await Promise.all([
    deps.control.listAgreements(),
    deps.usage.queryUsage({ from: start, to: end, perSource: true }),
    // Problem objects processed from the month's start to the night the report is written (D + 1):
    // a quarantined object has no usage day of its own.
    deps.usage.dataQualityKeys(start, addDays(end, 1)),
  ]);
  const findings = audit({ reportDate: date, agreements, usage });
  const sourceKeys = usage.flatMap((u) => u.sources.map((s) => s.key));
  const manifests = await deps.usage.getManifests([...sourceKeys, ...dqKeys]);
  const dates = knownDates ?? (await deps.reports.listDates());
  const rendered = renderReport({
    reportDate: date,
    agreements,
    usage,
    findings,
    dataQuality: summariseDataQuality(manifests.map(toDataQuality)),
    run: { generated_at: deps.now().toISOString(), trigger: deps.trigger ?? 'on-demand' },
    previousManifestSha256: await previousManifest(deps, date, dates),
  });

  const stored = await deps.reports.readAll(date);
  const storedManifest = stored.get(MANIFEST);
  if (storedManifest) {
    const m = parseJson<Manifest>(storedManifest);
    if (m?.content_sha256 === rendered.manifest.content_sha256 && verifyReport(stored).length === 0) {
      await deps.control.recordReport(date, readAt, m.content_sha256);
      return { date, findings: findings.length, written: false };
    }
  }
  await deps.reports.write(date, rendered.files);
  await deps.control.recordReport(date, readAt, rendered.manifest.content_sha256);
  return { date, findings: findings.length, written: true };
}

/**
 * Re-links every manifest to its predecessor, in date order. Only a manifest whose link is wrong
 * is rewritten (with the same file hashes). Reads only manifests.
 */
export async function rechain(deps: AuditDeps): Promise<string[]> {
  const dates = await deps.reports.listDates();
  const relinked: string[] = [];
  let previous: string | null = null;
  for (const date of dates) {
    const text = await deps.reports.readFile(date, MANIFEST);
    if (text === undefined) continue;
    const m = parseJson<Manifest>(text);
    // A damaged manifest is left for `reports verify` to report and the next audit of its date to
    // rewrite; the chain continues from it as it is.
    if (!m) {
      previous = text;
      continue;
    }
    const want: string | null = previous === null ? null : sha256Hex(previous);
    if (m.previous_manifest_sha256 !== want) {
      const fixed: string = `${stableJson({ ...m, previous_manifest_sha256: want }, 2)}\n`;
      await deps.reports.write(date, [{ name: MANIFEST, body: fixed, contentType: 'application/json' }]);
      relinked.push(date);
      previous = fixed;
      continue;
    }
    previous = text;
  }
  return relinked;
}

/** Audits the dates in ascending order, re-chains, then moves latest.json forward. */
export async function auditDates(
  deps: AuditDeps,
  dates: readonly string[],
  onProgress?: (done: number, total: number, result: DateResult) => void,
): Promise<DateResult[]> {
  const sorted = [...new Set(dates)].sort();
  const results: DateResult[] = [];
  let known = await deps.reports.listDates();
  for (const date of sorted) {
    const result = await auditDate(deps, date, known);
    results.push(result);
    if (!known.includes(date)) known = [...known, date].sort();
    onProgress?.(results.length, sorted.length, result);
  }
  // Always, so that a run interrupted between a report and the re-linking is mended by the next.
  await rechain(deps);
  // latest.json names the newest report there is (which also mends a missing or damaged one).
  const newest = (await deps.reports.listDates()).at(-1);
  if (newest !== undefined && newest !== (await deps.reports.latest())) await deps.reports.setLatest(newest);
  return results;
}

/** The dates the nightly run audits for a schedule firing at `scheduledTime`. */
export async function nightlyDates(deps: AuditDeps, scheduledTime: Date): Promise<string[]> {
  const today = scheduledTime.toISOString().slice(0, 10);
  const yesterday = addDays(today, -1);
  const oldest = addDays(yesterday, -LATE_DATA_DAYS);
  const earlier = addDays(yesterday, -1);
  const [written, changed] = await Promise.all([
    deps.control.reportTimes(oldest, earlier),
    deps.usage.changedDays(`${oldest.slice(0, 7)}-01`, earlier),
  ]);
  const stale: string[] = [];
  for (const [date, writtenAt] of written) {
    const { start } = windowOf(date);
    for (const [day, changedAt] of changed) {
      if (day >= start && day <= date && changedAt > writtenAt) {
        stale.push(date);
        break;
      }
    }
  }
  return [...stale.sort(), yesterday];
}
