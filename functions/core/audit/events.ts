/**
 * Finding events, pure: what changed between the findings last published for a month and the
 * findings of a newer report of that month (previous state + current findings → changes), the
 * events those changes become, their size bound, and the digest of the critical and high ones.
 *
 * State. Per finding_id, the line as last PUBLISHED (not as last seen), its status (open or
 * resolved) and a version that each change increments (1 when first opened). A finding whose
 * numbers drift below the threshold keeps its published line, so slow creep is measured against
 * what subscribers were last told and eventually crosses the threshold.
 *
 * Changes, for one month's state against one report of that month:
 *   opened    the finding_id is in the report and not open in the state (new, or back after it
 *             was resolved; then `previous` holds the values it was resolved with);
 *   changed   open in both, and its severity, limit or currency changed, or observed changed by
 *             at least `thresholdPercent` percent of the published observed (from 0: any
 *             change), or excess or amount_owed appeared or went (null ↔ a number). Excess and
 *             amount_owed follow observed; measured on their own, excess (observed − limit, small
 *             when just over) would move by the threshold for a tiny move of observed. `changed`
 *             lists every value field that moved by the threshold. A month-to-date finding
 *             growing steadily: about 19 Changed events a month at 10% (every night for the
 *             first ten days, then about every 10% of the days gone).
 *   resolved  open in the state and absent from the report.
 *
 * Scoping by month (the use case, functions/audit/finding-events.ts) is what keeps a month's
 * findings from being "resolved" by the next month's first report: finding ids carry their month
 * (or day), and each report is compared only with the state of its own month.
 */
import { compareStrings } from '../support.ts';
import { sha256Hex } from './format.ts';
import type { FindingOf, Severity } from './types.ts';

/** Any finding line (a rule's name is a string here; extra fields are carried as they are). */
export type FindingLine = FindingOf<string>;

export type ChangeKind = 'opened' | 'changed' | 'resolved';

export const EVENT_SOURCE = 'usage-auditor';

export const DETAIL_TYPES = {
  opened: 'Finding Opened',
  changed: 'Finding Changed',
  resolved: 'Finding Resolved',
} as const satisfies Record<ChangeKind, string>;

export type DetailType = (typeof DETAIL_TYPES)[ChangeKind];

/** The default of `thresholdPercent`: a change of 10% or more of the published value. */
export const DEFAULT_CHANGE_THRESHOLD_PERCENT = 10;

/** The numbers a change compares; also an event's `previous`. */
export const VALUE_FIELDS = [
  'report_date',
  'severity',
  'period_start',
  'period_end',
  'observed',
  'limit',
  'excess',
  'amount_owed',
  'currency',
] as const;

export type FindingValues = Pick<FindingLine, (typeof VALUE_FIELDS)[number]>;

export interface FindingState {
  finding_id: string;
  status: 'open' | 'resolved';
  /** 1 when first opened; +1 on every change. */
  version: number;
  /** The line as last published. */
  line: FindingLine;
}

export interface FindingChange {
  kind: ChangeKind;
  finding_id: string;
  /** The state's version after this change. */
  version: number;
  /** The current line; for `resolved`, the line last published. */
  line: FindingLine;
  /** The published values before this change (null for a finding never seen before). */
  previous: FindingValues | null;
  /** For `changed`: the fields that made it a change, in VALUE_FIELDS order. */
  changed: string[];
}

export function valuesOf(line: FindingLine): FindingValues {
  const out: Record<string, unknown> = {};
  for (const k of VALUE_FIELDS) out[k] = line[k];
  return out as FindingValues;
}

/** Whether `cur` differs from `prev` by at least `percent` % of `prev` (any change from 0 or null). */
function movedBy(prev: number | null, cur: number | null, percent: number): boolean {
  if (prev === cur) return false;
  if (prev === null || cur === null || prev === 0) return true;
  return Math.abs(cur - prev) * 100 >= percent * Math.abs(prev);
}

/** The fields that make `cur` a change from the published `prev` (empty: not a change). */
export function significantFields(
  prev: FindingValues,
  cur: FindingValues,
  thresholdPercent: number,
): string[] {
  const out: string[] = [];
  if (prev.severity !== cur.severity) out.push('severity');
  if (prev.limit !== cur.limit) out.push('limit');
  if (prev.currency !== cur.currency) out.push('currency');
  // What counts is observed (excess and amount_owed follow it, and excess, a small difference,
  // moves by many percent for a small move of observed); excess or amount_owed only when one
  // appears or goes (null ↔ a number). Those that moved past the threshold too are listed.
  const derived = (['excess', 'amount_owed'] as const).filter(
    (k) => (prev[k] === null) !== (cur[k] === null),
  );
  if (out.length === 0 && derived.length === 0 && !movedBy(prev.observed, cur.observed, thresholdPercent))
    return [];
  for (const k of ['observed', 'excess', 'amount_owed'] as const)
    if (movedBy(prev[k], cur[k], thresholdPercent)) out.push(k);
  return VALUE_FIELDS.filter((f) => out.includes(f));
}

/** The changes from `previous` (one month's state) to `current` (one report's findings of it), by finding_id. */
export function diffFindings(
  previous: Iterable<FindingState>,
  current: readonly FindingLine[],
  thresholdPercent: number = DEFAULT_CHANGE_THRESHOLD_PERCENT,
): FindingChange[] {
  const state = new Map<string, FindingState>();
  for (const s of previous) state.set(s.finding_id, s);
  const seen = new Set<string>();
  const changes: FindingChange[] = [];
  for (const line of current) {
    const id = line.finding_id;
    if (seen.has(id)) continue;
    seen.add(id);
    const s = state.get(id);
    if (s === undefined || s.status === 'resolved') {
      changes.push({
        kind: 'opened',
        finding_id: id,
        version: (s?.version ?? 0) + 1,
        line,
        previous: s ? valuesOf(s.line) : null,
        changed: [],
      });
      continue;
    }
    const changed = significantFields(valuesOf(s.line), valuesOf(line), thresholdPercent);
    if (changed.length > 0)
      changes.push({
        kind: 'changed',
        finding_id: id,
        version: s.version + 1,
        line,
        previous: valuesOf(s.line),
        changed,
      });
  }
  for (const s of state.values()) {
    if (s.status === 'open' && !seen.has(s.finding_id))
      changes.push({
        kind: 'resolved',
        finding_id: s.finding_id,
        version: s.version + 1,
        line: s.line,
        previous: valuesOf(s.line),
        changed: [],
      });
  }
  return changes.sort((a, b) => compareStrings(a.finding_id, b.finding_id));
}

/** The state after `changes` (the states they touch replaced; the others as they were). */
export function applyChanges(
  previous: Iterable<FindingState>,
  changes: readonly FindingChange[],
): Map<string, FindingState> {
  const out = new Map<string, FindingState>();
  for (const s of previous) out.set(s.finding_id, s);
  for (const c of changes) out.set(c.finding_id, stateAfter(c));
  return out;
}

/** The state a change leaves its finding in. */
export function stateAfter(c: FindingChange): FindingState {
  return {
    finding_id: c.finding_id,
    status: c.kind === 'resolved' ? 'resolved' : 'open',
    version: c.version,
    line: c.line,
  };
}

/** An event's id: its finding and the version the change produced, so a change has one id. */
export const eventIdOf = (c: Pick<FindingChange, 'finding_id' | 'version'>): string =>
  `${c.finding_id}.v${c.version}`;

export interface FindingEventDetail {
  event_id: string;
  change: ChangeKind;
  version: number;
  /** The report whose findings produced the change. */
  report_date: string;
  /** For `changed`: which fields made it one. */
  changed: string[];
  /** The finding line (for `resolved`: as last published). */
  finding: FindingLine;
  previous: FindingValues | null;
  /** Present when the line was cut to fit the size bound: how many apps and sources were left out. */
  truncated?: { apps: number; sources: number };
}

/** One finding event, as put on the bus and POSTed to a webhook. */
export interface FindingEvent {
  id: string;
  source: typeof EVENT_SOURCE;
  'detail-type': DetailType;
  /** When the change was recorded, ISO 8601 UTC. */
  time: string;
  detail: FindingEventDetail;
}

/** The most UTF-8 bytes an event's detail takes: well under EventBridge's 256 KB per entry. */
export const MAX_DETAIL_BYTES = 200 * 1024;

export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The detail cut to `maxBytes` of JSON: first the evidence's listed sources go (source_count
 * stays, truncated becomes true), then the apps, then the free-text `detail` is shortened.
 */
export function boundDetail(
  detail: FindingEventDetail,
  maxBytes: number = MAX_DETAIL_BYTES,
): FindingEventDetail {
  const fits = (d: FindingEventDetail) => utf8Bytes(JSON.stringify(d)) <= maxBytes;
  if (fits(detail)) return detail;
  const f = detail.finding;
  const sources = f.evidence?.sources?.length ?? 0;
  let out: FindingEventDetail = {
    ...detail,
    finding: { ...f, evidence: { ...f.evidence, sources: [], truncated: true } },
    truncated: { apps: 0, sources },
  };
  if (fits(out)) return out;
  out = { ...out, finding: { ...out.finding, apps: [] }, truncated: { apps: f.apps.length, sources } };
  if (fits(out)) return out;
  return { ...out, finding: { ...out.finding, detail: `${f.detail.slice(0, 1000)}…` } };
}

export function eventOf(c: FindingChange, reportDate: string, time: string): FindingEvent {
  const id = eventIdOf(c);
  return {
    id,
    source: EVENT_SOURCE,
    'detail-type': DETAIL_TYPES[c.kind],
    time,
    detail: boundDetail({
      event_id: id,
      change: c.kind,
      version: c.version,
      report_date: reportDate,
      changed: c.changed,
      finding: c.line,
      previous: c.previous,
    }),
  };
}

/** The severities the digest reports. */
export const DIGEST_SEVERITIES: readonly Severity[] = ['critical', 'high'];

export interface Digest {
  /** `digest-<report date>-<first 16 hex of sha256 over the event ids>`: one id per set of changes. */
  id: string;
  report_date: string;
  event_ids: string[];
  subject: string;
  message: string;
}

/** At most this many events are listed in one digest message (the rest are counted). */
export const DIGEST_MAX_LINES = 100;

const fmt = (n: number | null): string => (n === null ? '—' : n.toLocaleString('en-US'));

/** One line of the digest, e.g. `OPENED critical prohibited_recipient northwind requests government: 1,234`. */
export function digestLine(e: FindingEvent): string {
  const d = e.detail;
  const f = d.finding;
  const who = [f.rule, f.licensee ?? '(no agreement)', f.metric, f.subject].filter((x) => x !== null);
  const was =
    d.change === 'changed' && d.previous
      ? ` (was ${d.previous.severity}, ${fmt(d.previous.observed)})`
      : d.change === 'resolved'
        ? ' (no longer reported)'
        : '';
  const owed =
    f.amount_owed === null ? '' : `, owed ${f.amount_owed.toFixed(2)} ${f.currency ?? ''}`.trimEnd();
  return `${d.change.toUpperCase()} ${f.severity} ${who.join(' ')}: ${fmt(f.observed)}${
    f.limit === null ? '' : ` of ${fmt(f.limit)}`
  }${owed}${was} [${f.finding_id}]`;
}

/**
 * The digest of one report's events whose finding is (or, for a change or resolution, was)
 * critical or high; undefined when there are none. Plain text, bounded to DIGEST_MAX_LINES lines.
 */
export function digestOf(reportDate: string, events: readonly FindingEvent[]): Digest | undefined {
  const serious = (s: string | undefined) => s !== undefined && (DIGEST_SEVERITIES as string[]).includes(s);
  const picked = events.filter(
    (e) => serious(e.detail.finding.severity) || serious(e.detail.previous?.severity),
  );
  if (picked.length === 0) return undefined;
  // A line is cut at 1,000 characters (a subject may be a 2,048-character endpoint), so a message
  // stays far below SNS's 256 KB.
  const lines = picked
    .slice(0, DIGEST_MAX_LINES)
    .map(digestLine)
    .map((l) => (l.length > 1000 ? `${l.slice(0, 999)}…` : l));
  if (picked.length > lines.length) lines.push(`… and ${picked.length - lines.length} more`);
  const count = (k: ChangeKind) => picked.filter((e) => e.detail.change === k).length;
  const parts = (['opened', 'changed', 'resolved'] as const)
    .filter((k) => count(k) > 0)
    .map((k) => `${count(k)} ${k}`);
  const eventIds = picked.map((e) => e.id);
  return {
    id: `digest-${reportDate}-${sha256Hex(eventIds.join('\n')).slice(0, 16)}`,
    report_date: reportDate,
    event_ids: eventIds,
    subject: `usage-auditor ${reportDate}: critical/high findings ${parts.join(', ')}`,
    message: [
      `usage-auditor, report ${reportDate}: changes to critical and high findings`,
      '',
      ...lines,
      '',
      'Each line: change, severity, rule, licensee, metric, subject: observed [of limit], [finding_id].',
      `Details: auditor findings --date ${reportDate}; auditor alerts --date ${reportDate} --json`,
    ].join('\n'),
  };
}
