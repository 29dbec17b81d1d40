/**
 * Use case: the report chain of SPEC §5 and the leases of an audit run (run-audit.ts uses them).
 *
 *   checkChain  before anything is written, the part of the chain a run may touch: every anchored
 *               manifest present with its anchored sha256, and from the predecessor of the run's
 *               earliest date on, every folder's files against its manifest (ChainMismatchError).
 *   rechain     re-links the manifests after a rewritten date (previous_manifest_sha256), anchoring
 *               each rewritten one.
 *   RunLeases   the run's leases in the control table (a date's, the chain's), released together.
 */

import { randomUUID } from 'node:crypto';
import { checkReport, problemFile } from '../core/audit/chain.ts';
import { sha256Hex, stableJson } from '../core/audit/format.ts';
import type { Manifest } from '../core/audit/report.ts';
import { heldByOther, pendingProblem } from './pending-evidence.ts';
import {
  type AuditLeases,
  type ChainAnchors,
  MANIFEST,
  type PendingEvidence,
  parseJson,
  type ReportFiles,
} from './ports.ts';

/** What the chain and the leases need of an audit run's dependencies (a part of run-audit.ts AuditDeps). */
export interface ChainDeps {
  control: ChainAnchors & AuditLeases & PendingEvidence;
  reports: ReportFiles;
  now: () => Date;
  /** How long a run's leases last (default LEASE_MS); longer than the function's timeout. */
  leaseMs?: number;
  /** Waits between tries for the chain's lease (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

/** Leases last the longest a Lambda function can run (900 s), so none needs renewing. */
export const LEASE_MS = 15 * 60 * 1000;
/** The lease for re-linking the chain and moving latest.json. */
export const CHAIN_LEASE = 'chain';
/** How many times, a second apart, a run tries for the chain's lease before it gives up. */
export const CHAIN_LEASE_TRIES = 60;

/** The chain's lease was held for longer than a run waits: the reports are written, not re-linked. */
export class LeaseHeldError extends Error {
  override name = 'LeaseHeldError';
}

export const leaseHeldMessage = (expiresAt: number): string =>
  `lease held by another audit run until ${new Date(expiresAt).toISOString()}`;

/** A stored report that is not what the audit wrote (tampered with, or deleted). */
export class ChainMismatchError extends Error {
  override name = 'ChainMismatchError';
  constructor(
    readonly date: string,
    readonly file: string,
    problem: string,
  ) {
    super(`report chain mismatch: ${date}/${problem} (nothing was written over it)`);
  }
}

/** The chain's dates: those with a manifest in S3 and those the control table anchors, ascending. */
function chainDates(present: readonly string[], anchors: ReadonlyMap<string, string>): string[] {
  return [...new Set([...present, ...anchors.keys()])].sort();
}

/**
 * Checks, before anything is written: that every anchored date still has its manifest and that
 * its sha256 is the anchor; and, for the predecessor of `from` and every later date, also that the
 * files match the manifest and that content_sha256 matches the files. Throws a ChainMismatchError
 * on the first problem.
 */
export async function checkChain(deps: ChainDeps, from: string, self?: string): Promise<string[]> {
  const accepted: string[] = [];
  // A problem on a date another run is writing (it holds the date's lease) is that run's write.
  const busy = (date: string) => heldByOther(deps.control, date, deps.now().getTime(), self);
  const [present, anchors] = await Promise.all([deps.reports.listDates(), deps.control.anchors()]);
  const dates = chainDates(present, anchors);
  for (const date of dates) {
    if (!present.includes(date))
      throw new ChainMismatchError(
        date,
        MANIFEST,
        `${MANIFEST}: missing; the control table anchors ${anchors.get(date)}`,
      );
  }
  const predecessor = dates.filter((d) => d < from).at(-1);
  const segment = predecessor ?? from;
  for (const date of dates) {
    const anchor = anchors.get(date);
    if (date < segment) {
      // Earlier dates: one GET each, the manifest against its anchor.
      const text = anchor === undefined ? undefined : await deps.reports.readFile(date, MANIFEST);
      if (text !== undefined && sha256Hex(text) !== anchor && !(await busy(date))) {
        const problem = `${MANIFEST}: sha256 ${sha256Hex(text)} is not the control table's anchor ${anchor}`;
        throw new ChainMismatchError(date, MANIFEST, problem);
      }
      continue;
    }
    const files = await deps.reports.readAll(date);
    const problems = checkReport(files, { anchor });
    if (problems.length === 0 || (await busy(date))) continue;
    // Evidence files recorded as pending writes (a failed run's): the run audits the date again.
    const pending = (await deps.control.pendingOf?.(date)) ?? new Map<string, Set<string>>();
    const problem = problems.find((p) => !pendingProblem(p, files, pending));
    if (problem !== undefined) throw new ChainMismatchError(date, problemFile(problem), problem);
    accepted.push(date);
  }
  return accepted;
}

/**
 * Re-links, forward from `from` (default: the first date), every manifest to its predecessor in
 * date order. Only a manifest whose link is wrong is rewritten (with the same file hashes), and its
 * new sha256 anchored. Reads only manifests; each one read (from `from`'s predecessor on) must be
 * its date's anchor, else a ChainMismatchError is thrown before anything is re-linked over it.
 */
export async function rechain(deps: ChainDeps, from?: string): Promise<string[]> {
  const [present, anchors] = await Promise.all([deps.reports.listDates(), deps.control.anchors()]);
  const dates = chainDates(present, anchors);
  const predecessor = from === undefined ? undefined : dates.filter((d) => d < from).at(-1);
  const relinked: string[] = [];
  let previous: string | null = null;
  for (const date of dates.filter((d) => d >= (predecessor ?? from ?? ''))) {
    const text = await deps.reports.readFile(date, MANIFEST);
    const anchor = anchors.get(date);
    if (text === undefined)
      throw new ChainMismatchError(
        date,
        MANIFEST,
        `${MANIFEST}: missing; the control table anchors ${anchor}`,
      );
    if (anchor !== undefined && sha256Hex(text) !== anchor) {
      throw new ChainMismatchError(
        date,
        MANIFEST,
        `${MANIFEST}: sha256 ${sha256Hex(text)} is not the control table's anchor ${anchor}`,
      );
    }
    const m = parseJson<Manifest>(text);
    if (!m || typeof m !== 'object')
      throw new ChainMismatchError(date, MANIFEST, `${MANIFEST}: not a report manifest`);
    if (date === predecessor) {
      previous = text;
      continue;
    }
    const want: string | null = previous === null ? null : sha256Hex(previous);
    if (m.previous_manifest_sha256 !== want) {
      const fixed: string = `${stableJson({ ...m, previous_manifest_sha256: want }, 2)}\n`;
      await deps.reports.write(date, [{ name: MANIFEST, body: fixed, contentType: 'application/json' }]);
      await deps.control.anchorManifest(date, sha256Hex(fixed), deps.now().toISOString(), m.content_sha256);
      relinked.push(date);
      previous = fixed;
      continue;
    }
    previous = text;
  }
  return relinked;
}

/** One run's leases: taken with a random owner id, all released at the end. */
export class RunLeases {
  readonly owner = randomUUID();
  private readonly held: string[] = [];
  constructor(private readonly deps: ChainDeps) {}

  /** Takes lease `name`; answers the holder's expiry when another run holds it. */
  async take(name: string): Promise<number | undefined> {
    const now = this.deps.now().getTime();
    const expiresAt = now + (this.deps.leaseMs ?? LEASE_MS);
    const holder = await this.deps.control.acquireLease(name, this.owner, now, expiresAt);
    if (holder) return holder.expiresAt;
    this.held.push(name);
    return undefined;
  }

  /** Takes the chain's lease, trying a second apart (re-linking takes seconds). */
  async takeChain(): Promise<void> {
    const sleep = this.deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    let until = await this.take(CHAIN_LEASE);
    for (let i = 1; until !== undefined && i < CHAIN_LEASE_TRIES; i++) {
      await sleep(1000);
      until = await this.take(CHAIN_LEASE);
    }
    if (until !== undefined)
      throw new LeaseHeldError(
        `chain: ${leaseHeldMessage(until)}; the reports are written, the next run re-links them`,
      );
  }

  async releaseAll(): Promise<void> {
    for (const name of this.held.splice(0).reverse()) await this.deps.control.releaseLease(name, this.owner);
  }
}
