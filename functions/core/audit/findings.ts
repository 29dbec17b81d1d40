/**
 * A finding's identity and order.
 *
 * finding_id: the first 20 hex digits of sha256 over (licensee, rule, metric, subject, period key),
 * where the period key is the MONTH (YYYY-MM) for every month-to-date finding and the DAY
 * (YYYY-MM-DD) for a daily quota finding. So a month-to-date finding keeps its id night after night
 * while its period_end (= D) grows, and a new month starts new findings.
 *
 * Findings are sorted by licensee (unknown apps, licensee null, last), rule, metric, subject, period.
 */
import { compareStrings } from '../support.ts';
import { sha256Hex } from './format.ts';
import type { Rule } from './rules/registry.ts';
import { FINDING_FIELDS, type FindingOf } from './types.ts';

export type { Rule };

/** A finding of one of the registry's rules. */
export type Finding = FindingOf<Rule>;

/** The identity of a finding across nights (see the module comment). */
export function findingId(parts: {
  licensee: string | null;
  rule: Rule;
  metric: Finding['metric'];
  subject: string | null;
  periodKey: string;
}): string {
  const text = JSON.stringify([
    'usage-auditor/finding/v1',
    parts.licensee,
    parts.rule,
    parts.metric,
    parts.subject,
    parts.periodKey,
  ]);
  return sha256Hex(text).slice(0, 20);
}

/** The finding's fields, and only those, in FINDING_FIELDS order (apps and evidence as they are). */
export function inFieldOrder(f: Finding): Finding {
  const out: Record<string, unknown> = {};
  for (const k of FINDING_FIELDS) out[k] = f[k];
  return out as unknown as Finding;
}

/** The deterministic order of findings: licensee (null last), rule, metric, subject, period. */
export function compareFindings(
  a: Pick<Finding, 'licensee' | 'rule' | 'metric' | 'subject' | 'period_start' | 'period_end'>,
  b: Pick<Finding, 'licensee' | 'rule' | 'metric' | 'subject' | 'period_start' | 'period_end'>,
): number {
  if (a.licensee !== b.licensee) {
    if (a.licensee === null) return 1;
    if (b.licensee === null) return -1;
    return compareStrings(a.licensee, b.licensee);
  }
  return (
    compareStrings(a.rule, b.rule) ||
    compareStrings(a.metric, b.metric) ||
    compareStrings(a.subject ?? '', b.subject ?? '') ||
    compareStrings(a.period_start, b.period_start) ||
    compareStrings(a.period_end, b.period_end)
  );
}
