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
 * the observed value itself is 0. evidence: the sources (key + gen) of every usage row behind the
 * finding (the rows of its apps and days that contribute), sorted by key then gen, deduplicated.
 *
 * finding_id and the order of findings: see findings.ts.
 */
import { compareStrings } from '../support.ts';
import { compareFindings, type Finding, findingId, inFieldOrder, type Rule } from './findings.ts';
import { RULE_REGISTRY } from './rules/registry.ts';
import { hasUsage } from './rules/support.ts';
import type { AuditInput, FindingDraft, RuleContext } from './types.ts';
import { windowUsage } from './window.ts';

// The audit's API, at the path its callers have always imported it from.
export { compareFindings, type Finding, findingId, type Rule } from './findings.ts';
export { RULES } from './rules/registry.ts';
export {
  type AuditInput,
  type AuditUsageRow,
  type FindingApp,
  type Metric,
  SEVERITIES,
  type Severity,
  type WindowUsage,
} from './types.ts';
export { compareSources, windowUsage } from './window.ts';

/** The context every rule reads for report date D. */
export function ruleContext(input: AuditInput): RuleContext {
  const wu = windowUsage(input.reportDate, input.usage);
  const covered = new Set<string>();
  const agreements: RuleContext['agreements'][number][] = [];
  for (const agreement of [...input.agreements].sort((x, y) => compareStrings(x.licensee, y.licensee))) {
    const appIds = [...new Set(agreement.apps.map((x) => x.id))];
    for (const id of appIds) covered.add(id);
    const rows = appIds.flatMap((app) => [...(wu.byApp.get(app)?.values() ?? [])]).filter(hasUsage);
    if (rows.length > 0) agreements.push({ agreement, rows });
  }
  return { ...wu, reportDate: input.reportDate, month: input.reportDate.slice(0, 7), agreements, covered };
}

/** A rule's draft as a finding of report date D, its fields in FINDING_FIELDS order. */
function toFinding(reportDate: string, { periodKey, ...d }: FindingDraft & { rule: Rule }): Finding {
  return inFieldOrder({
    ...d,
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

/** Evaluates every rule of SPEC §4 for report date D (see the module comment for the semantics). */
export function audit(input: AuditInput): Finding[] {
  const ctx = ruleContext(input);
  const drafts: (FindingDraft & { rule: Rule })[] = [];
  for (const rule of RULE_REGISTRY)
    for (const d of rule.evaluate(ctx)) drafts.push({ ...d, rule: rule.name });
  return drafts.sort(compareFindings).map((d) => toFinding(input.reportDate, d));
}
