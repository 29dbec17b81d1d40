/**
 * The types shared by the audit modules (rules, report model, report files, report.html), in a
 * module of their own so that no two audit modules need to import each other. Besides types it
 * holds only two constant lists (the severity scale and the fields of a finding line) and the bound
 * on a finding's evidence (EVIDENCE_MAX_SOURCES).
 *
 * The union of rule names is not written here: the rule registry (rules/registry.ts) derives it,
 * so a finding here is generic in its rule name (FindingOf) and findings.ts names the real one.
 */
import type { EvidenceLine, RowEvidence } from '../request-evidence.ts';
import type { DayUsage, SourceRef } from '../types.ts';
import type { Agreement } from './agreements.ts';

/** Usage of one app on one day with the log objects behind it (adapters' UsageRow is compatible). */
export interface AuditUsageRow extends DayUsage {
  sources: SourceRef[];
  /** Request-level evidence (issue 11 item 5), when the row's objects were read with it. */
  evidence?: RowEvidence;
}

export interface AuditInput {
  /** Report date D, YYYY-MM-DD. */
  reportDate: string;
  agreements: Agreement[];
  /** Usage of every app (covered or not) per day; at least the days of W (others are ignored). */
  usage: AuditUsageRow[];
  /**
   * Versioned terms (terms.ts): the agreement of a licensee in force on a day of W, undefined when
   * none is. Absent: each of `agreements` on every day. `agreements` are then those in force on D.
   */
  termsOn?: (licensee: string, day: string) => Agreement | undefined;
}

/** The severity scale, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type Metric = 'monthly_records' | 'monthly_requests' | 'daily_records' | 'records' | 'requests';

export interface FindingApp {
  app_id: string;
  value: number;
  share: number;
}

/** A finding of rule R (findings.ts: `Finding`, with R the registry's rule names). */
export interface FindingOf<R extends string> {
  report_date: string;
  finding_id: string;
  licensee: string | null;
  rule: R;
  severity: Severity;
  metric: Metric;
  /** What the finding is about besides its licensee: a category, an app id, an endpoint, or null. */
  subject: string | null;
  period_start: string;
  period_end: string;
  observed: number;
  limit: number | null;
  excess: number | null;
  amount_owed: number | null;
  currency: string | null;
  apps: FindingApp[];
  detail: string;
  evidence: FindingEvidence;
  /**
   * Only on a finding someone acknowledged, disputed, waived or resolved (lifecycle.ts): its state
   * in this report and the changes behind it. Absent otherwise, so such a finding's line is as before.
   */
  lifecycle?: FindingLifecycle;
}

// ---------------------------------------------------------------------------------------------
// Finding lifecycle (lifecycle.ts; `auditor findings ack|dispute|waive|resolve`)

/** What a person does to a finding. */
export type LifecycleAction = 'ack' | 'dispute' | 'waive' | 'resolve';

/**
 * A finding's state in one report. `open`: no change applies. The four actions lead to
 * `acknowledged`, `disputed`, `waived` and `resolved`; `waiver_expired` is a waived finding in a
 * report dated after its waiver's `until`; `reopened` a resolved finding that came back.
 */
export type LifecycleState =
  | 'open'
  | 'acknowledged'
  | 'disputed'
  | 'waived'
  | 'resolved'
  | 'reopened'
  | 'waiver_expired';

/** One stored change of a finding's state (append-only, control table `pk LIFECYCLE`). */
export interface LifecycleChange {
  /** 1, 2, …: the order of the finding's changes. */
  seq: number;
  action: LifecycleAction;
  /** The state the action leads to. */
  state: LifecycleState;
  note: string;
  /** Last day (inclusive) of a waiver; null for a waiver without end and for other actions. */
  until: string | null;
  /** Who: the OS user locally, the AWS principal with --stack. */
  by: string;
  /** When, ISO 8601 UTC. */
  at: string;
  /** The newest report holding the finding when the change was made: it applies from this date on. */
  report_date: string;
  /** The finding's observed value in that report (a resolved finding reopens when it differs). */
  observed: number;
}

/** A finding's state in one report and the changes that apply to it (report_date ≤ the report's). */
export interface FindingLifecycle {
  state: LifecycleState;
  /** The waiver's last day while the state is `waived` or `waiver_expired`, else null. */
  until: string | null;
  history: LifecycleChange[];
}

/** A log object behind a finding, with what it contributed to the finding's observed value. */
export interface SourceContribution extends SourceRef {
  /**
   * The sum, over the input rows (parts) that name this source and count for the finding, of
   * their share of the finding's metric (e.g. their records for a records finding). A row naming
   * several sources counts whole for each of them.
   */
  contribution: number;
}

/**
 * How a finding's evidence is computed from the per-object usage of its app-days: `cells` (the
 * app-day rows behind the finding) and, for one object's usage of one cell, whether it counts and
 * its contribution. evidenceOf attaches it to the list it returns, so that a caller whose rows are
 * rollups (no per-object parts) can stream the parts and compute the same list (audit/evidence.ts).
 */
export interface EvidenceSpec {
  cells: readonly WindowRow[];
  value: (part: DayUsage) => number;
  counts: (part: DayUsage) => boolean;
}

/** A full evidence list with, when a rule made it, how it was computed. */
export type EvidenceList = SourceContribution[] & { spec?: EvidenceSpec };

/** The most sources a finding's evidence lists (findings.jsonl, report.json, findings.csv). */
export const EVIDENCE_MAX_SOURCES = 20;

/**
 * A finding's evidence, bounded: `sources` holds the top EVIDENCE_MAX_SOURCES sources by
 * contribution to the observed value (ties broken by key, then gen), listed in key then gen
 * order; `source_count` counts every distinct source behind the finding; `truncated` says
 * whether some were left out (source_count > sources.length). The full list, with each source's
 * contribution, comes from auditWithEvidence (rules.ts).
 */
export interface FindingEvidence {
  sources: SourceRef[];
  source_count: number;
  truncated: boolean;
  /**
   * prohibited_recipient, unauthorized_endpoint and unknown_app only, and only when some line was
   * kept: up to EVIDENCE_MAX_LINES log lines behind the finding, by key, gen, then line (absent
   * otherwise, so other findings keep their bytes). What `auditor evidence` fetches and checks.
   */
  lines?: EvidenceLine[];
}

/** The most log lines a finding's evidence lists. */
export const EVIDENCE_MAX_LINES = 20;

/**
 * The fields of a finding, in the fixed order of audit()'s findings, findings.jsonl and the columns
 * of findings.csv (SPEC §5). The one list of them.
 */
export const FINDING_FIELDS = [
  'report_date',
  'finding_id',
  'licensee',
  'rule',
  'severity',
  'metric',
  'subject',
  'period_start',
  'period_end',
  'observed',
  'limit',
  'excess',
  'amount_owed',
  'currency',
  'apps',
  'detail',
  'evidence',
] as const satisfies readonly (keyof FindingOf<string>)[];

/**
 * What a rule reports: a finding without the parts the audit adds (its rule name, report date and
 * id), plus the period key of its id (the month YYYY-MM, or the day for a daily finding).
 */
export interface FindingDraft
  extends Omit<FindingOf<string>, 'report_date' | 'finding_id' | 'rule' | 'evidence'> {
  periodKey: string;
  /**
   * Every source behind the finding with its contribution, ordered by contribution descending,
   * then key, then gen (rules/support.ts evidenceOf); the audit bounds it into FindingEvidence.
   */
  evidence: SourceContribution[];
  /** The log lines behind the finding (rules/evidence-lines.ts), at most EVIDENCE_MAX_LINES. */
  lines?: EvidenceLine[];
}

/**
 * One app's usage on one day of W: the input rows of that app and day summed, with the union of
 * their sources, and the input rows themselves (`parts`, one per log object when the caller gives
 * them so), so that evidence can name only the objects that contributed to a number.
 */
export interface WindowRow extends AuditUsageRow {
  parts: readonly AuditUsageRow[];
}

/** The usage of W, summed per app and day (window.ts). */
export interface WindowUsage {
  window: { start: string; end: string };
  days: string[];
  /** app → day → row; only (app, day) pairs with a row. */
  byApp: Map<string, Map<string, WindowRow>>;
}

/** An agreement with the rows of W of its apps that have usage (apps in agreement order, then days). */
export interface AgreementUsage {
  agreement: Agreement;
  rows: readonly WindowRow[];
  /** The licensee's terms in force on a day of W (AuditInput.termsOn; else `agreement`). */
  on: (day: string) => Agreement | undefined;
}

/** Everything a rule reads: the report date, the usage of W and the agreements. */
export interface RuleContext extends WindowUsage {
  reportDate: string;
  /** D's month, YYYY-MM: the period key of every month-to-date finding. */
  month: string;
  /** The agreements, sorted by licensee, whose apps have usage in W, each with that usage. */
  agreements: readonly AgreementUsage[];
  /** Every app id that some agreement covers (used in W or not, whatever the term). */
  covered: ReadonlySet<string>;
  /** Whether some agreement in force on `day` covers `app` (with versioned terms, per day). */
  coveredOn: (app: string, day: string) => boolean;
}

/** One rule of SPEC §4: one module under rules/, listed once in rules/registry.ts. */
export interface AuditRule<N extends string = string> {
  /** The rule's name in SPEC §4 (and in findings). */
  readonly name: N;
  /** The severities its findings can have, in SPEC §4's words' order. */
  readonly severities: readonly Severity[];
  /** The rule's findings for the window, in any order (the audit sorts them). */
  evaluate(ctx: RuleContext): FindingDraft[];
}

// ---------------------------------------------------------------------------------------------
// Data quality (report.json, report.html)

export type ObjectStatus = 'ingested' | 'empty' | 'quarantined';

export interface DataQualityObject {
  key: string;
  gen: string;
  status: ObjectStatus;
  lines: number;
  counted: number;
  rejected: number;
  reason?: string;
  /** Where the rejected lines are listed (reports bucket key). */
  rejects_key?: string;
  /** Rejected lines per reason class, most first (absent without rejects: functions/core/reject-classes.ts). */
  reject_reasons?: { reason: string; lines: number }[];
}

export interface DataQualityTotals {
  objects: number;
  ingested: number;
  empty: number;
  quarantined: number;
  lines: number;
  counted: number;
  rejected: number;
}

/**
 * Duplicate request_ids of W's usage (issue 11 item 5): `within_objects`, lines whose request_id
 * repeats an earlier line of the same object (exact, summed over the objects); and
 * `across_objects_estimate`, request_ids found in two or more objects of the same app-day (a
 * KMV sketch's estimate, kmv.ts), summed over W's app-days.
 */
export interface DuplicateRequestIds {
  within_objects: number;
  across_objects_estimate: number;
  method: string;
  /** Only when some object had more request_ids than were counted: within_objects is then a lower bound. */
  within_objects_capped?: true;
}

export interface DataQuality {
  objects: DataQualityObject[];
  totals: DataQualityTotals;
  /** Only when some duplicate was found (reports of logs without duplicates keep their bytes). */
  duplicate_request_ids?: DuplicateRequestIds;
}
