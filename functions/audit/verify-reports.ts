/**
 * Use case: verify the stored reports (`auditor reports verify`), from the report store and the
 * control table's anchors, or from a plain copy of reports/ on disk (`--dir`, no anchors).
 *
 * For every date of the chain (a manifest present, or an anchor in the control table): the files
 * against the manifest, no file missing, extra or unlisted, report.json's date, content_sha256
 * recomputed from the files, the manifest against its anchor, and the link to the previous present
 * date's manifest. An anchored date whose folder is gone or incomplete is a problem; so is a
 * latest.json that does not name the newest report.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkReport, problemFile } from '../core/audit/chain.ts';
import { restatementsOf } from '../core/audit/restatement.ts';
import { pendingProblem } from './pending-evidence.ts';
import { MANIFEST } from './ports.ts';

/** After an evidence file's problem when its bytes are a pending write (pending-evidence.ts). */
export const PENDING_NOTE =
  ' (a pending write the control table recorded before it: an audit of this date failed before its manifest, or is writing it now; the next audit of this date rewrites it)';

export interface VerifyProblem {
  date: string;
  file: string;
  problem: string;
}

export interface VerifySource {
  /** Dates with a report folder (a manifest, or for a copy on disk any file), ascending. */
  listDates(): Promise<string[]>;
  readAll(date: string): Promise<ReadonlyMap<string, string | Uint8Array>>;
  latest(): Promise<string | undefined>;
  /** Files beside latest.json and the date= folders that have no business there (a copy on disk). */
  strayFiles?(): Promise<string[]>;
}

export interface VerifyResult {
  dates: string[];
  problems: VerifyProblem[];
  /** Reports the audit rewrote with a restatement (restatement.json): how often, and the last one. */
  restated?: { date: string; restatements: number; last_at: string }[];
}

/**
 * Verifies every report; `anchors` undefined = no control table to check against. `contents`: the
 * content_sha256 recorded with each date's anchors (a content change without a restatement is a
 * problem).
 */
export async function verifyStoredReports(
  source: VerifySource,
  anchors: ReadonlyMap<string, string> | undefined,
  contents?: ReadonlyMap<string, readonly string[]>,
  pending?: (date: string) => Promise<ReadonlyMap<string, ReadonlySet<string>>>,
): Promise<VerifyResult> {
  const present = await source.listDates();
  const dates = [...new Set([...present, ...(anchors?.keys() ?? [])])].sort();
  const problems: VerifyProblem[] = [];
  const restated: NonNullable<VerifyResult['restated']> = [];
  let previous: string | Uint8Array | null = null;
  for (const date of dates) {
    const files = await source.readAll(date);
    if (files.size === 0) {
      problems.push({
        date,
        file: MANIFEST,
        problem: `${MANIFEST}: missing, with the whole report folder; the control table anchors ${anchors?.get(date)}`,
      });
      continue;
    }
    const anchoredContents = contents?.get(date);
    const found = checkReport(files, { previous, anchor: anchors?.get(date), anchoredContents });
    const writes = found.some((p) => p.startsWith('evidence/')) ? await pending?.(date) : undefined;
    for (const p of found)
      problems.push({
        date,
        file: problemFile(p),
        problem: writes && pendingProblem(p, files, writes) ? `${p}${PENDING_NOTE}` : p,
      });
    const r = restatementsOf(files);
    const last = r.at(-1);
    if (last) restated.push({ date, restatements: r.length, last_at: String(last.restated_at) });
    previous = files.get(MANIFEST) ?? previous;
  }
  for (const f of (await source.strayFiles?.()) ?? [])
    problems.push({ date: '-', file: f, problem: `${f}: not part of any report` });
  const latest = await source.latest();
  if (present.length > 0 && latest !== present.at(-1)) {
    problems.push({
      date: latest ?? '-',
      file: 'latest.json',
      problem: `latest.json names ${latest ?? 'nothing'}, the newest report is ${present.at(-1)}`,
    });
  }
  return { dates, problems, ...(restated.length > 0 ? { restated } : {}) };
}

const DATE_DIR = /^date=(\d{4}-\d{2}-\d{2})$/;

/** Every file under `dir`, as paths relative to it with "/" separators. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

/** A downloaded copy of reports/ (e.g. `aws s3 sync s3://BUCKET/reports/ PATH`). */
export async function directorySource(root: string): Promise<VerifySource> {
  if (!(await stat(root)).isDirectory()) throw new Error(`${root}: not a directory`);
  const entries = await readdir(root, { withFileTypes: true });
  const dates = entries
    .filter((e) => e.isDirectory())
    .flatMap((e) => DATE_DIR.exec(e.name)?.[1] ?? [])
    .sort();
  return {
    listDates: async () => dates,
    async readAll(date) {
      const dir = join(root, `date=${date}`);
      const out = new Map<string, Uint8Array>();
      for (const name of await walk(dir)) out.set(name, await readFile(join(dir, name)));
      return out;
    },
    async latest() {
      try {
        const parsed: unknown = JSON.parse(await readFile(join(root, 'latest.json'), 'utf8'));
        const d =
          typeof parsed === 'object' && parsed !== null && 'report_date' in parsed
            ? parsed.report_date
            : undefined;
        return typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d) ? d : undefined;
      } catch {
        return undefined;
      }
    },
    strayFiles: async () =>
      entries
        .filter((e) => !(e.isDirectory() && DATE_DIR.test(e.name)) && e.name !== 'latest.json')
        .map((e) => e.name),
  };
}
