/**
 * The check of one report folder against its manifest (SPEC §5): every listed file present with
 * its sha256, the report files all listed, nothing unlisted, the same report date, and the link to
 * the previous manifest. Pure: the caller reads the files (chain.ts, the CLI, tests).
 */
import { sha256Hex } from './format.ts';
import { MANIFEST_FILE, type Manifest, REPORT_FILES } from './report.ts';

/**
 * Checks one report folder: manifest.json parses; every file it lists is present with that sha256;
 * each of REPORT_FILES is listed; no other file is present (pass only the report files of the
 * folder); report.json names the same report date; and, when `previousManifestBytes` is given, its
 * sha256 is the manifest's previous_manifest_sha256 (null given = this report must be the first of
 * the chain; undefined = the link is not checked). Returns the problems found, [] when all is well.
 */
export function verifyReport(
  files: ReadonlyMap<string, string | Uint8Array>,
  previousManifestBytes?: string | Uint8Array | null,
): string[] {
  const problems: string[] = [];
  const manifestBytes = files.get(MANIFEST_FILE);
  if (manifestBytes === undefined) return [`${MANIFEST_FILE}: missing`];
  let manifest: unknown;
  try {
    manifest = JSON.parse(
      typeof manifestBytes === 'string'
        ? manifestBytes
        : new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes),
    );
  } catch (err) {
    return [`${MANIFEST_FILE}: not valid JSON (${(err as Error).message})`];
  }
  const m = manifest as Partial<Manifest> | null;
  if (
    !m ||
    typeof m !== 'object' ||
    typeof m.files !== 'object' ||
    m.files === null ||
    typeof m.report_date !== 'string'
  ) {
    return [`${MANIFEST_FILE}: not a report manifest`];
  }
  const listed = m.files as Record<string, unknown>;
  for (const [name, hash] of Object.entries(listed)) {
    const body = files.get(name);
    if (body === undefined) problems.push(`${name}: listed in the manifest but missing`);
    else if (typeof hash !== 'string' || sha256Hex(body) !== hash)
      problems.push(`${name}: sha256 does not match the manifest`);
  }
  // Own properties only: a file named "constructor", "__proto__" or "toString" is listed only when
  // the manifest lists it (`name in listed` would find it on Object.prototype).
  const isListed = (name: string) => Object.hasOwn(listed, name);
  for (const name of REPORT_FILES) if (!isListed(name)) problems.push(`${name}: not listed in the manifest`);
  for (const name of files.keys()) {
    if (name !== MANIFEST_FILE && !isListed(name)) problems.push(`${name}: not covered by the manifest`);
  }
  const report = files.get('report.json');
  if (report !== undefined) {
    try {
      const r = JSON.parse(typeof report === 'string' ? report : new TextDecoder().decode(report)) as {
        report_date?: unknown;
      };
      if (r.report_date !== m.report_date) {
        problems.push(
          `report.json: report_date ${String(r.report_date)} differs from the manifest's ${m.report_date}`,
        );
      }
    } catch {
      problems.push('report.json: not valid JSON');
    }
  }
  if (previousManifestBytes !== undefined) {
    const expected = previousManifestBytes === null ? null : sha256Hex(previousManifestBytes);
    const actual = m.previous_manifest_sha256 ?? null;
    if (actual !== expected) {
      problems.push(
        `${MANIFEST_FILE}: chain broken: previous_manifest_sha256 is ${actual ?? 'null'}, the previous manifest hashes to ${expected ?? 'null (none)'}`,
      );
    }
  }
  return problems;
}
