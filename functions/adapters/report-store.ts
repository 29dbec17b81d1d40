/**
 * Reports in S3, Hive-style (SPEC §5): reports/date=YYYY-MM-DD/<file>, and reports/latest.json.
 * Within one report the manifest is written after the files it hashes, and latest.json after
 * every report of a run, so a half-finished run is never the latest.
 */
import {
  MANIFEST,
  parseJson,
  type ReportFileBody,
  type ReportFiles,
  type StatementFiles,
} from '../audit/ports.ts';
import { REPORTS_PREFIX, reportKey, statementKey } from '../shared/resources.ts';
import type { S3Objects } from './object-store.ts';

export { MANIFEST, parseJson };
export const LATEST_KEY = `${REPORTS_PREFIX}latest.json`;

export { reportKey };

export class ReportStore implements ReportFiles, StatementFiles {
  constructor(
    private readonly objects: S3Objects,
    private readonly bucket: string,
  ) {}

  /** Report dates present (those with a manifest), ascending. */
  async listDates(): Promise<string[]> {
    const prefix = `${REPORTS_PREFIX}date=`;
    const keys = await this.objects.list(this.bucket, prefix);
    const dates = new Set<string>();
    for (const k of keys) {
      const date = k.slice(prefix.length, prefix.length + 10);
      if (/^\d{4}-\d{2}-\d{2}$/.test(date) && k === reportKey(date, MANIFEST)) dates.add(date);
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

  async fileHashes(date: string): Promise<Map<string, string>> {
    const prefix = reportKey(date, '');
    const out = new Map<string, string>();
    for (const key of await this.objects.list(this.bucket, prefix)) {
      const sha = await this.objects.sha256(this.bucket, key);
      if (sha !== undefined) out.set(key.slice(prefix.length), sha);
    }
    return out;
  }

  /** Writes the files in order; put the manifest last in `files`. */
  async write(date: string, files: readonly ReportFileBody[]): Promise<void> {
    for (const f of files) {
      const key = reportKey(date, f.name);
      if (typeof f.body === 'string') await this.objects.put(this.bucket, key, f.body, f.contentType);
      else await this.objects.putStream(this.bucket, key, f.body, f.contentType);
    }
  }

  async remove(date: string, names: readonly string[]): Promise<void> {
    for (const name of names) await this.objects.delete(this.bucket, reportKey(date, name));
  }

  /** The date latest.json names; undefined when it is missing or unreadable (the next run rewrites it). */
  async latest(): Promise<string | undefined> {
    const text = await this.objects.getText(this.bucket, LATEST_KEY);
    const date = parseJson<{ report_date?: unknown }>(text)?.report_date;
    return typeof date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined;
  }

  async readStatement(licensee: string, month: string, name: string): Promise<string | undefined> {
    return this.objects.getText(this.bucket, statementKey(licensee, month, name));
  }

  async writeStatement(
    licensee: string,
    month: string,
    files: readonly { name: string; body: string; contentType: string }[],
  ): Promise<void> {
    for (const f of files)
      await this.objects.put(this.bucket, statementKey(licensee, month, f.name), f.body, f.contentType);
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
