/**
 * What the audit use cases need from the outside world, owned here: the adapters
 * (functions/adapters/*) implement these; tests stand in for them with in-memory fakes.
 */
import type { Agreement } from '../core/audit/agreements.ts';
import type { Digest, FindingEvent, FindingLine, FindingState } from '../core/audit/events.ts';
import type { Finding } from '../core/audit/findings.ts';
import type { AgreementVersion, RegistryVersion } from '../core/audit/terms.ts';
import type { EvidenceSpec, FindingEvidence, LifecycleChange } from '../core/audit/types.ts';
import type { PartPlan } from '../core/audit-parts.ts';
import type { ObjectManifest, UsageRow } from '../core/ledger.ts';
import type { RowEvidence } from '../core/request-evidence.ts';
import type { RecipientsRegistry } from '../core/types.ts';

/** Committed usage and ingest bookkeeping, read-only. */
export interface UsageReader {
  /** Usage per app and day in [from, to] (per log object with `perSource`), committed writes only. */
  queryUsage(opts: {
    from: string;
    to: string;
    apps?: readonly string[];
    perSource?: boolean;
  }): Promise<UsageRow[]>;
  /** Keys of objects with data-quality problems processed on a day in [from, to]. */
  dataQualityKeys(from: string, to: string): Promise<string[]>;
  /** The committed manifests of these objects (missing ones left out), sorted by key. */
  getManifests(keys: readonly string[]): Promise<ObjectManifest[]>;
  /** Days in [from, to] with the time their usage last changed. */
  changedDays(from: string, to: string): Promise<Map<string, string>>;
}

/** Agreements, read. */
export interface AgreementReader {
  listAgreements(): Promise<Agreement[]>;
}

/** Agreements, read and stored (the agreements-loading use case). */
export interface AgreementStore extends AgreementReader {
  putAgreements(agreements: readonly Agreement[]): Promise<void>;
}

/** The recipients registry, stored. */
export interface RegistryStore {
  putRegistry(registry: RecipientsRegistry): Promise<unknown>;
  /** The stored registry; undefined when none was ever loaded. */
  storedRegistry(): Promise<RecipientsRegistry | undefined>;
  /** Appends (never overwrites) the record of a forced registry load; answers the registry's hash. */
  recordForcedRegistry(load: ForcedRegistryLoad): Promise<string>;
}

/** The versions of agreements and of the registry (issue 11), read (core/audit/terms.ts). */
export interface TermsReader {
  /** Every agreement version of every licensee (a legacy item as seq 0, from the beginning). */
  agreementVersions(): Promise<AgreementVersion[]>;
  /** Every registry version (a legacy registry as seq 0, from the beginning). */
  registryVersions(): Promise<RegistryVersion[]>;
}

/** The versions, appended: never overwritten (false when that seq exists already). */
export interface TermsWriter extends TermsReader {
  appendAgreementVersion(v: AgreementVersion): Promise<boolean>;
  appendRegistryVersion(v: RegistryVersion): Promise<boolean>;
}

/** A prohibited category of a stored agreement that the registry does not have. */
export interface CategoryGap {
  licensee: string;
  categories: string[];
}

/** A registry stored with `--force` although agreements still prohibit categories it lacks. */
export interface ForcedRegistryLoad {
  /** Who forced it: the OS user running the CLI (or the caller's identity). */
  by: string;
  /** When, ISO 8601 UTC. */
  at: string;
  dropped: CategoryGap[];
  registry: RecipientsRegistry;
}

/** When each report was last checked against the usage it read. */
export interface ReportLog {
  recordReport(date: string, writtenAt: string, contentSha256: string): Promise<void>;
  /** When each report in [from, to] was last checked. */
  reportTimes(from: string, to: string): Promise<Map<string, string>>;
}

/**
 * The chain's anchors: per report date, an append-only record of the sha256 of every manifest.json
 * the audit wrote (nothing is ever overwritten); the newest per date is that date's anchor.
 */
export interface ChainAnchors {
  /** Appends `manifestSha256` to the date's record, unless it is already the newest. */
  anchorManifest(
    date: string,
    manifestSha256: string,
    writtenAt: string,
    contentSha256?: string,
  ): Promise<void>;
  /** Every anchored date → its newest manifest sha256 (hex). */
  anchors(): Promise<Map<string, string>>;
  /** Every anchored date → the content_sha256 recorded with its anchors, oldest first (where recorded). */
  anchorContents?(): Promise<Map<string, string[]>>;
}

/** A stored change of a finding's state (lifecycle.ts), with the finding's id. */
export type StoredLifecycleChange = LifecycleChange & { finding_id: string };

/**
 * The finding lifecycle in the control table: one item per change, appended with a conditional put
 * on the next seq of its finding, never overwritten.
 */
export interface LifecycleLog {
  /** Every change of every finding (the audit attaches them to the findings it reports). */
  lifecycleChanges(): Promise<StoredLifecycleChange[]>;
  /** The changes of one finding, by seq. */
  findingChanges(findingId: string): Promise<LifecycleChange[]>;
  /** Appends `change` (its seq must be new for the finding); false when that seq is already taken. */
  appendLifecycleChange(findingId: string, change: LifecycleChange): Promise<boolean>;
}

/** Who holds a lease: the owner and until when (epoch milliseconds). */
export interface LeaseHolder {
  owner: string;
  expiresAt: number;
}

/**
 * Leases in the control table: one audit run at a time per report date (and for the chain's
 * re-linking and latest.json). A lease lapses at `expiresAt`; nothing needs to renew it when it
 * outlives the function's timeout.
 */
export interface AuditLeases {
  /**
   * Takes lease `name` for `owner` until `expiresAt` when no other owner holds it past `now`
   * (epoch milliseconds); answers undefined when taken, else the other holder.
   */
  acquireLease(name: string, owner: string, now: number, expiresAt: number): Promise<LeaseHolder | undefined>;
  /** Lets lease `name` lapse now, if `owner` still holds it (else leaves it as it is). */
  releaseLease(name: string, owner: string): Promise<void>;
}

/**
 * Evidence files recorded before they are written (audit/pending-evidence.ts): a run that fails
 * between an evidence file and its date's manifest leaves files the next run can tell from
 * tampering. Each date's pending writes are superseded when its manifest is next written.
 */
export interface PendingEvidence {
  /** Records that evidence file `name` of `date` is about to be written with `sha256` (hex). */
  pendingEvidence?(date: string, name: string, sha256: string): Promise<void>;
  /** The date's pending writes not yet superseded: file name → the sha256s recorded for it. */
  pendingOf?(date: string): Promise<Map<string, Set<string>>>;
  /** Supersedes every pending write of `date` recorded so far (its manifest is written and anchored). */
  settlePending?(date: string): Promise<void>;
  /** Who holds lease `name` (expiresAt in the past: lapsed), without taking it. */
  leaseOf?(name: string): Promise<LeaseHolder | undefined>;
}

/** The report files, by date, and latest.json. */
export interface ReportFiles {
  /** Report dates present (those with a manifest), ascending. */
  listDates(): Promise<string[]>;
  readFile(date: string, name: string): Promise<string | undefined>;
  /** Every file of one report folder, by name. */
  readAll(date: string): Promise<Map<string, string>>;
  /** The sha256 (hex, of the bytes) of every file of one report folder, by name; each file streamed, none held. */
  fileHashes(date: string): Promise<Map<string, string>>;
  /** Writes the files in order (the manifest last); a body may be streamed as chunks. */
  write(date: string, files: readonly ReportFileBody[]): Promise<void>;
  /** Deletes files of one report folder (evidence files of findings that are gone). */
  remove?(date: string, names: readonly string[]): Promise<void>;
  /** The date latest.json names, if it is readable. */
  latest(): Promise<string | undefined>;
  setLatest(date: string): Promise<void>;
}

/**
 * Finding events (functions/audit/finding-events.ts): each audited report's findings are compared
 * with what was last published for its month, and the changes are delivered.
 */
export interface FindingEventSink {
  /** Records the changes that `date`'s findings make (an outbox row each); publishes nothing yet. */
  record(date: string, findings: readonly FindingLine[]): Promise<void>;
  /**
   * Delivers every pending event and digest of the months recorded by this instance, of `months`
   * (YYYY-MM), of this month and of last month; throws when some stay pending (they go next time).
   */
  flush(months?: readonly string[]): Promise<void>;
}

/** One event or digest to deliver, and what became of it. */
export interface OutboxRow {
  kind: 'event' | 'digest';
  id: string;
  report_date: string;
  recorded_at: string;
  /**
   * `sent` once every configured target has it; `superseded` when its run crashed before committing
   * the change and the retry did not make the same change (it never happened; it is not delivered);
   * `rejected` once every configured target has it or refused it for good, and one refused it.
   */
  status: 'pending' | 'sent' | 'superseded' | 'rejected';
  /** The targets that have it (none locally: there the control table is the record). */
  sent_to: string[];
  /** The targets that refused it for good (a webhook's 4xx other than 408 and 429). */
  rejected_by?: string[];
  sent_at?: string;
  event?: FindingEvent;
  digest?: Digest;
}

/** The control table's part of finding events: per month, the head, the finding states and the outbox. */
export interface FindingEventStore {
  /** The newest report date of `month` (YYYY-MM) whose findings were compared. */
  eventsHead(month: string): Promise<string | undefined>;
  setEventsHead(month: string, date: string): Promise<void>;
  findingStates(month: string): Promise<FindingState[]>;
  putFindingStates(month: string, states: readonly FindingState[]): Promise<void>;
  /** Puts each row unless a row with its id was already sent (conditional put; a superseded row is overwritten). */
  putOutbox(month: string, rows: readonly OutboxRow[]): Promise<void>;
  /** The outbox rows of `month` (by the month of their report date), pending and sent. */
  outbox(month: string): Promise<OutboxRow[]>;
  /** Stores a row's new status (an overwrite of the whole row). */
  markOutbox(month: string, row: OutboxRow): Promise<void>;
}

/** A delivery target of finding events (the EventBridge bus, a webhook). */
export interface EventTarget {
  readonly name: string;
  /**
   * Delivers what it can; answers the ids delivered, the ids the target refused for good (a
   * webhook's 4xx: not sent to it again) and one line per failure.
   */
  deliver(
    events: readonly FindingEvent[],
  ): Promise<{ delivered: Set<string>; rejected?: Set<string>; errors: string[] }>;
}

/** Where the digest of critical and high changes goes (the SNS topic). */
export interface DigestTarget {
  readonly name: string;
  deliver(digest: Digest): Promise<void>;
}

/** Licensee statements in the reports bucket (statements/licensee=L/month=YYYY-MM/NAME). */
export interface StatementFiles {
  readStatement(licensee: string, month: string, name: string): Promise<string | undefined>;
  writeStatement(
    licensee: string,
    month: string,
    files: readonly { name: string; body: string; contentType: string }[],
  ): Promise<void>;
}

/** One report file to write: its body whole, or as chunks written as they come (never joined). */
export interface ReportFileBody {
  name: string;
  body: string | AsyncIterable<string>;
  contentType: string;
}

/**
 * Usage read from per-(app, day) rollups (adapters/rollup-store.ts) instead of one row per log
 * object, and the per-object usage streamed when a finding's evidence needs it.
 */
export interface RollupUsage {
  /** Usage rows of [from, to] (app-days with usage); sources = each day's top objects by records. */
  usage(from: string, to: string): Promise<UsageRow[]>;
  /** The committed usage of one app on [from, to], one row per object and day, streamed. */
  parts(app: string, from: string, to: string): AsyncIterable<UsageRow>;
  /**
   * The request-level evidence of some of usage()'s rows, when usage() leaves it out of them
   * (audit/finding-lines.ts reads it for the findings' app-days only).
   */
  evidence?(rows: readonly UsageRow[]): Promise<(RowEvidence | undefined)[]>;
  /** What the parts of a split date already did (audit/parts.ts); nothing without it. */
  partsDone?: PartsDone;
  /** What splitting a report date into parts needs (audit/parts.ts); without it a date is one part. */
  split?: RollupSplit;
}

/** What the parts of a split report date did before its join (audit/parts.ts). */
export interface PartsDone {
  /**
   * A finding whose evidence a part computed and wrote: its bounded evidence and the sha256 of its
   * evidence file; undefined when it is to be computed. `spec`: how the audit would compute it (its
   * app-days: what the evidence depends on).
   */
  evidence(finding: Finding, spec?: EvidenceSpec): { evidence: FindingEvidence; sha256: string } | undefined;
  /** Every evidence file the parts wrote (name → sha256): what the folder holds, whatever the manifest says. */
  written: Readonly<Record<string, string>>;
}

/** The rollups' side of a report date split into parts (audit/parts.ts). */
export interface RollupSplit {
  /**
   * Per app listed for [from, to] and per day, about how many objects are behind the app-day, from
   * the stored rollups and the day markers only (no contribution is read): core/audit-parts.ts.
   */
  objectsPerAppDay(from: string, to: string): Promise<Map<string, Map<string, number>>>;
  /**
   * The content digest (core/rollup.ts contentDigest) of the rollup behind each of some rows this
   * store served (usage(), refreshApps()), by `<app>\0<day>`; a row whose digest is not known is
   * left out.
   */
  digests(rows: readonly UsageRow[]): Map<string, string>;
  /**
   * Rebuilds the stale rollups of the apps `pick` chooses from those listed, and only those;
   * answers their usage rows (as usage() does) and the day tokens read first.
   */
  refreshApps(
    from: string,
    to: string,
    pick: (listed: readonly string[]) => readonly string[],
  ): Promise<{ rows: UsageRow[]; tokens: Map<string, string> }>;
}

/**
 * Where the parts of a split report date leave their results for the date's join (audit/parts.ts):
 * one record per chunk, overwritten by the next run's parts of the same date and part number.
 */
export interface PartResults {
  put(date: string, part: number, chunk: number, record: PartRecord): Promise<void>;
  /** Every stored record of one part of `date` (of any run), by chunk. */
  get(date: string, part: number): Promise<PartRecord[]>;
  /** Stores the parts of `date` that `run` planned (the plan step; one record per run and date). */
  putPlan(run: string, date: string, parts: readonly PartPlan[]): Promise<void>;
  /** The parts of `date` that `run` planned, or undefined when none are stored (expired, never planned). */
  getPlan(run: string, date: string): Promise<PartPlan[] | undefined>;
}

/** One stored record of a part: a chunk of its results, or the files it has written so far. */
export interface PartRecord {
  run: string;
  chunk: number;
  /**
   * sha256 of the window's day tokens the part read its rollups against: which attempt of the part
   * the record belongs to (a retry over the same tokens resumes it).
   */
  tokens: string;
  /** Findings done (finding fingerprint → bounded evidence and file sha256). */
  done: PartEntry[];
  /** Evidence files written so far (name → sha256), before their findings are done. */
  written: Record<string, string>;
  /** On the part's last record: how many records it wrote, and that it is complete. */
  complete?: { records: number; findings: number };
}

export interface PartEntry {
  /** sha256 of the finding without its evidence (stableJson). */
  fp: string;
  evidence: FindingEvidence;
  sha256: string;
  /**
   * sha256 over the finding's app-days (its EvidenceSpec's cells) and the content digests of their
   * rollups when the part read them (parts.ts cellsDigest): the join takes the entry only while
   * that is still so. Absent when not known (never taken).
   */
  cells?: string;
}

/** The manifest's file name in every report folder (written last; hashes the others). */
export const MANIFEST = 'manifest.json';

/** JSON.parse that answers undefined for missing or damaged text (a stored file may be tampered with). */
export function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
