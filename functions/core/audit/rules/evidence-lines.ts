/**
 * The log lines behind a finding (issue 11 item 5): per app-day, its input rows' request-level
 * evidence merged and bounded (request-evidence.ts mergeEvidence: the same lines whether the rows
 * are one per object or a rollup of the day), then, over the finding's app-days, the first
 * EVIDENCE_MAX_LINES by key, gen, then line.
 */
import { type EvidenceLine, mergeEvidence, mergeLines, type RowEvidence } from '../../request-evidence.ts';
import { EVIDENCE_MAX_LINES, type WindowRow } from '../types.ts';

const merged = new WeakMap<WindowRow, RowEvidence | null>();

/** A window row's evidence: its input rows' merged (memoised; undefined when none has any). */
export function rowEvidence(r: WindowRow): RowEvidence | undefined {
  let e = merged.get(r);
  if (e === undefined) {
    const rows = r.parts.length > 0 ? r.parts : [r];
    e =
      mergeEvidence(
        rows.map((p) => p.evidence),
        r,
      ) ?? null;
    merged.set(r, e);
  }
  return e ?? undefined;
}

/** The first EVIDENCE_MAX_LINES lines that `pick` takes from the evidence of `rows`. */
export function findingLines(
  rows: readonly WindowRow[],
  pick: (ev: RowEvidence, row: WindowRow) => readonly EvidenceLine[],
): EvidenceLine[] {
  return mergeLines(
    rows.map((r) => {
      const ev = rowEvidence(r);
      return ev ? pick(ev, r) : [];
    }),
    EVIDENCE_MAX_LINES,
  );
}
