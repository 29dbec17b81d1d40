/**
 * The log lines of findings whose usage rows are lean (RollupUsage.evidence: the audit's rows keep
 * no line refs, issue 11 item 5): the rules that give findings lines run again over the rows of the
 * apps behind those findings, each with its evidence read again, and each such finding takes the
 * lines of its twin (same finding_id). The lines are the ones the rows with their evidence give:
 * a finding's lines come from rows of its apps only, and every row of those apps has its evidence.
 */
import { type AuditInput, auditWithEvidence, type FindingWithEvidence } from '../core/audit/rules.ts';
import type { UsageRow } from '../core/ledger.ts';
import type { RowEvidence } from '../core/request-evidence.ts';

/** The rules whose findings carry evidence.lines (rules/evidence-lines.ts findingLines). */
const LINE_RULES: ReadonlySet<string> = new Set([
  'prohibited_recipient',
  'unauthorized_endpoint',
  'unknown_app',
]);

/** The apps whose rows a finding's lines can come from. */
function appsOf(item: FindingWithEvidence): string[] {
  const apps = (item.spec?.cells ?? []).map((c) => c.app);
  if (item.finding.rule === 'unknown_app' && item.finding.subject) apps.push(item.finding.subject);
  return apps;
}

/** `items` (auditWithEvidence(input), rows without evidence) with the lines of those that have any. */
export async function withFindingLines(
  read: (rows: readonly UsageRow[]) => Promise<(RowEvidence | undefined)[]>,
  input: AuditInput,
  items: FindingWithEvidence[],
): Promise<FindingWithEvidence[]> {
  const wanted = items.filter((x) => LINE_RULES.has(x.finding.rule));
  const apps = new Set(wanted.flatMap(appsOf));
  if (apps.size === 0) return items;
  const rows = input.usage.filter((r) => apps.has(r.app));
  const evs = await read(rows);
  const usage = rows.map((r, i) => {
    const evidence = evs[i];
    return evidence ? { ...r, evidence } : r;
  });
  const linesOf = (again: FindingWithEvidence[]) =>
    new Map(again.map((x) => [x.finding.finding_id, x.finding.evidence.lines]));
  // The rows of those apps alone give their findings; should one not come out, all rows do.
  let lines = linesOf(auditWithEvidence({ ...input, usage }));
  if (wanted.some((x) => !lines.has(x.finding.finding_id))) {
    const withEv = new Map<object, (typeof usage)[number]>(rows.map((r, i) => [r, usage[i] ?? r]));
    lines = linesOf(auditWithEvidence({ ...input, usage: input.usage.map((r) => withEv.get(r) ?? r) }));
  }
  return items.map((x) => {
    const l = LINE_RULES.has(x.finding.rule) ? lines.get(x.finding.finding_id) : undefined;
    if (!l || l.length === 0) return x;
    return { ...x, finding: { ...x.finding, evidence: { ...x.finding.evidence, lines: l } } };
  });
}
