/**
 * Evidence files written before their manifest. An audit (audit-rollups.ts, or a date's part,
 * parts.ts) streams evidence/FINDING_ID.jsonl into the report folder before the date's manifest is
 * rewritten; a run that fails in between leaves files whose sha256 is not the stored manifest's (or
 * that it does not list). So each one is recorded in the control table (PendingEvidence) BEFORE it
 * is written, with its sha256:
 *
 *   pendingProblem  checkChain accepts a problem of an evidence/ file (sha256 not the manifest's,
 *                   or not covered by it) when the file's current sha256 is a pending write of that
 *                   date: a write in progress or left by a failed run, not tampering. The date is
 *                   then audited again by the run, which rewrites the evidence and the manifest.
 *   settleEvidence  once a date's manifest is written and anchored: the evidence files a pending
 *                   record names that the manifest does not list are removed, and the date's
 *                   pending writes are superseded (a later change of a listed file is tampering).
 */

import { problemFile } from '../core/audit/chain.ts';
import { sha256Hex } from '../core/audit/format.ts';
import type { LeaseHolder, PendingEvidence, ReportFiles } from './ports.ts';

type Bytes = string | Uint8Array;

/** Whether `problem` (of checkReport) is an evidence file whose bytes are a pending write of its date. */
export function pendingProblem(
  problem: string,
  files: ReadonlyMap<string, Bytes>,
  pending: ReadonlyMap<string, ReadonlySet<string>>,
): boolean {
  const name = problemFile(problem);
  if (!name.startsWith('evidence/')) return false;
  if (!/: (sha256 does not match the manifest|not covered by the manifest)$/.test(problem)) return false;
  const bytes = files.get(name);
  return bytes !== undefined && pending.get(name)?.has(sha256Hex(bytes)) === true;
}

/**
 * The stored manifest's evidence hashes, without the files with a pending write: their bytes may
 * be a failed run's (not the manifest's), so they are written again even when their content is.
 */
export async function settledFiles(
  control: PendingEvidence,
  date: string,
  files: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const pending = (await control.pendingOf?.(date)) ?? new Map<string, Set<string>>();
  return Object.fromEntries(Object.entries(files).filter(([name]) => !pending.has(name)));
}

/** Whether another owner than `self` holds lease `name` at `now` (epoch ms). */
export async function heldByOther(
  control: PendingEvidence,
  name: string,
  now: number,
  self: string | undefined,
): Promise<boolean> {
  const holder: LeaseHolder | undefined = await control.leaseOf?.(name);
  return holder !== undefined && holder.expiresAt >= now && holder.owner !== self;
}

/**
 * After `date`'s manifest (listing `listed`) is written and anchored: removes the pending evidence
 * files it does not list, then supersedes the date's pending writes.
 */
export async function settleEvidence(
  deps: { control: PendingEvidence; reports: ReportFiles },
  date: string,
  listed: Readonly<Record<string, string>>,
): Promise<void> {
  if (!deps.control.pendingOf || !deps.control.settlePending) return;
  const pending = await deps.control.pendingOf(date);
  const orphans = [...pending.keys()].filter((n) => !Object.hasOwn(listed, n));
  if (orphans.length > 0) await deps.reports.remove?.(date, orphans);
  if (pending.size > 0) await deps.control.settlePending(date);
}
