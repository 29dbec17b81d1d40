/**
 * Restatements (issue 11): when the audit rewrites a report it had already written with different
 * content (a change of terms, late data, or a new version of the audit), the report folder gets a
 * restatement.json, listed in the manifest like the other files, that keeps every restatement of
 * that report date, oldest first:
 *
 *   { "report_date": D,
 *     "restatements": [ { "restated_at", "previous_manifest_sha256", "previous_content_sha256",
 *                         "content_sha256", "reasons": { "terms": [...], "usage_days": [...],
 *                         "other"? }, "findings": [ { finding_id, licensee, rule, metric, subject,
 *                         "old": {...} | null, "new": {...} | null } ] } ] }
 *
 * `findings` lists the findings whose values changed (old → new; old null = new finding, new null =
 * a finding that is gone). `reasons.terms` names the agreement and registry versions in force in the
 * window that were loaded after the report was last written; `reasons.usage_days` the days of the
 * window whose usage changed since; `other` is said when neither explains the change.
 *
 * checkRestatement (verify): restatement.json, when present, names this report date, its entries
 * link (each previous_content_sha256 is the content_sha256 of the entry before) and the last one's
 * content_sha256 is the manifest's; and, given the content_sha256 the control table recorded with
 * the date's anchors, every change of content between two anchors is one of its entries. So a
 * rewrite the audit made carries its restatement, and a rewrite without one is a problem. Pure.
 */
import { replayable, sha256Chunks } from './chunks.ts';
import type { Finding } from './findings.ts';
import { type JsonValue, sha256Hex, stableJson } from './format.ts';
import { stableJsonChunks } from './json-chunks.ts';
import {
  MANIFEST_FILE,
  type Manifest,
  manifestJson,
  type ReportFile,
  type StreamedReportFile,
} from './report.ts';
import type { AgreementVersion, RegistryVersion } from './terms.ts';

export const RESTATEMENT_FILE = 'restatement.json';

const VALUE_FIELDS = [
  'severity',
  'period_start',
  'period_end',
  'observed',
  'limit',
  'excess',
  'amount_owed',
  'currency',
] as const;

type FindingValues = Pick<Finding, (typeof VALUE_FIELDS)[number]>;

export interface FindingChange {
  finding_id: string;
  licensee: string | null;
  rule: string;
  metric: string;
  subject: string | null;
  old: FindingValues | null;
  new: FindingValues | null;
}

/** A terms version named as a reason. */
export interface TermsReason {
  kind: 'agreement' | 'registry';
  licensee?: string;
  seq: number;
  effective_from: string | null;
  hash: string;
  note: string | null;
  by: string | null;
  at: string | null;
}

export interface Restatement {
  restated_at: string;
  previous_manifest_sha256: string;
  previous_content_sha256: string;
  content_sha256: string;
  reasons: { terms: TermsReason[]; usage_days: string[]; other?: string };
  findings: FindingChange[];
}

export interface RestatementFile {
  report_date: string;
  restatements: Restatement[];
}

function values(f: Finding): FindingValues {
  const out: Record<string, unknown> = {};
  for (const k of VALUE_FIELDS) out[k] = f[k];
  return out as FindingValues;
}

function parseFindings(jsonl: string | undefined): Finding[] {
  const out: Finding[] = [];
  for (const line of (jsonl ?? '').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Finding);
    } catch {
      // A damaged line cannot be restated; the chain check refuses a damaged report before this.
    }
  }
  return out;
}

/** Findings whose values differ between the stored findings.jsonl and the new findings (by id). */
export function changedFindings(
  storedJsonl: string | undefined,
  findings: readonly Finding[],
): FindingChange[] {
  const before = new Map(parseFindings(storedJsonl).map((f) => [f.finding_id, f]));
  const after = new Map(findings.map((f) => [f.finding_id, f]));
  const out: FindingChange[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const o = before.get(id);
    const n = after.get(id);
    const ov = o ? values(o) : null;
    const nv = n ? values(n) : null;
    if (stableJson(ov) === stableJson(nv)) continue;
    const f = (n ?? o) as Finding;
    out.push({
      finding_id: id,
      licensee: f.licensee,
      rule: f.rule,
      metric: f.metric,
      subject: f.subject,
      old: ov,
      new: nv,
    });
  }
  return out;
}

/** Versions in force in the window (`used`) that were loaded after `since`, as reasons. */
export function termsReasons(
  used: { agreements: { licensee: string; seq: number }[]; registry: { seq: number }[] },
  agreementVersions: readonly AgreementVersion[],
  registryVersions: readonly RegistryVersion[],
  since: string | undefined,
): TermsReason[] {
  const after = (at: string | null) => at !== null && (since === undefined || at > since);
  const reason = (kind: TermsReason['kind'], v: AgreementVersion | RegistryVersion): TermsReason => ({
    kind,
    ...('licensee' in v ? { licensee: v.licensee } : {}),
    seq: v.seq,
    effective_from: v.effective_from,
    hash: v.hash,
    note: v.note,
    by: v.by,
    at: v.at,
  });
  return [
    ...used.agreements.flatMap((u) =>
      agreementVersions
        .filter((v) => v.licensee === u.licensee && v.seq === u.seq && after(v.at))
        .map((v) => reason('agreement', v)),
    ),
    ...used.registry.flatMap((u) =>
      registryVersions.filter((v) => v.seq === u.seq && after(v.at)).map((v) => reason('registry', v)),
    ),
  ];
}

function parseFile(text: string | Uint8Array | undefined): RestatementFile | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text)) as RestatementFile;
    return v && typeof v === 'object' && Array.isArray(v.restatements) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** restatement.json's document: the stored one's entries plus `entry`. */
function restatementDoc(reportDate: string, stored: string | undefined, entry: Restatement): RestatementFile {
  return { report_date: reportDate, restatements: [...(parseFile(stored)?.restatements ?? []), entry] };
}

/** The rendered files with restatement.json (`body`, hashing to `sha256`) before a manifest listing it. */
function restated<B>(
  rendered: { files: { name: string; body: B | string; contentType: string }[]; manifest: Manifest },
  body: B,
  sha256: string,
): { files: { name: string; body: B | string; contentType: string }[]; manifest: Manifest } {
  const files: Record<string, string> = { ...rendered.manifest.files, [RESTATEMENT_FILE]: sha256 };
  const manifest: Manifest = {
    ...rendered.manifest,
    files: Object.fromEntries(
      Object.keys(files)
        .sort()
        .map((k) => [k, files[k] as string]),
    ),
  };
  return {
    manifest,
    files: [
      ...rendered.files.filter((f) => f.name !== MANIFEST_FILE),
      { name: RESTATEMENT_FILE, body, contentType: 'application/json' },
      { name: MANIFEST_FILE, body: manifestJson(manifest), contentType: 'application/json' },
    ],
  };
}

/**
 * The report files with restatement.json (the stored one's entries plus `entry`) added before the
 * manifest, and the manifest listing it; every body whole (renderReport's files).
 */
export function withRestatement(
  rendered: { files: ReportFile[]; manifest: Manifest },
  stored: string | undefined,
  entry: Restatement,
): { files: ReportFile[]; manifest: Manifest } {
  const doc = restatementDoc(rendered.manifest.report_date, stored, entry);
  const body = `${stableJson(doc as unknown as JsonValue, 2)}\n`;
  return restated(rendered, body, sha256Hex(body));
}

/**
 * withRestatement for streamReport's files: restatement.json is streamed too (hashed from a first
 * rendering, rendered again as it is written; the document, parsed from the stored file plus the
 * new entry, is what is held), the report files pass through unread, the manifest is whole.
 */
export function withStreamedRestatement(
  rendered: { files: StreamedReportFile[]; manifest: Manifest },
  stored: string | undefined,
  entry: Restatement,
): { files: StreamedReportFile[]; manifest: Manifest } {
  const doc = restatementDoc(rendered.manifest.report_date, stored, entry);
  const chunks = function* () {
    yield* stableJsonChunks(doc, { indent: 2 });
    yield '\n';
  };
  return restated(rendered, replayable(chunks), sha256Chunks(chunks()));
}

/** The restatements of a report folder (empty when it has none or it is unreadable). */
export function restatementsOf(files: ReadonlyMap<string, string | Uint8Array>): Restatement[] {
  return parseFile(files.get(RESTATEMENT_FILE))?.restatements ?? [];
}

/** Problems of a folder's restatement.json, as "FILE: what is wrong" (see the module comment). */
export function checkRestatement(
  files: ReadonlyMap<string, string | Uint8Array>,
  contentSha256: string | undefined,
  reportDate: string | undefined,
  anchoredContents: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const raw = files.get(RESTATEMENT_FILE);
  const doc = parseFile(raw);
  const entries = doc?.restatements ?? [];
  if (raw !== undefined) {
    if (!doc) return [`${RESTATEMENT_FILE}: not a restatement file`];
    if (doc.report_date !== reportDate)
      problems.push(
        `${RESTATEMENT_FILE}: report_date ${String(doc.report_date)} differs from the manifest's`,
      );
    entries.forEach((e, i) => {
      const before = entries[i - 1];
      if (before && e.previous_content_sha256 !== before.content_sha256)
        problems.push(`${RESTATEMENT_FILE}: restatement ${i + 1} does not follow restatement ${i}`);
    });
    const last = entries.at(-1);
    if (last === undefined) problems.push(`${RESTATEMENT_FILE}: no restatement in it`);
    else if (contentSha256 !== undefined && last.content_sha256 !== contentSha256)
      problems.push(
        `${RESTATEMENT_FILE}: the last restatement states content ${last.content_sha256}, the report is ${contentSha256}`,
      );
  }
  for (let i = 1; i < anchoredContents.length; i++) {
    const from = anchoredContents[i - 1];
    const to = anchoredContents[i];
    if (from === to) continue;
    if (!entries.some((e) => e.previous_content_sha256 === from && e.content_sha256 === to))
      problems.push(
        `report.json: rewritten after it was anchored (content ${from} → ${to}) without a restatement saying why`,
      );
  }
  return problems;
}
