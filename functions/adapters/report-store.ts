/**
 * Reports in S3, Hive-style (SPEC §5): reports/date=YYYY-MM-DD/<file>, and reports/latest.json.
 * Within one report the manifest is written after the files it hashes, and latest.json after
 * every report of a run, so a half-finished run is never the latest.
 */
import { REPORTS_PREFIX } from '../shared/resources.ts';
import type { S3Objects } from './object-store.ts';

export const MANIFEST = 'manifest.json';
export const LATEST_KEY = `${REPORTS_PREFIX}latest.json`;

/** JSON.parse that answers undefined for missing or damaged text (a stored file may be tampered with). */
export function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export const reportKey = (date: string, name: string): string => `${REPORTS_PREFIX}date=${date}/${name}`;

export class ReportStore {
  constructor(
    private readonly objects: S3Objects,
    private readonly bucket: string,
  ) {}

  /** Report dates present (those with a manifest), ascending. */
  async listDates(): Promise<string[]> {
    const keys = await this.objects.list(this.bucket, `${REPORTS_PREFIX}date=`);
    const dates = new Set<string>();
    for (const k of keys) {
      const m = /^reports\/date=(\d{4}-\d{2}-\d{2})\/manifest\.json$/.exec(k);
      if (m?.[1]) dates.add(m[1]);
    }
    return [...dates].sort();
  }

  async readFile(date: string, name: string): Promise<string | undefined> {
    return this.objects.getText(this.bucket, reportKey(date, name));
  }

  /** Every file of one report folder, by name. */
  async readAll(date: string): Promise<Map<string, string>> {
    const prefix = reportKey(date, '');
    const out = new Map<string, string>();
    for (const key of await this.objects.list(this.bucket, prefix)) {
      const text = await this.objects.getText(this.bucket, key);
      if (text !== undefined) out.set(key.slice(prefix.length), text);
    }
    return out;
  }

  /** Writes the files in order; put the manifest last in `files`. */
  async write(
    date: string,
    files: readonly { name: string; body: string; contentType: string }[],
  ): Promise<void> {
    for (const f of files)
      await this.objects.put(this.bucket, reportKey(date, f.name), f.body, f.contentType);
  }

  /** The date latest.json names; undefined when it is missing or unreadable (the next run rewrites it). */
  async latest(): Promise<string | undefined> {
    const text = await this.objects.getText(this.bucket, LATEST_KEY);
    const date = parseJson<{ report_date?: unknown }>(text)?.report_date;
    return typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined;
  }

  async setLatest(date: string): Promise<void> {
    await this.objects.put(
      this.bucket,
      LATEST_KEY,
      `${JSON.stringify({ report_date: date })}\n`,
      'application/json',
    );
  }
}
