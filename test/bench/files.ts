/**
 * The benchmark's input files: gzip JSON Lines from test/support/log-generator.ts (streamed to
 * disk, never held), and the same records as gzip CSV.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { DEFAULT_APPS, DEFAULT_DAYS, writeLogFile } from '../support/log-generator.ts';
import type { Totals } from './children.ts';

export interface Generated {
  path: string;
  /** Data lines (a CSV header not counted). */
  lines: number;
  /** Line numbers (1-based) of the lines any correct reader rejects. */
  badLines: number[];
  /** What a correct reader sums over the good lines. */
  totals: Totals;
  apps: number;
  days: number;
}

/** A generated gzip JSON Lines drop: mixed timestamp forms, 20% IPv6 clients, 0.1% bad lines. */
export async function generate(path: string, lines: number, seed: number): Promise<Generated> {
  const g = await writeLogFile(path, {
    lines,
    seed,
    format: 'jsonl',
    timestamps: 'mixed',
    ipv6Share: 0.2,
    badLineShare: 0.001,
    gzip: true,
  });
  return {
    path,
    lines,
    badLines: g.badLines,
    totals: {
      requests: g.expected.reduce((s, u) => s + u.requests, 0),
      records: g.expected.reduce((s, u) => s + u.records, 0),
    },
    apps: DEFAULT_APPS.length,
    days: DEFAULT_DAYS.length,
  };
}

const CSV_COLUMNS = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
] as const;

function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The records of a generated JSON Lines drop as CSV (header first, fields the generator writes in
 * its own CSV; extra JSON fields dropped). A bad line (the generator's list) becomes a row that is not one.
 * So the totals and the number of rejected lines are the JSON Lines drop's.
 */
export async function toCsv(from: Generated, path: string): Promise<Generated> {
  const bad = new Set(from.badLines);
  async function* rows(): AsyncGenerator<string> {
    yield `${CSV_COLUMNS.join(',')}\n`;
    const input = createInterface({
      input: createReadStream(from.path).pipe(createGunzip()),
      crlfDelay: Infinity,
    });
    let lineNo = 0;
    let batch = '';
    for await (const line of input) {
      lineNo++;
      if (bad.has(lineNo)) {
        batch += `not a row at all ${lineNo}\n`;
      } else {
        const o = JSON.parse(line) as Record<string, unknown>;
        batch += `${CSV_COLUMNS.map((c) => csvField(o[c])).join(',')}\n`;
      }
      if (batch.length > 256 * 1024) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  await pipeline(Readable.from(rows()), createGzip(), createWriteStream(path));
  return { ...from, path };
}

/**
 * `times` copies of a generated gzip drop, one after the other (a multi-member gzip file, which the
 * reader reads whole): a large drop in seconds instead of minutes of generating, streamed from disk.
 */
export async function repeat(from: Generated, times: number, path: string): Promise<Generated> {
  async function* copies(): AsyncGenerator<Buffer> {
    for (let i = 0; i < times; i++) yield* createReadStream(from.path, { highWaterMark: 1024 * 1024 });
  }
  await pipeline(Readable.from(copies()), createWriteStream(path));
  return {
    ...from,
    path,
    lines: from.lines * times,
    badLines: Array.from({ length: times }, (_, i) => from.badLines.map((n) => n + i * from.lines)).flat(),
    totals: { requests: from.totals.requests * times, records: from.totals.records * times },
  };
}
