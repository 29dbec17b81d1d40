/**
 * CSV (RFC 4180) with a header naming the fields. The fast path (csv-fast.ts) takes the lines it
 * is sure of; every other line (and every record spanning lines) takes the general path here:
 * CsvRecordParser and validateCsvRecord, which name every reject reason.
 */
import { isUtf8 } from 'node:buffer';
import { CsvRecordParser } from '../csv.ts';
import type { RecipientMatcher } from '../recipients.ts';
import { type CsvColumns, FIELDS, REQUIRED_FIELDS, validateCsvRecord } from '../record.ts';
import { CsvFastPath } from './csv-fast.ts';
import type { LogFormat, RecordSink } from './format.ts';
import { formatBytes, Quarantine } from './limits.ts';

export interface CsvHeader {
  columns: CsvColumns;
  width: number;
}

/**
 * The header in `text`, or why it is not one: '' (not a header at all) or ' (a CSV header
 * without …)'. Throws Quarantine on a duplicate column.
 */
export function parseCsvHeader(text: string): CsvHeader | string {
  const parser = new CsvRecordParser();
  if (!parser.feed(text) || parser.error) return '';
  const names = parser.fields.map((f) => f.trim().toLowerCase());
  const missing = REQUIRED_FIELDS.filter((f) => !names.includes(f));
  if (missing.length === REQUIRED_FIELDS.length) return '';
  if (missing.length > 0) return ` (a CSV header without ${missing.join(', ')})`;
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') continue;
    if (seen.has(name)) throw new Quarantine(`CSV header: duplicate column ${JSON.stringify(name)}`);
    seen.add(name);
  }
  const columns = {} as CsvColumns;
  for (const field of FIELDS) columns[field] = names.indexOf(field);
  return { columns, width: names.length };
}

export class CsvFormat implements LogFormat {
  readonly name = 'csv';
  private readonly csv = new CsvRecordParser();
  private readonly fast: CsvFastPath;
  private recordLine = 0;
  private recordBytes = 0;
  private recordBadUtf8 = false;

  constructor(
    private readonly header: CsvHeader,
    private readonly maxLine: number,
    private readonly sink: RecordSink,
    matcher: RecipientMatcher,
  ) {
    this.fast = new CsvFastPath(header.columns, header.width, matcher);
  }

  get open(): boolean {
    return this.csv.open;
  }

  line(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void {
    if (this.csv.open) {
      this.continue(buf, start, end, utf8Valid);
      return;
    }
    if (this.fast.scan(buf, start, end, utf8Valid, this.sink.record)) {
      this.sink.count(this.fast.categories);
      return;
    }
    const valid = utf8Valid || isUtf8(buf.subarray(start, end));
    this.recordLine = lineNo;
    this.recordBytes = end - start;
    this.recordBadUtf8 = !valid;
    if (this.csv.feed(buf.toString('utf8', start, end))) this.record();
  }

  private continue(buf: Buffer, start: number, end: number, utf8Valid: boolean): void {
    this.recordBytes += end - start + 1;
    if (this.recordBytes > this.maxLine) {
      this.overlongWhileOpen();
      return;
    }
    if (!utf8Valid && !isUtf8(buf.subarray(start, end))) this.recordBadUtf8 = true;
    if (this.csv.feed(buf.toString('utf8', start, end))) this.record();
  }

  overlongWhileOpen(): void {
    this.sink.reject(
      this.recordLine,
      `CSV record exceeds ${formatBytes(this.maxLine)} (unterminated quoted field?)`,
    );
    this.csv.reset();
  }

  finish(): void {
    if (this.csv.open) {
      this.sink.reject(this.recordLine, 'malformed CSV: unterminated quoted field');
      this.csv.reset();
    }
  }

  private record(): void {
    const lineNo = this.recordLine;
    if (this.recordBadUtf8) {
      this.sink.reject(lineNo, 'invalid UTF-8');
      return;
    }
    if (this.csv.error !== undefined) {
      this.sink.reject(lineNo, this.csv.error);
      return;
    }
    const fields = this.csv.fields;
    if (fields.length !== this.header.width) {
      this.sink.reject(lineNo, `expected ${this.header.width} fields, got ${fields.length}`);
      return;
    }
    const reason = validateCsvRecord(fields, this.header.columns, this.sink.record);
    if (reason !== undefined) this.sink.reject(lineNo, reason);
    else this.sink.count(undefined);
  }
}
