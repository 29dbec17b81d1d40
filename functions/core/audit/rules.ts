/**
 * The audit rules of SPEC §4 as a pure function: agreements and month-to-date usage in, findings
 * out, deterministically (no clock, no I/O). Each rule is a module under rules/, listed in
 * rules/registry.ts; this module runs them over one context and turns their drafts into findings.
 *
 * Window: W = the first day of the report date D's month … D. Usage rows outside W are ignored;
 * rows of the same app and day are summed (exact integers, usage-math.ts). "Usage" on a day means
 * at least one request (or record) of the app on that day. Every agreement is evaluated, whatever
 * its term. An app covered by two agreements (possible only across separate loads) counts for both.
 * `subject` names what a finding is about besides its licensee; each rule module's comment gives
 * its metric, subject, period and observed value.
 *
 * apps: each app behind the observed number, its value and share (value / observed, rounded half up
 * to 4 decimals), sorted by value descending then app id; apps contributing 0 are left out unless
 * the observed value itself is 0. evidence: the sources (key + gen) of the usage rows behind the
 * finding (the rows of its apps and days that contribute), bounded (types.ts FindingEvidence): the
 * top EVIDENCE_MAX_SOURCES (20) by contribution to the observed value (ties by key, then gen),
 * listed by key then gen, with source_count (every distinct source) and truncated.
 * auditWithEvidence gives, besides each finding, its full source list with each contribution.
 *
 * finding_id and the order of findings: see findings.ts.
 */
import type { EvidenceLine } from '../request-evidence.ts';
import { compareStrings } from '../support.ts';
import type { SourceRef } from '../types.ts';
import type { Agreement } from './agreements.ts';
import { compareFindings, type Finding, findingId, inFieldOrder, type Rule } from './findings.ts';
import { RULE_REGISTRY } from './rules/registry.ts';
import { hasUsage } from './rules/support.ts';
import {
  type AuditInput,
  EVIDENCE_MAX_SOURCES,
  type EvidenceList,
  type EvidenceSpec,
  type FindingDraft,
  type FindingEvidence,
  type RuleContext,
  type SourceContribution,
} from './types.ts';
import { compareSources, windowUsage } from './window.ts';

// The audit's API, at the path its callers have always imported it from.
export { compareFindings, type Finding, findingId, type Rule } from './findings.ts';
export { RULES } from './rules/registry.ts';
export {
  type AuditInput,
  type AuditUsageRow,
  EVIDENCE_MAX_SOURCES,
  type FindingApp,
  type FindingEvidence,
  type Metric,
  SEVERITIES,
  type Severity,
  type SourceContribution,
  type WindowUsage,
} from './types.ts';
export { compareSources, windowUsage } from './window.ts';

/** The context every rule reads for report date D. */
export function ruleContext(input: AuditInput): RuleContext {
  const wu = windowUsage(input.reportDate, input.usage);
  const covered = new Set<string>();
  // App ids per version of the terms, so a row counts for a licensee only on days its terms cover it.
  const appsOf = new Map<Agreement, Set<string>>();
  const appIdsOf = (a: Agreement | undefined): ReadonlySet<string> => {
    if (a === undefined) return new Set();
    let ids = appsOf.get(a);
    if (!ids) {
      ids = new Set(a.apps.map((x) => x.id));
      appsOf.set(a, ids);
    }
    return ids;
  };
  const agreements: RuleContext['agreements'][number][] = [];
  const coveredByDay = new Map<string, Set<string>>();
  for (const agreement of [...input.agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const termsOn = input.termsOn;
    const on = termsOn ? (day: string) => termsOn(agreement.licensee, day) : () => agreement;
    // The agreement on D first (its app order), then apps only earlier versions covered.
    const versions = [agreement, ...wu.days.map(on)];
    const appIds = [...new Set(versions.flatMap((v) => [...appIdsOf(v)]))];
    for (const id of appIds) covered.add(id);
    for (const day of wu.days) {
      const ids = coveredByDay.get(day) ?? new Set<string>();
      coveredByDay.set(day, ids);
      for (const id of appIdsOf(on(day))) ids.add(id);
    }
    const rows = appIds
      .flatMap((app) => [...(wu.byApp.get(app)?.values() ?? [])])
      .filter((r) => hasUsage(r) && appIdsOf(on(r.day)).has(r.app));
    if (rows.length > 0) agreements.push({ agreement, rows, on });
  }
  const coveredOn = input.termsOn
    ? (app: string, day: string) => coveredByDay.get(day)?.has(app) === true
    : (app: string) => covered.has(app);
  return {
    ...wu,
    reportDate: input.reportDate,
    month: input.reportDate.slice(0, 7),
    agreements,
    covered,
    coveredOn,
  };
}

/**
 * A finding's bounded evidence from its full source list (ordered by contribution descending, then
 * key, then gen): the first EVIDENCE_MAX_SOURCES of it, listed by key then gen.
 */
export function boundEvidence(
  full: readonly SourceContribution[],
  lines?: readonly EvidenceLine[],
): FindingEvidence {
  const top = full.slice(0, EVIDENCE_MAX_SOURCES).map((s): SourceRef => ({ key: s.key, gen: s.gen }));
  return {
    sources: top.sort(compareSources),
    source_count: full.length,
    truncated: full.length > top.length,
    // Request-level evidence (issue 11): only when the rule found lines, so other findings keep their bytes.
    ...(lines && lines.length > 0 ? { lines: [...lines] } : {}),
  };
}

/** A rule's draft as a finding of report date D, its fields in FINDING_FIELDS order. */
function toFinding(reportDate: string, { periodKey, ...d }: FindingDraft & { rule: Rule }): Finding {
  return inFieldOrder({
    ...d,
    evidence: boundEvidence(d.evidence, d.lines),
    report_date: reportDate,
    finding_id: findingId({
      licensee: d.licensee,
      rule: d.rule,
      metric: d.metric,
      subject: d.subject,
      periodKey,
    }),
  });
}

/** A finding with the full list of its sources (see auditWithEvidence). */
export interface FindingWithEvidence {
  finding: Finding;
  /**
   * Every distinct source behind the finding with its contribution to the observed value, ordered
   * by contribution descending, then key, then gen; finding.evidence is the bounded view of it.
   */
  sources: SourceContribution[];
  /** How `sources` was computed (rules/support.ts evidenceOf), to compute it again from streamed parts. */
  spec?: EvidenceSpec;
}

/**
 * Evaluates every rule for report date D, each finding with its full source list: what a caller
 * streams into evidence/FINDING_ID.jsonl (report.ts evidenceJsonl). Findings in audit()'s order.
 */
export function auditWithEvidence(input: AuditInput): FindingWithEvidence[] {
  const ctx = ruleContext(input);
  const drafts: (FindingDraft & { rule: Rule })[] = [];
  for (const rule of RULE_REGISTRY)
    for (const d of rule.evaluate(ctx)) drafts.push({ ...d, rule: rule.name });
  return drafts.sort(compareFindings).map((d) => {
    const spec = (d.evidence as EvidenceList).spec;
    return { finding: toFinding(input.reportDate, d), sources: d.evidence, ...(spec ? { spec } : {}) };
  });
}

/** Evaluates every rule for report date D (see the module comment for the semantics). */
export function audit(input: AuditInput): Finding[] {
  return auditWithEvidence(input).map((x) => x.finding);
}
