/**
 * Checks of one stored report folder beyond verifyReport (files against the manifest's hashes):
 *
 *   content_sha256   recomputed from the files (report.json with its `run` set to null, see
 *                    contentSha256), so editing a file and re-hashing it in the manifest is caught;
 *   anchor           the sha256 of manifest.json's bytes against the newest one the audit recorded
 *                    for that date in the control table (docs/VERIFY.md), so rewriting a manifest
 *                    consistently (files, hashes and content_sha256) is caught too;
 *   restatement      restatement.json, when present, is consistent, and every change of content
 *                    between the date's anchors is one of its restatements (restatement.ts).
 *
 * Every problem is a string "FILE: what is wrong", like verifyReport's.
 */
import { sha256Hex } from './format.ts';
import { contentSha256, MANIFEST_FILE, REPORT_FILES } from './report.ts';
import { checkRestatement } from './restatement.ts';
import { verifyReport } from './verify-report.ts';

type Bytes = string | Uint8Array;

function text(bytes: Bytes): string | undefined {
  if (typeof bytes === 'string') return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function parseObject(bytes: Bytes | undefined): Record<string, unknown> | undefined {
  const t = bytes === undefined ? undefined : text(bytes);
  if (t === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * report.json as the audit hashes it for content_sha256: `run` set to null in place, 2-space
 * indent, trailing newline (`jq '.run = null' report.json` gives the same bytes). Undefined when it
 * is not a JSON object with a `run` field.
 */
export function reportJsonWithoutRun(bytes: Bytes): string | undefined {
  const doc = parseObject(bytes);
  if (!doc || !Object.hasOwn(doc, 'run')) return undefined;
  doc.run = null;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** content_sha256 recomputed from a folder's files; undefined when a report file is missing or unreadable. */
export function recomputeContentSha256(files: ReadonlyMap<string, Bytes>): string | undefined {
  const report = files.get('report.json');
  const withoutRun = report === undefined ? undefined : reportJsonWithoutRun(report);
  if (withoutRun === undefined || REPORT_FILES.some((n) => !files.has(n))) return undefined;
  return contentSha256((n) => (n === 'report.json' ? withoutRun : (files.get(n) ?? '')));
}

export interface CheckOptions {
  /** As verifyReport's `previousManifestBytes`: undefined = the link is not checked. */
  previous?: Bytes | null;
  /** The control table's anchor for this date (sha256 hex of manifest.json); undefined = none. */
  anchor?: string;
  /** The content_sha256 recorded with the date's anchors, oldest first (restatement.ts). */
  anchoredContents?: readonly string[];
}

/** Every problem of one report folder: verifyReport's, content_sha256 and the anchor. */
export function checkReport(files: ReadonlyMap<string, Bytes>, opts: CheckOptions = {}): string[] {
  const problems = verifyReport(files, opts.previous);
  const manifestBytes = files.get(MANIFEST_FILE);
  if (manifestBytes === undefined) {
    if (opts.anchor !== undefined)
      problems.push(`${MANIFEST_FILE}: the control table anchors ${opts.anchor}`);
    return problems;
  }
  if (opts.anchor !== undefined) {
    const sha = sha256Hex(manifestBytes);
    if (sha !== opts.anchor)
      problems.push(`${MANIFEST_FILE}: sha256 ${sha} is not the control table's anchor ${opts.anchor}`);
  }
  const manifest = parseObject(manifestBytes);
  const declared = manifest?.content_sha256;
  const content = recomputeContentSha256(files);
  if (content !== undefined && declared !== content) {
    problems.push(
      `${MANIFEST_FILE}: content_sha256 ${String(declared)} does not match the files (recomputed: ${content})`,
    );
  }
  // A report rewritten with other content carries its restatement (issue 11).
  problems.push(
    ...checkRestatement(
      files,
      typeof declared === 'string' ? declared : undefined,
      typeof manifest?.report_date === 'string' ? manifest.report_date : undefined,
      opts.anchoredContents,
    ),
  );
  return problems;
}

/** The file a problem string names ("FILE: …"). */
export function problemFile(problem: string): string {
  const i = problem.indexOf(': ');
  return i < 0 ? MANIFEST_FILE : problem.slice(0, i);
}
