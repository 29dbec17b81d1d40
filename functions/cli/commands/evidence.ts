/**
 * `auditor evidence FINDING_ID [--date D]`: the log lines behind a finding (issue 11 item 5). A
 * finding of prohibited_recipient, unauthorized_endpoint or unknown_app carries up to 20 line
 * references in `evidence.lines` (key, gen, line, request_id, sha256, recorded at ingest); each
 * referenced object version is read from the log bucket and every line checked against its
 * recorded sha256 (evidence-lines.ts, loaded when the command runs). Prints each line with its
 * status: `ok`, `changed` (it no longer hashes to what was recorded, or the object was
 * overwritten), `missing` (the object, its version or the line is gone) or `unreadable` (S3
 * denied access to the object: without s3:ListBucket that is also how a deleted object answers).
 * Exit 1 unless every line is ok. Reads only.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../command.ts';
import type { Runtime } from '../context.ts';
import { CliError } from '../errors.ts';
import type { CheckedEvidenceLine } from '../evidence-lines.ts';
import { fmt, printJson, printTable, writeLine } from '../output.ts';
import { readFindings, resolveDate } from './findings.ts';

/** The rules whose findings carry line references. */
export const EVIDENCE_RULES = ['prohibited_recipient', 'unauthorized_endpoint', 'unknown_app'] as const;

/** Characters of a line shown in the table (the rest is cut, with an ellipsis); --json has it all. */
export const TEXT_BOUND = 2000;

export interface EvidenceResult {
  finding_id: string;
  report_date: string;
  rule: string;
  lines: CheckedEvidenceLine[];
}

/** The finding's line references in the report of `date` (default: the latest), each checked. */
export async function findingEvidence(
  rt: Runtime,
  findingId: string,
  date?: string,
): Promise<EvidenceResult> {
  const reportDate = await resolveDate(rt, date);
  const finding = (await readFindings(rt, reportDate)).find((f) => f.finding_id === findingId);
  if (!finding)
    throw new CliError(`unknown finding id "${findingId}": the report of ${reportDate} has no such finding`);
  const { checkEvidenceLines, lineRefsOf } = await import('../evidence-lines.ts');
  const refs = lineRefsOf(finding);
  if (!refs) {
    const which = `only findings of ${EVIDENCE_RULES.join(', ')} carry log line references`;
    throw new CliError(
      `finding ${findingId} (${finding.rule}, report ${reportDate}) has no request-level evidence: ` +
        ((EVIDENCE_RULES as readonly string[]).includes(finding.rule)
          ? `no line references were recorded for it: ${await boundsNote()}, or the report predates line references`
          : which),
    );
  }
  return {
    finding_id: findingId,
    report_date: reportDate,
    rule: finding.rule,
    lines: await checkEvidenceLines(rt.objects, rt.logBucket, refs),
  };
}

/** A line's text for the table: at most `bound` characters (no surrogate pair split), then "…". */
export function displayText(text: string | null, bound = TEXT_BOUND): string {
  if (text === null) return '—';
  if (text.length <= bound) return text;
  let end = bound;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${fmt(n)} ${n === 1 ? one : many}`;

function statusCounts(lines: readonly CheckedEvidenceLine[]): string {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.status, (counts.get(l.status) ?? 0) + 1);
  return ['ok', 'changed', 'missing', 'unreadable']
    .filter((s) => counts.has(s))
    .map((s) => `${fmt(counts.get(s) as number)} ${s}`)
    .join(', ');
}

/** Prints the checked lines (table, or JSON); terminal safety is printTable's and writeLine's. */
export function printEvidence(result: EvidenceResult, json: boolean): void {
  const { finding_id, report_date, rule, lines } = result;
  if (json) {
    printJson({ finding_id, report_date, rule, lines });
    return;
  }
  const objects = new Set(lines.map((l) => `${l.key}\u0000${l.gen}`)).size;
  writeLine(
    `finding ${finding_id} (${rule}, report ${report_date}): ${plural(lines.length, 'line')} ` +
      `from ${plural(objects, 'object')}: ${statusCounts(lines)}`,
  );
  printTable(
    ['key', 'line', 'request_id', 'status', 'text'],
    lines.map((l) => [l.key, l.line, l.request_id ?? '—', l.status, displayText(l.text)]),
    new Set([1]),
  );
  for (const l of lines)
    if (l.reason !== null) writeLine(`${l.key} line ${l.line}: ${l.status}: ${l.reason}`);
}

/** Undefined when every line is ok, else the one-line error the command exits 1 with. */
export function evidenceFailure(result: EvidenceResult): string | undefined {
  const bad = result.lines.filter((l) => l.status !== 'ok');
  if (bad.length === 0) return undefined;
  return (
    `finding ${result.finding_id}: ${fmt(bad.length)} of ${plural(result.lines.length, 'evidence line')} ` +
    `no longer check (${statusCounts(bad)})`
  );
}

export function register(program: Command, { run }: CommandContext): void {
  program
    .command('evidence')
    .description('the log lines behind a finding, each checked against what ingest recorded')
    .argument('<finding-id>', 'finding_id of a finding in the report')
    .option('--date <date>', 'report date (default: the latest)')
    .option('--json', 'print JSON')
    .action(async (findingId: string, opts: { date?: string; json?: boolean }) => {
      const result = await run((rt) => findingEvidence(rt, findingId, opts.date));
      printEvidence(result, opts.json === true);
      const failure = evidenceFailure(result);
      if (failure !== undefined) throw new CliError(failure);
    });
}

/** Why a finding of a rule that carries lines may have none: the evidence bounds, named. */
async function boundsNote(): Promise<string> {
  const ev = await import('../../core/evidence.ts');
  const st = await import('../../core/request-evidence.ts');
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    'its lines may have been left out by the evidence bounds (ingest holds at most ' +
    `${n(ev.MAX_OBJECT_REFS)} line references per object and ${n(ev.MAX_DAY_REFS)} per app-day, ` +
    'the first line of each endpoint and organisation before more; stored per app-day, a line for ' +
    `the ${n(st.MAX_EVIDENCE_ENDPOINTS)} least-requested endpoints and ${n(st.MAX_EVIDENCE_ORGS)} ` +
    'organisations per category)'
  );
}
