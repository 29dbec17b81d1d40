/** The interface between the reader and one log format (JSON Lines, CSV). */
import type { UsageRecord } from '../record.ts';

/** Where a format puts what its lines amount to. */
export interface RecordSink {
  /** The record a format fills before count(). */
  readonly record: UsageRecord;
  /** Count `record`, in these recipient categories (undefined: ask the registry). */
  count(categories: readonly string[] | undefined): void;
  reject(line: number, reason: string): void;
}

export interface LogFormat {
  readonly name: 'jsonl' | 'csv';
  /** True while a record continues on the next line (a CSV quoted field holding a line break). */
  readonly open: boolean;
  /** A non-blank line, or any line while `open`: buf[start, end). */
  line(buf: Buffer, start: number, end: number, lineNo: number, utf8Valid: boolean): void;
  /** A line over the limit arrived while `open`: the record in progress is rejected. */
  overlongWhileOpen(): void;
  /** The end of the content. */
  finish(): void;
}
