/**
 * Use case: one report date split into parts, each small enough for its own invocation (issue 10
 * item 3). What grows with log objects in a date's audit is per app: rebuilding stale rollups and
 * writing each finding's evidence file. core/audit-parts.ts sizes each licensee's share from the
 * stored rollups and groups licensees into parts; a date within the size has no parts and is
 * audited in one invocation, as always.
 *
 *   planDateParts  the plan of one date: its parts, or none.
 *   auditPart      one part, under the date's lease (owner: the run, so every part and the join of
 *                  one run hold it together, and no other run's can interleave): rebuilds the stale
 *                  rollups of its apps only, then, licensee by licensee, evaluates the rules over
 *                  their rows and streams each finding's evidence into evidence/FINDING_ID.jsonl in
 *                  the report folder (unchanged files are not rewritten). Its results (per finding
 *                  the bounded evidence, the file's sha256 and what the evidence was computed from
 *                  (cellsDigest), keyed by the finding's fingerprint) go to PartResults, in records
 *                  of at most RECORD_BYTES, with the day tokens its rollups were read against (a
 *                  retry over the same tokens resumes). Every evidence file it writes is recorded as
 *                  soon as it is written, so a retried part resumes: a finding done is not computed
 *                  again and a file written is not written again.
 *   joinDate       the date's join: auditDate as always, reading the (now fresh) rollups, with a
 *                  part's evidence taken instead of computed for every finding whose fingerprint
 *                  the part recorded, when what that evidence was computed from is unchanged: the
 *                  terms, and the finding's app-days with the content digests of their rollups
 *                  (core/rollup.ts), compared per app-day. A late commit thus costs the join the
 *                  evidence of the findings over the app-days it changed, not the date's. Otherwise
 *                  the join computes it, as an unsplit audit does. The report is byte-identical to
 *                  an unsplit audit's. Evidence files a part wrote that the report does not list (its
 *                  finding is gone) are removed.
 *
 * Results are keyed by date and part number and carry the run: the next run's parts of that date
 * overwrite them (a bounded number of records), and the join only takes the run's own.
 */
import { createHash, type Hash } from 'node:crypto';
import { daysFrom, sha256Hex, stableJson, windowOf } from '../core/audit/format.ts';
import { evidenceFileName, type Manifest } from '../core/audit/report.ts';
import type { AuditInput, Finding } from '../core/audit/rules.ts';
import type { EvidenceSpec } from '../core/audit/types.ts';
import {
  AUDIT_PART_OBJECTS,
  inPart,
  licenseeApps,
  objectsUpTo,
  type PartPlan,
  partApps,
  planParts,
} from '../core/audit-parts.ts';
import { compareStrings } from '../core/support.ts';
import { type DateTerms, readTerms } from './audit-terms.ts';
import { auditWithStreamedEvidence } from './evidence.ts';
import { settledFiles } from './pending-evidence.ts';
import {
  MANIFEST,
  type PartEntry,
  type PartRecord,
  type PartResults,
  type PartsDone,
  parseJson,
  type ReportFileBody,
  type RollupSplit,
  type RollupUsage,
} from './ports.ts';
import { type AuditDeps, auditDate, type DateResult, LEASE_MS, leaseHeldMessage } from './run-audit.ts';

export type { PartPlan };

/** What a part answers (the state machine passes the date's list of them to its join). */
export interface PartOutcome {
  part: number;
  of: number;
  /** Findings whose evidence the part computed. */
  findings: number;
  /** Only when another run holds the date's lease: the part did nothing (nor does the join). */
  skipped?: string;
}

/** The most bytes of results in one stored record (a DynamoDB item holds 400 KB). */
export const RECORD_BYTES = 300_000;

/**
 * The parts of each date (or none: one invocation) when it is within the size or cannot be split.
 * The stored rollups of a month are read once for all its dates.
 */
export async function planDateParts(
  deps: AuditDeps,
  dates: readonly string[],
): Promise<Map<string, PartPlan[]>> {
  const out = new Map<string, PartPlan[]>(dates.map((d) => [d, []]));
  const split = deps.rollups?.split;
  if (!split || !deps.partResults) return out;
  const newestOfMonth = new Map<string, string>();
  for (const d of dates)
    if (d > (newestOfMonth.get(d.slice(0, 7)) ?? '')) newestOfMonth.set(d.slice(0, 7), d);
  for (const newest of newestOfMonth.values()) {
    const perDay = await split.objectsPerAppDay(windowOf(newest).start, newest);
    for (const date of dates.filter((d) => d.slice(0, 7) === newest.slice(0, 7))) {
      const { start, end } = windowOf(date);
      const terms = await readTerms(deps.control, date);
      const appsOf = licenseeApps(terms.agreements, terms.termsOn, daysFrom(start, end));
      out.set(date, planParts(appsOf, objectsUpTo(perDay, date), deps.partObjects ?? AUDIT_PART_OBJECTS));
    }
  }
  return out;
}

/** A finding's fingerprint: everything but its evidence. */
export function fingerprint(finding: Finding): string {
  const { evidence: _evidence, ...rest } = finding;
  return sha256Hex(stableJson(rest));
}

const tokensSha = (tokens: ReadonlyMap<string, string>): string =>
  sha256Hex(stableJson([...tokens].sort(([a], [b]) => compareStrings(a, b))));

/** Every stored version of the terms (what a rule's values and counts depend on besides usage). */
const termsSha = (terms: Pick<DateTerms, 'agreementVersions' | 'registryVersions'>): string =>
  sha256Hex(stableJson([terms.agreementVersions, terms.registryVersions]));

/**
 * What a finding's evidence is computed from (PartEntry.cells): the terms (`terms`, termsSha) and
 * the finding's app-days (its spec's cells: evidence.ts reads those and only those) with the
 * content digests of their rollups (`digests`, RollupSplit.digests). Undefined when the finding has
 * no spec (its evidence is the rows' own, computed without reading any object) or a digest is not
 * known.
 */
export function cellsDigest(
  spec: EvidenceSpec | undefined,
  digests: ReadonlyMap<string, string>,
  terms: string,
): string | undefined {
  if (!spec) return undefined;
  const cells: [string, string, string][] = [];
  for (const c of spec.cells) {
    const digest = digests.get(`${c.app}\u0000${c.day}`);
    if (digest === undefined) return undefined;
    cells.push([c.app, c.day, digest]);
  }
  cells.sort(([a, x], [b, y]) => compareStrings(a, b) || compareStrings(x, y));
  return sha256Hex(stableJson([terms, cells]));
}

function splitOf(deps: AuditDeps): { rollups: RollupUsage; split: RollupSplit; store: PartResults } {
  const rollups = deps.rollups;
  if (!rollups?.split || !deps.partResults)
    throw new Error('a date is split into parts only with rollups and a part results store');
  return { rollups, split: rollups.split, store: deps.partResults };
}

/** Takes the date's lease as the run; answers the holder's expiry when another run holds it. */
async function takeDateLease(deps: AuditDeps, date: string, run: string): Promise<number | undefined> {
  const now = deps.now().getTime();
  const holder = await deps.control.acquireLease(date, run, now, now + (deps.leaseMs ?? LEASE_MS));
  return holder?.expiresAt;
}

/** A stream's chunks passed on while they are hashed. */
async function* hashing(body: AsyncIterable<string>, hash: Hash): AsyncGenerator<string> {
  for await (const chunk of body) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * The evidence files that records say were written (name → sha256): a file written with two
 * different contents (by two attempts or runs) maps to '' — its content is not known, so it is
 * written again rather than taken for the manifest's.
 */
function mergeWritten(records: readonly PartRecord[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of records)
    for (const [name, sha] of Object.entries(r.written))
      out[name] = Object.hasOwn(out, name) && out[name] !== sha ? '' : sha;
  return out;
}

/** The complete set of a part's records of one run, or undefined when the part is not done. */
function completeRecords(records: readonly PartRecord[], run: string): PartRecord[] | undefined {
  const last = records.find((r) => r.run === run && r.complete);
  if (!last?.complete) return undefined;
  const mine = records.filter((r) => r.run === run && r.tokens === last.tokens);
  const chunks = new Set(mine.map((r) => r.chunk));
  for (let i = 0; i < last.complete.records; i++) if (!chunks.has(i)) return undefined;
  return mine.filter((r) => r.chunk < (last.complete?.records ?? 0));
}

/** One part of a split date (see the module comment). */
export async function auditPart(
  deps: AuditDeps,
  run: string,
  date: string,
  plan: PartPlan,
): Promise<PartOutcome> {
  const { rollups, split, store } = splitOf(deps);
  const outcome = (findings: number, skipped?: string): PartOutcome => ({
    part: plan.part,
    of: plan.of,
    findings,
    ...(skipped === undefined ? {} : { skipped }),
  });
  const until = await takeDateLease(deps, date, run);
  if (until !== undefined) return outcome(0, leaseHeldMessage(until));
  const previous = await store.get(date, plan.part);
  const complete = completeRecords(previous, run);
  if (complete) return outcome(complete.find((r) => r.complete)?.complete?.findings ?? 0);

  const { start, end } = windowOf(date);
  const terms = await readTerms(deps.control, date);
  const appsOf = licenseeApps(terms.agreements, terms.termsOn, daysFrom(start, end));
  let listed: readonly string[] = [];
  const { rows, tokens } = await split.refreshApps(start, end, (all) => {
    listed = all;
    return partApps(plan, appsOf, all);
  });
  const sha = tokensSha(tokens);
  const digests = split.digests(rows);
  const termsOf = termsSha(terms);
  // A retry of this run's part over the same usage resumes where it stopped.
  const resumed = previous.filter((r) => r.run === run && r.tokens === sha);
  const done = new Map<string, PartEntry>(resumed.flatMap((r) => r.done.map((e) => [e.fp, e])));
  // Files any attempt (of any run) of this part wrote: what the folder may hold besides the manifest's.
  const written = mergeWritten(previous);
  let chunk = resumed.reduce((n, r) => Math.max(n, r.chunk + 1), 0);
  const put = async (record: Pick<PartRecord, 'done' | 'written' | 'complete'>) =>
    store.put(date, plan.part, chunk, { run, chunk: chunk++, tokens: sha, ...record });

  // What each finding's evidence is computed from, noted as the audit asks (every finding is asked).
  const cellsOf = new Map<string, string | undefined>();
  const partsDone: PartsDone = {
    evidence: (f, spec) => {
      const fp = fingerprint(f);
      cellsOf.set(fp, cellsDigest(spec, digests, termsOf));
      return done.get(fp);
    },
    written,
  };
  const unitRollups: RollupUsage = {
    usage: (from, to) => rollups.usage(from, to),
    parts: (app, from, to) => rollups.parts(app, from, to),
    ...evidenceOf(rollups),
    partsDone,
  };
  const write = async (file: ReportFileBody, expected: string): Promise<void> => {
    await deps.control.pendingEvidence?.(date, file.name, expected);
    const hash = createHash('sha256');
    const body = typeof file.body === 'string' ? file.body : hashing(file.body, hash);
    if (typeof file.body === 'string') hash.update(file.body);
    await deps.reports.write(date, [{ ...file, body }]);
    const fileSha = hash.digest('hex');
    written[file.name] = fileSha;
    await put({ done: [], written: { [file.name]: fileSha } });
  };
  const stored = parseJson<Manifest>(await deps.reports.readFile(date, MANIFEST));
  const inManifest = stored && typeof stored.files === 'object' && stored.files !== null ? stored.files : {};
  const storedFiles = await settledFiles(deps.control, date, inManifest);

  // Units: each licensee of the part, then the apps no licensee covers.
  const units: { agreements: AuditInput['agreements']; apps: ReadonlySet<string> }[] = [];
  for (const a of terms.agreements)
    if (inPart(plan, a.licensee)) units.push({ agreements: [a], apps: new Set(appsOf.get(a.licensee)) });
  if (plan.unlicensed) {
    const covered = new Set([...appsOf.values()].flat());
    units.push({ agreements: terms.agreements, apps: new Set(listed.filter((a) => !covered.has(a))) });
  }
  let findings = done.size;
  for (const unit of units) {
    const input: AuditInput = {
      reportDate: date,
      agreements: unit.agreements,
      usage: rows.filter((r) => unit.apps.has(r.app)),
      ...(terms.termsOn ? { termsOn: terms.termsOn } : {}),
    };
    const out = await auditWithStreamedEvidence(unitRollups, input, storedFiles, write);
    let entries: PartEntry[] = [];
    let bytes = 0;
    for (const f of out.findings) {
      const fp = fingerprint(f);
      if (done.has(fp)) continue;
      const cells = cellsOf.get(fp);
      const entry: PartEntry = {
        fp,
        evidence: f.evidence,
        sha256: out.files[evidenceFileName(f.finding_id)] ?? '',
        ...(cells === undefined ? {} : { cells }),
      };
      done.set(fp, entry);
      findings++;
      const size = JSON.stringify(entry).length;
      if (bytes + size > RECORD_BYTES && entries.length > 0) {
        await put({ done: entries, written: {} });
        entries = [];
        bytes = 0;
      }
      entries.push(entry);
      bytes += size;
    }
    if (entries.length > 0) await put({ done: entries, written: {} });
  }
  await put({ done: [], written: {}, complete: { records: chunk + 1, findings } });
  return outcome(findings);
}

/**
 * The join of a split date (outcomes: its parts'), or an unsplit date's audit (no outcomes), under
 * the date's lease as the run; a date whose part was skipped, or whose lease another run holds, is
 * skipped. Releases the date's lease at the end.
 */
export async function joinDate(
  deps: AuditDeps,
  run: string,
  date: string,
  outcomes: readonly PartOutcome[],
): Promise<DateResult> {
  const skipped = (message: string): DateResult => ({ date, findings: 0, written: false, skipped: message });
  const partSkipped = outcomes.find((o) => o.skipped !== undefined)?.skipped;
  if (partSkipped !== undefined) return skipped(partSkipped);
  const until = await takeDateLease(deps, date, run);
  if (until !== undefined) return skipped(leaseHeldMessage(until));
  try {
    if (outcomes.length === 0) return await auditDate(deps, date);
    const { rollups, split, store } = splitOf(deps);
    const done = new Map<string, PartEntry>();
    const all: PartRecord[] = [];
    const of = outcomes[0]?.of ?? 0;
    for (let part = 0; part < of; part++) {
      const records = await store.get(date, part);
      all.push(...records);
      for (const r of completeRecords(records, run) ?? []) for (const e of r.done) done.set(e.fp, e);
    }
    // Read once: the terms the parts' evidence is checked against are the ones the audit uses.
    // The audit's read instant is taken first (a terms version stored after it is a later change).
    const readAt = deps.now().toISOString();
    const terms = await readTerms(deps.control, date);
    const termsOf = termsSha(terms);
    // The content digests of the rollups the audit reads (set once it has read them).
    let digests: ReadonlyMap<string, string> = new Map();
    const taken = new WeakMap<Finding, PartEntry | undefined>();
    const partsDone: PartsDone = {
      evidence: (f, spec) => {
        if (taken.has(f)) return taken.get(f);
        const e = done.get(fingerprint(f));
        // Taken only when computed from the same app-days' content under the same terms (and the
        // lines the audit found for the finding are the part's): else the join computes it.
        const same =
          e?.cells !== undefined &&
          e.cells === cellsDigest(spec, digests, termsOf) &&
          stableJson(e.evidence.lines, 0, true) === stableJson(f.evidence.lines, 0, true);
        taken.set(f, same ? e : undefined);
        return same ? e : undefined;
      },
      written: mergeWritten(all),
    };
    const joined: RollupUsage = {
      usage: async (from, to) => {
        const rows = await rollups.usage(from, to);
        digests = split.digests(rows);
        return rows;
      },
      parts: (app, from, to) => rollups.parts(app, from, to),
      ...evidenceOf(rollups),
      partsDone,
      split,
    };
    const result = await auditDate({ ...deps, rollups: joined, termsRead: { date, terms, readAt } }, date);
    // Files of findings that are gone by the join (usage changed under the parts).
    const listed = parseJson<Manifest>(await deps.reports.readFile(date, MANIFEST))?.files ?? {};
    const mine = Object.keys(mergeWritten(all.filter((r) => r.run === run)));
    const orphans = mine.filter((n) => !Object.hasOwn(listed, n));
    if (orphans.length > 0) await deps.reports.remove?.(date, orphans);
    return result;
  } finally {
    await deps.control.releaseLease(date, run);
  }
}

/** The rollups' evidence read (RollupUsage.evidence), passed on to a part's or a join's rollups. */
function evidenceOf(rollups: RollupUsage): Pick<RollupUsage, 'evidence'> {
  const read = rollups.evidence?.bind(rollups);
  return read ? { evidence: read } : {};
}
