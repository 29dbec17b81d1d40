/**
 * The report files of SPEC §5, rendered byte-deterministically from the audit's inputs and
 * findings. Pure: the caller stores the files (reports/date=D/NAME) and writes latest.json last.
 *
 *  report.json     everything: run info (ONLY in `run`, the one place wall-clock time may appear),
 *                  window, summary, per licensee month-to-date usage vs quotas, apps in no
 *                  agreement, findings, data quality, sources. 2-space indent, trailing newline.
 *  findings.jsonl  one finding a line (fields as Finding, report_date first), each line at most
 *                  MAX_FINDING_LINE_BYTES (canonicalFinding).
 *  evidence/FINDING_ID.jsonl  written apart by the audit (audit/evidence.ts, evidenceJsonl): every
 *                  source of one finding; listed in the manifest's files (ReportInput.extraFiles),
 *                  not in content_sha256.
 *  usage.jsonl     one line per licensee, app and usage day of W with a usage row: report_date,
 *                  licensee (null for an app in no agreement), app_id, usage_date, requests,
 *                  records, bytes, errors. Sorted by licensee (null last), app, day.
 *  findings.csv    UTF-8 with BOM, CRLF, RFC 4180 quoting; every text cell whose first character
 *                  past whitespace and control characters is = + - @ (or full-width ＝ ＋ － ＠), or
 *                  that starts with TAB or CR, gets a leading ' (formula injection, findings-csv.ts);
 *                  numbers stay numbers. apps as "id=value (share); …", evidence as "key#gen; …"
 *                  (the bounded evidence, then "(+N more of M)" when truncated).
 *  report.html     see html.ts.
 *  manifest.json   { report_date, files: { name: sha256 } (sorted), previous_manifest_sha256,
 *                  content_sha256 }. content_sha256 hashes everything but the run info (the five
 *                  files with report.json's `run` set to null): equal content_sha256 = same
 *                  audit result, so a caller may skip rewriting an unchanged report.
 *
 * Streamed (issue 10): each file but the manifest is rendered as a stream of chunks of about
 * CHUNK_CHARS (chunks.ts; report.json through json-chunks.ts, report.html through html.ts's
 * pieces), never as one string. streamReport hashes the streams (one pass, nothing kept) to build
 * the manifest before anything is written, and gives bodies that render the files again when they
 * are read: a report that is written is rendered twice, the same bytes each time (rendering is
 * deterministic). renderReport joins the chunks into whole strings, for tests and tools.
 */
import { createHash } from 'node:crypto';
import { compareStrings } from '../support.ts';
import type { SourceRef } from '../types.ts';
import type { Agreement } from './agreements.ts';
import { coalesce, joinChunks, replayable, sha256Chunks } from './chunks.ts';
import { compareFindings, type Finding, inFieldOrder } from './findings.ts';
import { findingsCsv } from './findings-csv.ts';
import { type JsonValue, sha256Hex, stableJson } from './format.ts';
import { htmlPieces } from './html.ts';
import { JSON_HOLE, type JsonHole, stableJsonChunks, stableJsonParts } from './json-chunks.ts';
import { buildModel, type ReportModel, type UsageOverflow, usageOverflow } from './model.ts';
import type { RegistryGap, ReportTerms } from './terms.ts';
import {
  type AuditUsageRow,
  type DataQuality,
  type DataQualityObject,
  type DataQualityTotals,
  FINDING_FIELDS,
  type SourceContribution,
} from './types.ts';
import { compareSources, windowUsage } from './window.ts';

// The report's types and field list, at the path their callers have always imported them from.
export type { DataQuality, DataQualityObject, DataQualityTotals, ObjectStatus } from './types.ts';
export { FINDING_FIELDS };

/** Data quality from object manifests: objects sorted by key then gen, totals summed. */
export function summariseDataQuality(objects: readonly DataQualityObject[]): DataQuality {
  const sorted = [...objects].sort(compareSources);
  const totals: DataQualityTotals = {
    objects: 0,
    ingested: 0,
    empty: 0,
    quarantined: 0,
    lines: 0,
    counted: 0,
    rejected: 0,
  };
  for (const o of sorted) {
    totals.objects++;
    totals[o.status]++;
    totals.lines += o.lines;
    totals.counted += o.counted;
    totals.rejected += o.rejected;
  }
  return { objects: sorted, totals };
}

/** Free-form run information (trigger, times, version…): written only in report.json's `run`. */
export type RunInfo = { [key: string]: JsonValue };

export interface ReportInput {
  reportDate: string;
  agreements: Agreement[];
  usage: AuditUsageRow[];
  findings: Finding[];
  dataQuality: DataQuality;
  run: RunInfo;
  /** sha256 (hex) of the bytes of the previous manifest.json in the chain; null for the first. */
  previousManifestSha256: string | null;
  /** The terms versions used (report.json `terms`; absent: no such field). */
  terms?: ReportTerms;
  /** Prohibited categories the registry lacked (report.json data_quality.registry_gaps when any). */
  registryGaps?: readonly RegistryGap[];
  /** Files written apart (evidence/FINDING_ID.jsonl) → sha256 (hex): listed in the manifest too. */
  extraFiles?: Readonly<Record<string, string>>;
  /**
   * The usage rows name only some of their objects (rollups: each day's top objects): report.json
   * then says so (sources_truncated, data_quality.objects_truncated).
   */
  sourcesTruncated?: boolean;
}

export interface ReportFile {
  name: string;
  body: string;
  contentType: string;
}

/**
 * A report file to write: the manifest whole, any other file as chunks rendered again each time
 * the body is read (the audit's ReportFiles.write reads it once, as it uploads it).
 */
export interface StreamedReportFile {
  name: string;
  body: string | AsyncIterable<string>;
  contentType: string;
}

export const REPORT_FILES = [
  'report.json',
  'findings.jsonl',
  'usage.jsonl',
  'findings.csv',
  'report.html',
] as const;
export const MANIFEST_FILE = 'manifest.json';
export const REPORT_FORMAT = 'usage-auditor/report@1';

const CONTENT_TYPES: Record<string, string> = {
  'report.json': 'application/json',
  'findings.jsonl': 'application/x-ndjson',
  'usage.jsonl': 'application/x-ndjson',
  'findings.csv': 'text/csv; charset=utf-8',
  'report.html': 'text/html; charset=utf-8',
  'manifest.json': 'application/json',
};

/** The most UTF-8 bytes of one findings.jsonl line (newline included); see canonicalFinding. */
export const MAX_FINDING_LINE_BYTES = 64 * 1024;
/** The most characters of a finding's detail and subject as written (longer ones are cut). */
export const MAX_FINDING_TEXT_CHARS = 1_000;
/** The most apps a finding lists (the largest values; app ids are at most 128 characters). */
export const MAX_FINDING_APPS = 100;
/** The most sources report.json's `sources` lists (and data quality looks up), in key order. */
export const REPORT_MAX_SOURCES = 1_000;

/** `text` cut to `max` characters (never inside a surrogate pair), with "…" when cut. */
function cut(text: string, max = MAX_FINDING_TEXT_CHARS): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * A finding with its fields in the fixed order of findings.jsonl (and nothing else), bounded so
 * that its line is at most MAX_FINDING_LINE_BYTES: detail and subject cut to
 * MAX_FINDING_TEXT_CHARS, apps to MAX_FINDING_APPS, and, if the line is still too long (keys and
 * gens of up to 1,024 bytes each), evidence sources dropped from the end (truncated then true).
 * Findings within the bounds are unchanged.
 */
export function canonicalFinding(f: Finding): Finding {
  const out: Finding = {
    ...inFieldOrder(f),
    subject: f.subject === null ? null : cut(f.subject),
    apps: f.apps
      .slice(0, MAX_FINDING_APPS)
      .map((a) => ({ app_id: a.app_id, value: a.value, share: a.share })),
    detail: cut(f.detail),
    evidence: {
      sources: f.evidence.sources.map((s: SourceRef) => ({ key: s.key, gen: s.gen })),
      source_count: f.evidence.source_count,
      truncated: f.evidence.truncated,
      ...(f.evidence.lines && f.evidence.lines.length > 0
        ? {
            lines: f.evidence.lines.map((l) => ({
              key: l.key,
              gen: l.gen,
              line: l.line,
              request_id: l.request_id,
              sha256: l.sha256,
            })),
          }
        : {}),
    },
    // Last, and only on a finding someone changed (lifecycle.ts): other lines keep their bytes.
    ...(f.lifecycle ? { lifecycle: f.lifecycle } : {}),
  };
  // Lines go before sources (request-level evidence is the bulkier and the CLI can do without some).
  while (Buffer.byteLength(`${stableJson(out)}\n`) > MAX_FINDING_LINE_BYTES && out.evidence.lines) {
    out.evidence.lines.pop();
    if (out.evidence.lines.length === 0) delete out.evidence.lines;
  }
  while (
    Buffer.byteLength(`${stableJson(out)}\n`) > MAX_FINDING_LINE_BYTES &&
    out.evidence.sources.length > 0
  ) {
    out.evidence.sources.pop();
    out.evidence.truncated = true;
  }
  return out;
}

/** Where a finding's full source list goes in its report folder (not written by renderReport). */
export function evidenceFileName(findingId: string): string {
  return `evidence/${findingId}.jsonl`;
}

/**
 * The lines of evidence/FINDING_ID.jsonl, one by one: each source of a finding's full list
 * (auditWithEvidence, in its order: contribution descending, then key, then gen) as
 * {"key","gen","contribution"} and a newline. A generator, so a caller can stream a long list.
 */
export function* evidenceJsonl(sources: Iterable<SourceContribution>): Generator<string> {
  for (const s of sources) yield `${stableJson({ key: s.key, gen: s.gen, contribution: s.contribution })}\n`;
}

function dataQualityJson(
  dq: DataQuality,
  overflow: readonly UsageOverflow[],
  gaps: readonly RegistryGap[] = [],
  truncated = false,
) {
  const sorted = summariseDataQuality(dq.objects);
  return {
    // Only when an ingest bound rolled values into an overflow entry (keeps other reports as they were).
    ...(overflow.length > 0 ? { usage_overflow: overflow } : {}),
    // Only when an agreement prohibited a category the registry in force lacked (issue 11).
    ...(gaps.length > 0 ? { registry_gaps: gaps } : {}),
    // Only when the objects behind the usage were not all looked up (REPORT_MAX_SOURCES, rollups).
    ...(truncated ? { objects_truncated: true } : {}),
    // Only when some request_id repeats (issue 11 item 5).
    ...(dq.duplicate_request_ids ? { duplicate_request_ids: dq.duplicate_request_ids } : {}),
    totals: sorted.totals,
    objects: sorted.objects.map((o) => ({
      key: o.key,
      gen: o.gen,
      status: o.status,
      lines: o.lines,
      counted: o.counted,
      rejected: o.rejected,
      reason: o.reason,
      rejects_key: o.rejects_key,
      reject_reasons: o.reject_reasons?.map((r) => ({ reason: r.reason, lines: r.lines })),
    })),
  };
}

/** report.json's top-level `run` line as reportJson renders it without a run. */
const NO_RUN_LINE = '\n  "run": null,\n';

/**
 * report.json with its run field: reportJson's text without one, the `"run": null` line (the first
 * top-level line of that name: format, report_date and window come before it) replaced by the run
 * rendered as reportJson would nest it. The same bytes as rendering the document with the run.
 */
export function withRunField(withoutRun: string, run: RunInfo | null): string {
  if (run === null) return withoutRun;
  const at = withoutRun.indexOf(NO_RUN_LINE);
  if (at < 0) throw new Error('report.json: no run field to fill');
  const nested = stableJson({ run: JSON.parse(stableJson(run, 0, true)) }, 2);
  // `{\n  "run": …\n}`: the member's lines, at the nesting depth of a top-level field.
  const member = nested.slice(2, -2);
  return `${withoutRun.slice(0, at)}\n${member},\n${withoutRun.slice(at + NO_RUN_LINE.length)}`;
}

/** report.json's text, as chunks, with a hole where its run field's value goes (fillRun). */
function* reportJsonParts(
  model: ReportModel,
  findings: Finding[],
  dq: DataQuality,
  overflow: readonly UsageOverflow[] = [],
  terms: Pick<ReportInput, 'terms' | 'registryGaps'> = {},
  truncated = false,
): Generator<string | JsonHole> {
  const sourcesTruncated = truncated || model.sources.length > REPORT_MAX_SOURCES;
  const doc = {
    format: REPORT_FORMAT,
    report_date: model.report_date,
    window: model.window,
    // Filled in by fillRun: content_sha256 covers report.json with null there.
    run: JSON_HOLE,
    summary: model.summary,
    licensees: model.licensees.map((l) => ({
      licensee: l.licensee,
      name: l.name,
      term: l.term,
      paid_through: l.paid_through,
      fully_paid: l.paid_through === undefined,
      rate: l.rate,
      quotas: l.quotas,
      totals: l.totals,
      quota_usage: l.quota_usage,
      findings: l.findings,
      amount_owed: l.amount_owed,
      apps: l.apps,
      days: l.days,
    })),
    unknown_apps: model.unknown_apps,
    findings,
    data_quality: dataQualityJson(dq, overflow, terms.registryGaps, truncated),
    sources: model.sources.slice(0, REPORT_MAX_SOURCES),
    // Only when `sources` does not list every object behind the usage.
    ...(sourcesTruncated ? { sources_truncated: true } : {}),
    // The agreement and registry versions the audit used (issue 11), last.
    ...(terms.terms ? { terms: terms.terms } : {}),
  };
  yield* stableJsonParts(doc, { indent: 2 });
  yield '\n';
}

/** The run field's value as report.json writes it: keys sorted at every level (null: no run). */
const runValue = (run: RunInfo | null): JsonValue =>
  run === null ? null : (JSON.parse(stableJson(run, 0, true)) as JsonValue);

/**
 * report.json's chunks (its parts, with a hole for the run) with the run field filled in: the same
 * bytes as withRunField gives on the text rendered with null there (null: that text itself).
 */
export function* fillRun(parts: Iterable<string | JsonHole>, run: RunInfo | null): Generator<string> {
  const value = runValue(run);
  for (const p of parts) {
    if (typeof p === 'string') yield p;
    else yield* stableJsonChunks(value, { indent: 2, depth: p.depth });
  }
}

/** sha256 of report.json with its run and with null there, from one pass over its parts. */
function reportJsonHashes(
  parts: Iterable<string | JsonHole>,
  run: RunInfo,
): { withRun: string; withoutRun: string } {
  const withRun = createHash('sha256');
  const withoutRun = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string') {
      withRun.update(p);
      withoutRun.update(p);
      continue;
    }
    withoutRun.update('null');
    for (const c of stableJsonChunks(runValue(run), { indent: 2, depth: p.depth })) withRun.update(c);
  }
  return { withRun: withRun.digest('hex'), withoutRun: withoutRun.digest('hex') };
}

/** findings.jsonl: one finding (canonicalFinding) a line. */
function* findingsJsonl(findings: readonly Finding[]): Generator<string> {
  for (const f of findings) yield `${stableJson(f)}\n`;
}

function* usageJsonl(model: ReportModel, byApp: ReturnType<typeof windowUsage>['byApp']): Generator<string> {
  function* emit(licensee: string | null, app: string): Generator<string> {
    const days = byApp.get(app);
    if (!days) return;
    for (const day of [...days.keys()].sort()) {
      const r = days.get(day) as AuditUsageRow;
      yield `${stableJson({
        report_date: model.report_date,
        licensee,
        app_id: app,
        usage_date: day,
        requests: r.requests,
        records: r.records,
        bytes: r.bytes,
        errors: r.errors,
      })}\n`;
    }
  }
  for (const l of model.licensees) for (const app of l.apps) yield* emit(l.licensee, app.app_id);
  for (const u of model.unknown_apps) yield* emit(null, u.app_id);
}

/**
 * A manifest's content_sha256: the sha256 (hex) of the lowercase hex sha256 of each of REPORT_FILES,
 * in that order, joined by "\n" (no trailing newline), where report.json is hashed with its `run`
 * set to null (the one field that may differ between two runs with the same result).
 */
export function contentSha256(
  bodyWithoutRun: (name: (typeof REPORT_FILES)[number]) => string | Uint8Array,
): string {
  return contentSha256Of((n) => sha256Hex(bodyWithoutRun(n)));
}

/** contentSha256 from each file's sha256 (hex), report.json's taken with its run set to null. */
function contentSha256Of(shaWithoutRun: (name: (typeof REPORT_FILES)[number]) => string): string {
  return sha256Hex(REPORT_FILES.map(shaWithoutRun).join('\n'));
}

export interface Manifest {
  report_date: string;
  files: Record<string, string>;
  previous_manifest_sha256: string | null;
  content_sha256: string;
}

/** One report file (not the manifest): its chunks, rendered anew each time `chunks` is called. */
interface ChunkedFile {
  name: (typeof REPORT_FILES)[number];
  contentType: string;
  chunks: () => Iterable<string>;
}

/** manifest.json's text (the one report file rendered whole: a few hundred bytes per file it lists). */
export function manifestJson(manifest: Manifest): string {
  return `${stableJson(manifest, 2)}\n`;
}

/**
 * Every report file of one report date as chunks, and the manifest, whose hashes come from one
 * pass over the chunks (nothing kept): a file is rendered again each time its chunks are read.
 */
function chunkedReport(input: ReportInput): { files: ChunkedFile[]; manifest: Manifest } {
  const findings = [...input.findings].sort(compareFindings).map(canonicalFinding);
  const model = buildModel({
    reportDate: input.reportDate,
    agreements: input.agreements,
    usage: input.usage,
    findings,
  });
  const overflow = usageOverflow(input.reportDate, input.usage);
  const truncated = input.sourcesTruncated === true;
  const { byApp } = windowUsage(input.reportDate, input.usage);
  const dq: DataQuality = {
    ...summariseDataQuality(input.dataQuality.objects),
    ...(input.dataQuality.duplicate_request_ids
      ? { duplicate_request_ids: input.dataQuality.duplicate_request_ids }
      : {}),
  };
  // report.json's text has a hole for its run field: null in what content_sha256 covers, the run
  // in the file written.
  const reportJson = () => reportJsonParts(model, findings, input.dataQuality, overflow, input, truncated);
  const renderers: Record<(typeof REPORT_FILES)[number], () => Iterable<string>> = {
    'report.json': () => fillRun(reportJson(), input.run),
    'findings.jsonl': () => coalesce(findingsJsonl(findings)),
    'usage.jsonl': () => coalesce(usageJsonl(model, byApp)),
    'findings.csv': () => coalesce(findingsCsv(findings)),
    'report.html': () => coalesce(htmlPieces(model, findings, dq, overflow)),
  };
  const json = reportJsonHashes(reportJson(), input.run);
  const sha: Record<(typeof REPORT_FILES)[number], string> = {
    'report.json': json.withRun,
    'findings.jsonl': sha256Chunks(renderers['findings.jsonl']()),
    'usage.jsonl': sha256Chunks(renderers['usage.jsonl']()),
    'findings.csv': sha256Chunks(renderers['findings.csv']()),
    'report.html': sha256Chunks(renderers['report.html']()),
  };
  const content = contentSha256Of((n) => (n === 'report.json' ? json.withoutRun : sha[n]));
  const all: Record<string, string> = { ...input.extraFiles };
  for (const n of REPORT_FILES) all[n] = sha[n];
  const hashes: Record<string, string> = {};
  for (const n of Object.keys(all).sort(compareStrings)) hashes[n] = all[n] as string;
  const manifest: Manifest = {
    report_date: input.reportDate,
    files: hashes,
    previous_manifest_sha256: input.previousManifestSha256,
    content_sha256: content,
  };
  const files = REPORT_FILES.map((name) => ({
    name,
    contentType: CONTENT_TYPES[name] ?? 'application/octet-stream',
    chunks: renderers[name],
  }));
  return { files, manifest };
}

/**
 * Every report file for one report date, for the audit to write: the manifest (its hashes taken
 * from a first rendering, streamed and not kept) whole, and each other file as a body that renders
 * it again, as chunks, while it is written (so a written report is rendered twice; never held as
 * one string). The same input gives the same bytes; only `run` (report.json's run field) may carry
 * wall-clock time.
 */
export function streamReport(input: ReportInput): { files: StreamedReportFile[]; manifest: Manifest } {
  const { files, manifest } = chunkedReport(input);
  const out: StreamedReportFile[] = files.map((f) => ({
    name: f.name,
    body: replayable(f.chunks),
    contentType: f.contentType,
  }));
  out.push({ name: MANIFEST_FILE, body: manifestJson(manifest), contentType: 'application/json' });
  return { files: out, manifest };
}

/**
 * The files of streamReport with each body joined into one string: for tests and tools that want
 * the whole text (the audit writes streamReport's chunks and never joins them).
 */
export function renderReport(input: ReportInput): { files: ReportFile[]; manifest: Manifest } {
  const { files, manifest } = chunkedReport(input);
  const out: ReportFile[] = files.map((f) => ({
    name: f.name,
    body: joinChunks(f.chunks()),
    contentType: f.contentType,
  }));
  out.push({ name: MANIFEST_FILE, body: manifestJson(manifest), contentType: 'application/json' });
  return { files: out, manifest };
}
