/**
 * Evidence from streamed per-object usage, for an audit whose usage rows are rollups (one row per
 * app-day, no per-object parts): each finding's full source list is computed again from the
 * committed per-object usage of its app-days (RollupUsage.parts, paged queries), with the rule's
 * own value and counts (EvidenceSpec), bounded into the finding (top EVIDENCE_MAX_SOURCES and a
 * count) and streamed into evidence/FINDING_ID.jsonl (report.ts evidenceJsonl).
 *
 * Memory: one page of items, plus one entry per distinct object behind the finding being worked
 * on (its contribution), one finding at a time, plus up to EVIDENCE_CACHE_ROWS per-object rows kept
 * so that the findings of a small report read each app once.
 *
 * Consistency: for every app-day, the parts' values must add up to the rollup's value (the rules'
 * values are sums over the usage); when they do not, the usage changed since the rollups were read
 * and EvidenceChangedError is thrown: the date's audit fails (the state machine retries the step,
 * which reads again; a direct run fails and the next run reads again).
 */
import { createHash } from 'node:crypto';
import { windowOf } from '../core/audit/format.ts';
import { evidenceFileName, evidenceJsonl } from '../core/audit/report.ts';
import {
  type AuditInput,
  auditWithEvidence,
  boundEvidence,
  type Finding,
  type SourceContribution,
} from '../core/audit/rules.ts';
import type { EvidenceSpec } from '../core/audit/types.ts';
import { compareSources } from '../core/audit/window.ts';
import type { UsageRow } from '../core/ledger.ts';
import { add } from '../core/usage-math.ts';
import type { ReportFileBody, RollupUsage } from './ports.ts';

export class EvidenceChangedError extends Error {
  override name = 'EvidenceChangedError';
}

export interface StreamedEvidence {
  findings: Finding[];
  /** evidence/FINDING_ID.jsonl → sha256 (hex), for the manifest. */
  files: Record<string, string>;
}

/** Contribution descending, then key, then gen (the order of evidenceOf). */
const byContribution = (a: SourceContribution, b: SourceContribution): number =>
  b.contribution - a.contribution || compareSources(a, b);

/** The most per-object rows kept for reuse by the next findings of the same report. */
export const EVIDENCE_CACHE_ROWS = 20_000;

/**
 * Streams each app's parts of one window, keeping the most recently used apps' parts for the next
 * findings, at most `budget` rows in all (a small report reads each app once; findings of one
 * licensee, which come together, share their apps' reads).
 */
class WindowParts {
  private readonly kept = new Map<string, UsageRow[]>();
  private keptRows = 0;
  constructor(
    private readonly parts: RollupUsage,
    private readonly from: string,
    private readonly to: string,
    private readonly budget = EVIDENCE_CACHE_ROWS,
  ) {}

  async *of(app: string): AsyncGenerator<UsageRow> {
    const had = this.kept.get(app);
    if (had) {
      // Most recently used last: the apps of the findings worked on now stay, older ones go first.
      this.kept.delete(app);
      this.kept.set(app, had);
      yield* had;
      return;
    }
    let keep: UsageRow[] | undefined = [];
    for await (const p of this.parts.parts(app, this.from, this.to)) {
      if (keep && keep.length < this.budget) keep.push(p);
      else keep = undefined;
      yield p;
    }
    if (!keep) return;
    for (const [old, rows] of this.kept) {
      if (this.keptRows + keep.length <= this.budget) break;
      this.kept.delete(old);
      this.keptRows -= rows.length;
    }
    this.kept.set(app, keep);
    this.keptRows += keep.length;
  }
}

/** The full source list of one finding from the streamed parts of its app-days. */
export async function streamedSources(
  parts: { of(app: string): AsyncIterable<UsageRow> },
  spec: EvidenceSpec,
): Promise<SourceContribution[]> {
  const cellsByApp = new Map<string, Map<string, { expected: number; seen: number }>>();
  for (const c of spec.cells) {
    const days = cellsByApp.get(c.app) ?? new Map();
    cellsByApp.set(c.app, days);
    // What the parts must add up to: the value over the cell's unbounded input rows (the rollups),
    // not over the window row, whose distinct values the audit's bound may have folded (an approved
    // organisation folded into `(other organisations)` would no longer be taken off).
    const expected =
      c.parts.length > 0 ? c.parts.reduce((sum, p) => add(sum, spec.value(p)), 0) : spec.value(c);
    days.set(c.day, { expected, seen: 0 });
  }
  const sources = new Map<string, SourceContribution>();
  for (const [app, days] of cellsByApp) {
    for await (const p of parts.of(app)) {
      const cell = days.get(p.day);
      if (!cell) continue;
      const v = spec.value(p);
      cell.seen = add(cell.seen, v);
      if (!spec.counts(p)) continue;
      for (const s of p.sources) {
        const k = `${s.key}\u0000${s.gen}`;
        const had = sources.get(k);
        if (had) had.contribution = add(had.contribution, v);
        else sources.set(k, { key: s.key, gen: s.gen, contribution: v });
      }
    }
    for (const [day, cell] of days) {
      if (cell.seen !== cell.expected)
        throw new EvidenceChangedError(
          `usage of ${app} on ${day} changed while the evidence was read (${cell.seen} ≠ ${cell.expected})`,
        );
    }
  }
  return [...sources.values()].sort(byContribution);
}

async function* chunks(lines: Iterable<string>, size = 64 * 1024): AsyncGenerator<string> {
  let buf = '';
  for (const l of lines) {
    buf += l;
    if (buf.length >= size) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/**
 * Every finding of `input` (rows from rollups) with its evidence computed from the streamed parts;
 * each evidence file whose sha256 differs from `storedFiles`' (the stored manifest's) is written
 * through `write` as it is produced.
 */
export async function auditWithStreamedEvidence(
  parts: RollupUsage,
  input: AuditInput,
  storedFiles: Readonly<Record<string, string>>,
  write: (file: ReportFileBody) => Promise<void>,
): Promise<StreamedEvidence> {
  const findings: Finding[] = [];
  const files: Record<string, string> = {};
  const { start, end } = windowOf(input.reportDate);
  const window = new WindowParts(parts, start, end);
  for (const { finding, sources, spec } of auditWithEvidence(input)) {
    const name = evidenceFileName(finding.finding_id);
    // Computed and written by one of the date's parts (audit/parts.ts).
    const done = parts.partsDone?.evidence(finding);
    if (done) {
      files[name] = done.sha256;
      findings.push({ ...finding, evidence: done.evidence });
      continue;
    }
    const full = spec ? await streamedSources(window, spec) : sources;
    const hash = createHash('sha256');
    for (const line of evidenceJsonl(full)) hash.update(line);
    const sha = hash.digest('hex');
    files[name] = sha;
    if ((parts.partsDone?.written[name] ?? storedFiles[name]) !== sha)
      await write({ name, body: chunks(evidenceJsonl(full)), contentType: 'application/x-ndjson' });
    findings.push({ ...finding, evidence: boundEvidence(full, finding.evidence.lines) });
  }
  return { findings, files };
}
