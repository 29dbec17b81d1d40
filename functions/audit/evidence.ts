/**
 * Evidence from streamed per-object usage, for an audit whose usage rows are rollups (one row per
 * app-day, no per-object parts): each finding's full source list is computed again from the
 * committed per-object usage of its app-days (RollupUsage.parts, paged queries), with the rule's
 * own value and counts (EvidenceSpec), bounded into the finding (top EVIDENCE_MAX_SOURCES and a
 * count) and streamed into evidence/FINDING_ID.jsonl (report.ts evidenceJsonl).
 *
 * Memory: one page of items, plus one entry per distinct object behind the findings being worked
 * on (their contributions): consecutive findings whose apps overlap (a licensee's findings come
 * together), at most EVIDENCE_GROUP_FINDINGS of them, are worked on together from one read of each
 * of their apps. No per-object row is kept past its page.
 *
 * Consistency: for every app-day, the parts' values must add up to the rollup's value (the rules'
 * values are sums over the usage); when they do not, the usage changed since the rollups were read
 * and EvidenceChangedError is thrown: the date's audit fails (the state machine retries the step,
 * which reads again; a direct run fails and the next run reads again).
 */

import { createHash } from 'node:crypto';
import { coalesce } from '../core/audit/chunks.ts';
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
import { withFindingLines } from './finding-lines.ts';
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

/** The most findings whose evidence is worked on together (their source lists are in memory together). */
export const EVIDENCE_GROUP_FINDINGS = 16;

/** What the streamed parts of one app-day must add up to, and what they have added up to so far. */
interface Cell {
  expected: number;
  seen: number;
}

/** One finding's spec being worked on: its cells by app and day, and its sources so far. */
interface Work {
  spec: EvidenceSpec;
  cells: Map<string, Map<string, Cell>>;
  sources: Map<string, SourceContribution>;
}

function work(spec: EvidenceSpec): Work {
  const cells = new Map<string, Map<string, Cell>>();
  for (const c of spec.cells) {
    const days = cells.get(c.app) ?? new Map<string, Cell>();
    cells.set(c.app, days);
    // What the parts must add up to: the value over the cell's unbounded input rows (the rollups),
    // not over the window row, whose distinct values the audit's bound may have folded (an approved
    // organisation folded into `(other organisations)` would no longer be taken off).
    const expected =
      c.parts.length > 0 ? c.parts.reduce((sum, p) => add(sum, spec.value(p)), 0) : spec.value(c);
    days.set(c.day, { expected, seen: 0 });
  }
  return { spec, cells, sources: new Map() };
}

/**
 * The full source lists of several findings from one streamed read of each app their cells name
 * (findings of one licensee share its apps: each app is read once for all of them).
 */
export async function streamedSourcesOf(
  parts: { of(app: string): AsyncIterable<UsageRow> },
  specs: readonly EvidenceSpec[],
): Promise<SourceContribution[][]> {
  const works = specs.map(work);
  const apps = [...new Set(works.flatMap((w) => [...w.cells.keys()]))];
  for (const app of apps) {
    const mine = works.flatMap((w) => {
      const days = w.cells.get(app);
      return days ? [{ w, days }] : [];
    });
    for await (const p of parts.of(app)) {
      for (const { w, days } of mine) {
        const cell = days.get(p.day);
        if (!cell) continue;
        const v = w.spec.value(p);
        cell.seen = add(cell.seen, v);
        if (!w.spec.counts(p)) continue;
        for (const s of p.sources) {
          const k = `${s.key}\u0000${s.gen}`;
          const had = w.sources.get(k);
          if (had) had.contribution = add(had.contribution, v);
          else w.sources.set(k, { key: s.key, gen: s.gen, contribution: v });
        }
      }
    }
    for (const { days } of mine) {
      for (const [day, cell] of days) {
        if (cell.seen !== cell.expected)
          throw new EvidenceChangedError(
            `usage of ${app} on ${day} changed while the evidence was read (${cell.seen} ≠ ${cell.expected})`,
          );
      }
    }
  }
  return works.map((w) => [...w.sources.values()].sort(byContribution));
}

/** The full source list of one finding from the streamed parts of its app-days. */
export async function streamedSources(
  parts: { of(app: string): AsyncIterable<UsageRow> },
  spec: EvidenceSpec,
): Promise<SourceContribution[]> {
  return (await streamedSourcesOf(parts, [spec]))[0] ?? [];
}

/** The lines in chunks of about 64K characters, as a stream (a report file body). */
async function* chunks(lines: Iterable<string>): AsyncGenerator<string> {
  yield* coalesce(lines, 64 * 1024);
}

/**
 * Every finding of `input` (rows from rollups) with its evidence computed from the streamed parts;
 * each evidence file whose sha256 differs from `storedFiles`' (the stored manifest's) is written
 * through `write` (with its sha256, known before it is written) as it is produced.
 */
export async function auditWithStreamedEvidence(
  parts: RollupUsage,
  input: AuditInput,
  storedFiles: Readonly<Record<string, string>>,
  write: (file: ReportFileBody, sha256: string) => Promise<void>,
): Promise<StreamedEvidence> {
  const findings: Finding[] = [];
  const files: Record<string, string> = {};
  const { start, end } = windowOf(input.reportDate);
  const window = { of: (app: string) => parts.parts(app, start, end) };
  type Audited = ReturnType<typeof auditWithEvidence>[number];
  let group: Audited[] = [];
  let groupApps = new Set<string>();
  const flush = async () => {
    // A finding one of the date's parts computed and wrote (audit/parts.ts) is not read again.
    const todo = group.filter((g) => !parts.partsDone?.evidence(g.finding, g.spec));
    const streamed = await streamedSourcesOf(
      window,
      todo.flatMap((g) => (g.spec ? [g.spec] : [])),
    );
    let next = 0;
    for (const { finding, sources, spec } of group) {
      const name = evidenceFileName(finding.finding_id);
      const done = parts.partsDone?.evidence(finding, spec);
      if (done) {
        files[name] = done.sha256;
        findings.push({ ...finding, evidence: done.evidence });
        continue;
      }
      const full = spec ? (streamed[next++] ?? []) : sources;
      const hash = createHash('sha256');
      for (const line of evidenceJsonl(full)) hash.update(line);
      const sha = hash.digest('hex');
      files[name] = sha;
      if ((parts.partsDone?.written[name] ?? storedFiles[name]) !== sha)
        await write({ name, body: chunks(evidenceJsonl(full)), contentType: 'application/x-ndjson' }, sha);
      findings.push({ ...finding, evidence: boundEvidence(full, finding.evidence.lines) });
    }
    group = [];
    groupApps = new Set();
  };
  const audited = auditWithEvidence(input);
  const items = parts.evidence ? await withFindingLines(parts.evidence.bind(parts), input, audited) : audited;
  for (const item of items) {
    // Consecutive findings whose apps overlap (a licensee's findings come together) share one read.
    const apps = (item.spec?.cells ?? []).map((c) => c.app);
    const joins = group.length === 0 || apps.length === 0 || apps.some((a) => groupApps.has(a));
    if (!joins || group.length >= EVIDENCE_GROUP_FINDINGS) await flush();
    group.push(item);
    for (const a of apps) groupApps.add(a);
  }
  if (group.length > 0) await flush();
  return { findings, files };
}
