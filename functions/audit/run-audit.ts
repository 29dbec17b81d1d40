/**
 * Use case: audit report dates and write their reports.
 *
 *   auditDate     one report date D: usage of W (D's month to date) from the committed aggregates,
 *                 every agreement, the rules, every report file, the manifest chained to the
 *                 previous report's manifest.
 *   nightly       D = the day before the scheduled time, plus a re-audit of every earlier date of
 *                 the last 35 days whose window's usage changed after its report was last checked,
 *                 plus every such date with no report at all (from the first day with usage on:
 *                 the first usage day marker from the oldest date's month onward).
 *
 * Idempotent: when a report's content (everything but report.json's run info) is what is stored
 * and the stored files still match their manifest, nothing is rewritten, so the files stay
 * byte-identical. Reports are chained by date: after an earlier date is rewritten, the manifests
 * of later dates are re-linked (their other files are unchanged).
 *
 * Anchored: every manifest the audit writes is also recorded (sha256 of its bytes) in the control
 * table, append-only. Before it writes anything, a run checks the part of the chain it may touch
 * (the predecessor of its earliest date and every date after it) against those anchors and against
 * the files, and that no anchored date's folder is gone; any mismatch throws a ChainMismatchError
 * naming the date and the file, and nothing is written or re-linked over it.
 */

import { markCapped, withinObjectsCapped } from '../core/audit/duplicate-ids.ts';
import { addDays, daysFrom, sha256Hex, windowOf } from '../core/audit/format.ts';
import { byFinding, datesToRerender, withLifecycle } from '../core/audit/lifecycle.ts';
import {
  type DataQualityObject,
  type Manifest,
  manifestJson,
  streamReport,
  summariseDataQuality,
} from '../core/audit/report.ts';
import { audit } from '../core/audit/rules.ts';
import type { DataQuality } from '../core/audit/types.ts';
import { windowDuplicates } from '../core/audit-duplicates.ts';
import type { ObjectManifest, UsageRow } from '../core/ledger.ts';
import { checkChain, leaseHeldMessage, RunLeases, rechain } from './audit-chain.ts';
import { removeStaleEvidence, rollupEvidence } from './audit-rollups.ts';
import { type DateTerms, readTerms, restatedFiles, termsStale } from './audit-terms.ts';
import { settleEvidence } from './pending-evidence.ts';
import {
  type AgreementReader,
  type AuditLeases,
  type ChainAnchors,
  type FindingEventSink,
  type LifecycleLog,
  MANIFEST,
  type PartResults,
  type PendingEvidence,
  parseJson,
  type ReportFiles,
  type ReportLog,
  type RollupUsage,
  type StatementFiles,
  type TermsReader,
  type UsageReader,
} from './ports.ts';
import { restatementInputs, storedReportIntact } from './stored-report.ts';

// The chain's errors and lease constants, at the path their callers have always imported them from.
export {
  CHAIN_LEASE,
  CHAIN_LEASE_TRIES,
  ChainMismatchError,
  checkChain,
  LEASE_MS,
  LeaseHeldError,
  leaseHeldMessage,
  RunLeases,
  rechain,
} from './audit-chain.ts';

export interface AuditDeps {
  usage: UsageReader;
  control: AgreementReader & ReportLog & ChainAnchors & AuditLeases & TermsReader & PendingEvidence;
  reports: ReportFiles;
  now: () => Date;
  /** Recorded in report.json's run field. */
  trigger?: string;
  /** How long a run's leases last (default LEASE_MS); longer than the function's timeout. */
  leaseMs?: number;
  /** Waits between tries for the chain's lease (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Finding events: each audited date's changes recorded, delivered at the end of the run. */
  events?: FindingEventSink;
  /** The findings' lifecycle changes, attached to the findings reported (none without it). */
  lifecycle?: Pick<LifecycleLog, 'lifecycleChanges'>;
  /** Where the licensee statements go once a month's last report is written (statements.ts). */
  statements?: StatementFiles;
  /**
   * Per-(app, day) rollups: when given, the audit reads them instead of one row per log object and
   * streams each finding's evidence into evidence/FINDING_ID.jsonl (audit/evidence.ts).
   */
  rollups?: RollupUsage;
  /** Where the parts of a split date leave their results (audit/parts.ts); without it no date is split. */
  partResults?: PartResults;
  /** The size past which a date is split into parts, in objects (default AUDIT_PART_OBJECTS). */
  partObjects?: number;
  /**
   * The terms of one date already read (a split date's join: the terms its parts' evidence is
   * checked against are then the ones the audit uses); auditDate reads them otherwise.
   */
  termsRead?: { date: string; terms: DateTerms; readAt: string };
}

export interface DateResult {
  date: string;
  findings: number;
  /** False when the stored report already had this content (or the date was skipped). */
  written: boolean;
  /**
   * Only on a date another audit run was auditing, left to it (findings 0, written false):
   * `lease held by another audit run until <ISO time>`.
   */
  skipped?: string;
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
    ...(m.rejectReasons ? { reject_reasons: m.rejectReasons } : {}),
  };
}

/**
 * Data quality with the window's duplicate request_ids (issue 11 item 5), when there are any or
 * when the manifest of some source key says its within-object count was capped.
 */
function withDuplicates(
  dq: DataQuality,
  usage: readonly UsageRow[],
  start: string,
  end: string,
  manifests: readonly ObjectManifest[],
  sourceKeys: readonly string[],
): DataQuality {
  const dup = markCapped(windowDuplicates(usage, start, end), withinObjectsCapped(manifests, sourceKeys));
  return dup ? { ...dq, duplicate_request_ids: dup } : dq;
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

/** Usage read once for several dates of one month (from its first day), and when it was read. */
export interface MonthUsage {
  rows: UsageRow[];
  readAt: string;
}

/** Reads the usage of `date`'s month up to `date` (per log object), for every earlier date of it. */
export async function readMonthUsage(deps: AuditDeps, date: string): Promise<MonthUsage> {
  const readAt = deps.now().toISOString();
  // With rollups each date reads its own window's (cheap once they are fresh).
  if (deps.rollups) return { rows: [], readAt };
  const rows = await deps.usage.queryUsage({ from: windowOf(date).start, to: date, perSource: true });
  return { rows, readAt };
}

export async function auditDate(
  deps: AuditDeps,
  date: string,
  knownDates?: readonly string[],
  monthUsage?: MonthUsage,
): Promise<DateResult> {
  const { start, end } = windowOf(date);
  // A change committed after this instant may be missing from what is read below, so this (not the
  // time the files are written) is what the late-data check compares day markers with.
  const readAt =
    deps.termsRead?.date === date
      ? deps.termsRead.readAt
      : deps.rollups
        ? deps.now().toISOString()
        : (monthUsage?.readAt ?? deps.now().toISOString());
  const [terms, usage, dqKeys, changes] = await Promise.all([
    // Versioned terms: per licensee the agreement in force on D, and on each day of W (issue 11).
    deps.termsRead?.date === date ? deps.termsRead.terms : readTerms(deps.control, date),
    // The window's rows of a month read (the same rows, in the same order, as reading the window).
    deps.rollups
      ? deps.rollups.usage(start, end)
      : monthUsage
        ? monthUsage.rows.filter((r) => r.day >= start && r.day <= end)
        : deps.usage.queryUsage({ from: start, to: end, perSource: true }),
    // Problem objects processed from the month's start to the night the report is written (D + 1):
    // a quarantined object has no usage day of its own.
    deps.usage.dataQualityKeys(start, addDays(end, 1)),
    deps.lifecycle?.lifecycleChanges() ?? [],
  ]);
  const { agreements } = terms;
  const auditInput = { reportDate: date, agreements, usage, termsOn: terms.termsOn };
  const streamed = deps.rollups ? await rollupEvidence(deps, deps.rollups, auditInput) : undefined;
  const findings = withLifecycle(streamed?.findings ?? audit(auditInput), byFinding(changes), date);
  const sourceKeys = streamed ? streamed.sourceKeys : usage.flatMap((u) => u.sources.map((s) => s.key));
  const manifests = await deps.usage.getManifests([...sourceKeys, ...dqKeys]);
  const dates = knownDates ?? (await deps.reports.listDates());
  // Streamed: the manifest's hashes from a first rendering; each file rendered again as it is written.
  const rendered = streamReport({
    reportDate: date,
    agreements,
    usage,
    findings,
    dataQuality: withDuplicates(
      summariseDataQuality(manifests.map(toDataQuality)),
      usage,
      start,
      end,
      manifests,
      sourceKeys,
    ),
    run: { generated_at: deps.now().toISOString(), trigger: deps.trigger ?? 'on-demand' },
    previousManifestSha256: await previousManifest(deps, date, dates),
    terms: terms.used,
    registryGaps: terms.registryGaps,
    ...(streamed ? { extraFiles: streamed.files, sourcesTruncated: streamed.sourcesTruncated } : {}),
  });

  // The stored report: its manifest, then (streamed hashes) whether its files match it.
  const storedManifest = await deps.reports.readFile(date, MANIFEST);
  let out = rendered;
  if (storedManifest) {
    const m = parseJson<Manifest>(storedManifest);
    if (
      m?.content_sha256 === rendered.manifest.content_sha256 &&
      (await storedReportIntact(deps.reports, date, storedManifest))
    ) {
      // Unchanged: the audit has just recomputed this content, so a report written before anchors
      // existed gets its anchor here (a no-op when it is already the newest).
      await deps.control.anchorManifest(date, sha256Hex(storedManifest), readAt, m.content_sha256);
      await deps.control.recordReport(date, readAt, m.content_sha256);
      await settleEvidence(deps, date, m.files ?? {});
      await deps.events?.record(date, findings);
      return { date, findings: findings.length, written: false };
    }
    // Other content replaces a written report: a restatement says what changed and why.
    if (typeof m?.content_sha256 === 'string')
      out = await restatedFiles(deps, {
        date,
        stored: await restatementInputs(deps.reports, date),
        storedManifest: { sha256: sha256Hex(storedManifest), content_sha256: m.content_sha256 },
        rendered,
        findings,
        terms,
        at: readAt,
      });
  }
  await deps.reports.write(date, out.files);
  if (streamed) await removeStaleEvidence(deps.reports, date, storedManifest, rendered.manifest);
  const manifestBody = manifestJson(out.manifest);
  await deps.control.anchorManifest(date, sha256Hex(manifestBody), readAt, rendered.manifest.content_sha256);
  await deps.control.recordReport(date, readAt, rendered.manifest.content_sha256);
  await settleEvidence(deps, date, rendered.manifest.files);
  await deps.events?.record(date, findings);
  return { date, findings: findings.length, written: true };
}

/**
 * Audits these dates, one run at a time per date: each date's lease is taken first (newest first;
 * a date another run holds is skipped, with `lease held by another audit run until …`). Then checks
 * the chain from the earliest date taken (checkChain), audits the dates newest first (so a timeout
 * loses the oldest re-audit, not the newest report; usage read once per month of the run), and, under the chain's lease, re-links forward
 * from the earliest and moves latest.json forward. The leases are released at the end.
 */
export async function auditDates(
  deps: AuditDeps,
  dates: readonly string[],
  onProgress?: (done: number, total: number, result: DateResult) => void,
): Promise<DateResult[]> {
  let newestFirst = [...new Set(dates)].sort().reverse();
  const leases = new RunLeases(deps);
  try {
    const skipped = new Map<string, DateResult>();
    const take = async (date: string) => {
      const until = await leases.take(date);
      if (until !== undefined)
        skipped.set(date, { date, findings: 0, written: false, skipped: leaseHeldMessage(until) });
    };
    for (const date of newestFirst) await take(date);
    let first = newestFirst.filter((d) => !skipped.has(d)).at(-1);
    // A date with a failed run's pending evidence files is audited again (pending-evidence.ts).
    const pending = first === undefined ? [] : await checkChain(deps, first, leases.owner);
    const extra = pending.filter((d) => !newestFirst.includes(d));
    for (const date of extra) await take(date);
    newestFirst = [...newestFirst, ...extra].sort().reverse();
    first = newestFirst.filter((d) => !skipped.has(d)).at(-1);
    const results: DateResult[] = [];
    let known = await deps.reports.listDates();
    // Usage is read once per month of the run (from its newest date there), not once per date;
    // with rollups auditDate reads those instead, so the per-object month is not read at all.
    let month: { name: string; usage: MonthUsage } | undefined;
    for (const date of newestFirst) {
      if (!deps.rollups && !skipped.has(date) && month?.name !== date.slice(0, 7))
        month = { name: date.slice(0, 7), usage: await readMonthUsage(deps, date) };
      const result = skipped.get(date) ?? (await auditDate(deps, date, known, month?.usage));
      results.push(result);
      if (!skipped.has(date) && !known.includes(date)) known = [...known, date].sort();
      onProgress?.(results.length, newestFirst.length, result);
    }
    await leases.takeChain();
    await relinkAndMoveLatest(deps, first);
    await deps.events?.flush();
    return results;
  } finally {
    await leases.releaseAll();
  }
}

/**
 * The end of a run, under the chain's lease: re-links forward from the run's earliest date `from`
 * (so that a run interrupted between a report and the re-linking is mended by the next run of the
 * same dates), and moves latest.json to the newest report there is (which also mends a missing or
 * damaged one).
 */
export async function relinkAndMoveLatest(deps: AuditDeps, from: string | undefined): Promise<void> {
  if (from !== undefined) await rechain(deps, from);
  const newest = (await deps.reports.listDates()).at(-1);
  if (newest !== undefined && newest !== (await deps.reports.latest())) await deps.reports.setLatest(newest);
}

/** The dates the nightly run audits for a schedule firing at `scheduledTime`. */
export async function nightlyDates(deps: AuditDeps, scheduledTime: Date): Promise<string[]> {
  const today = scheduledTime.toISOString().slice(0, 10);
  const yesterday = addDays(today, -1);
  const oldest = addDays(yesterday, -LATE_DATA_DAYS);
  const earlier = addDays(yesterday, -1);
  const [written, changed, changes] = await Promise.all([
    deps.control.reportTimes(oldest, earlier),
    deps.usage.changedDays(`${oldest.slice(0, 7)}-01`, earlier),
    deps.lifecycle?.lifecycleChanges() ?? [],
  ]);
  // Dates with no report at all (a night the run failed or was skipped), from the first day with
  // usage on: an empty system writes no empty reports.
  const firstUsage = [...changed.keys()].sort()[0];
  const missing =
    firstUsage === undefined
      ? []
      : daysFrom([oldest, firstUsage].sort()[1] ?? oldest, earlier).filter((d) => !written.has(d));
  // Reports whose terms changed after they were written (versioned terms, issue 11).
  const stale: string[] = await termsStale(deps.control, written);
  for (const [date, writtenAt] of written) {
    const { start } = windowOf(date);
    for (const [day, changedAt] of changed) {
      if (day >= start && day <= date && changedAt > writtenAt) {
        stale.push(date);
        break;
      }
    }
  }
  // A finding's state changed after a report holding it was written: render that report again.
  stale.push(...datesToRerender(written, changes));
  // Newest first: yesterday, then the stale and missing dates from the newest to the oldest.
  return [yesterday, ...[...new Set([...stale, ...missing])].sort().reverse()];
}
