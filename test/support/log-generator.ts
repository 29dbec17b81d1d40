/**
 * Seeded, deterministic log drops for tests and benchmarks, with the usage they must produce.
 *
 * The expected usage is computed here, independently of functions/core: the generator picks each
 * client address and organisation from lists whose recipient categories it knows (see
 * GENERATOR_RECIPIENTS), and sums with plain objects. Only the shared types are imported.
 *
 *   generateLogs(opts)              the whole text in memory (small cases)
 *   new LogStream(opts).chunks()    Buffers of lines, for millions of lines; result() afterwards
 *   writeLogFile(path, opts)        streams to a file (optionally gzip-compressed)
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { seededRandom } from '../../functions/core/support.ts';
import type { CategoryCounts, Counts, DayUsage, RecipientsRegistry } from '../../functions/core/types.ts';

export interface GenerateOptions {
  /** Data lines (good and bad), not counting a CSV header. */
  lines: number;
  seed: number;
  format: 'jsonl' | 'csv';
  /** iso: UTC with Z / +00:00 / +0000; epoch: milliseconds; offset: a zone that moves the local date
   *  off the UTC date (crossing midnight); mixed: any of these. Default mixed. */
  timestamps?: 'iso' | 'epoch' | 'offset' | 'mixed';
  /** App ids to use. */
  apps?: string[];
  /** UTC dates (YYYY-MM-DD) the instants fall on. */
  days?: string[];
  /** Share of client addresses that are IPv6 (including IPv4-mapped IPv6), 0–1. Default 0.2. */
  ipv6Share?: number;
  /** Share of lines that are bad (rejected by any correct reader), 0–1. Default 0. */
  badLineShare?: number;
  /** Line ending. Default "\n". */
  eol?: '\n' | '\r\n';
}

export interface GeneratedSummary {
  /** Usage a correct reader reports (with GENERATOR_RECIPIENTS as the registry). */
  expected: DayUsage[];
  /** Physical line numbers (1-based, a CSV header is line 1) of the bad lines. */
  badLines: number[];
  /** Physical lines written, header included. */
  lines: number;
  /** Bytes of text written (uncompressed). */
  bytes: number;
}

export interface GeneratedLogs extends GeneratedSummary {
  text: string;
}

/** The recipients registry the generated addresses and organisations are chosen against. */
export const GENERATOR_RECIPIENTS: RecipientsRegistry = {
  government: {
    cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'],
    organisations: ['dept-of-examples', 'example-agency'],
  },
  'data-broker': { cidrs: ['192.0.2.128/25', '2001:db8:c0::/48'], organisations: ['acme-brokerage'] },
};

export const DEFAULT_APPS = ['gen-alpha', 'gen-beta', 'gen.gamma:v2', 'gen_delta-1'];
export const DEFAULT_DAYS = ['2026-11-25', '2026-11-26', '2026-11-27'];

const ENDPOINTS = [
  'GET /2/tweets/search/recent',
  'GET /2/tweets/search/all',
  'GET /2/users/by',
  'GET /2/tweets/sample/stream',
  'POST /2/dm_conversations',
  'GET /2/users/by?ids=1,2,3', // a comma: quoted in CSV
  'GET /2/tweets?query="from:x"', // quotes: escaped in CSV
  'GET /2/ünïcode/ëndpoint',
];

const CSV_HEADER = 'timestamp,app_id,endpoint,status,records,bytes,client_ip,on_behalf_of,request_id';
const ORGS: { name: string; category: string | undefined }[] = [
  { name: 'dept-of-examples', category: 'government' },
  { name: 'example-agency', category: 'government' },
  { name: 'acme-brokerage', category: 'data-broker' },
  { name: 'globex-research', category: undefined },
  { name: 'initech', category: undefined },
];

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

interface MutableCategory {
  requests: number;
  records: number;
  orgs: Record<string, { requests: number; records: number }>;
}
interface MutableDay extends Counts {
  endpoints: Record<string, Counts>;
  categories: Record<string, MutableCategory>;
}

/** Generates lines one at a time and keeps the expected usage. */
export class LogStream {
  private readonly rand: () => number;
  private readonly apps: string[];
  private readonly dayMs: number[];
  private readonly timestamps: NonNullable<GenerateOptions['timestamps']>;
  private readonly ipv6Share: number;
  private readonly badShare: number;
  private readonly eol: string;
  private readonly sums = new Map<string, MutableDay>();
  private readonly badLines: number[] = [];
  private physical = 0;
  private bytes = 0;
  private produced = 0;

  constructor(private readonly opts: GenerateOptions) {
    this.rand = seededRandom(opts.seed);
    this.apps = opts.apps ?? DEFAULT_APPS;
    this.dayMs = (opts.days ?? DEFAULT_DAYS).map((d) => {
      const ms = Date.parse(`${d}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(ms)) throw new Error(`bad day ${d}`);
      return ms;
    });
    this.timestamps = opts.timestamps ?? 'mixed';
    this.ipv6Share = opts.ipv6Share ?? 0.2;
    this.badShare = opts.badLineShare ?? 0;
    this.eol = opts.eol ?? '\n';
  }

  /** The text in Buffers of about `linesPerChunk` lines each. */
  *chunks(linesPerChunk = 2048): Generator<Buffer> {
    if (this.opts.format === 'csv' && this.physical === 0) {
      this.physical = 1;
      const header = CSV_HEADER + this.eol;
      this.bytes += Buffer.byteLength(header);
      yield Buffer.from(header);
    }
    while (this.produced < this.opts.lines) {
      let text = '';
      const until = Math.min(this.opts.lines, this.produced + linesPerChunk);
      while (this.produced < until) {
        text += this.nextLine() + this.eol;
        this.produced++;
      }
      const buf = Buffer.from(text);
      this.bytes += buf.length;
      yield buf;
    }
  }

  /** What the generated text must produce (call after chunks() is exhausted). */
  result(): GeneratedSummary {
    return {
      expected: this.expected(),
      badLines: [...this.badLines],
      lines: this.physical,
      bytes: this.bytes,
    };
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)] as T;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  private nextLine(): string {
    const lineNo = ++this.physical;
    const firstData = this.opts.format === 'jsonl' && lineNo === 1;
    if (this.badShare > 0 && this.rand() < this.badShare) {
      this.badLines.push(lineNo);
      return this.opts.format === 'jsonl' ? this.badJson(firstData) : this.badCsv();
    }
    return this.goodLine();
  }

  private goodLine(): string {
    const app = this.pick(this.apps);
    const utcMs = this.pick(this.dayMs) + this.int(0, 86_399_999);
    const endpoint = this.pick(ENDPOINTS);
    const r = this.rand();
    const status =
      r < 0.8 ? 200 : r < 0.85 ? this.pick([201, 204, 304]) : this.pick([400, 403, 404, 429, 500, 503]);
    const records = this.rand() < 0.1 ? 0 : this.int(1, 500);
    const bytes = records * 400 + this.int(0, 2000);
    const { ip, ipCategory } = this.clientIp();
    const org = this.rand() < 0.2 ? this.pick(ORGS) : undefined;
    const requestId = `r-${this.produced}`;
    const timestamp = this.timestamp(utcMs);

    // Independent expected sums.
    const categories = new Set<string>();
    if (ipCategory) categories.add(ipCategory);
    if (org?.category) categories.add(org.category);
    this.add(
      app,
      new Date(utcMs).toISOString().slice(0, 10),
      endpoint,
      status,
      records,
      bytes,
      categories,
      org?.name,
    );

    const omitRecords = records === 0 && this.rand() < 0.5;
    if (this.opts.format === 'jsonl') {
      const o: Record<string, unknown> = { timestamp, app_id: app, endpoint, status };
      if (!omitRecords) o.records = records;
      o.bytes = bytes;
      if (ip !== undefined) o.client_ip = ip;
      if (org) o.on_behalf_of = org.name;
      else if (this.rand() < 0.05) o.on_behalf_of = null;
      o.request_id = requestId;
      if (this.rand() < 0.05) o.extra_field = { ignored: true };
      return JSON.stringify(o);
    }
    return [
      String(timestamp),
      app,
      csvQuote(endpoint),
      String(status),
      omitRecords ? '' : String(records),
      String(bytes),
      ip ?? '',
      org?.name ?? '',
      requestId,
    ].join(',');
  }

  private clientIp(): { ip: string | undefined; ipCategory: string | undefined } {
    if (this.rand() < 0.1) return { ip: undefined, ipCategory: undefined };
    const r = this.rand();
    const kind: 'government' | 'data-broker' | 'none' =
      r < 0.2 ? 'government' : r < 0.3 ? 'data-broker' : 'none';
    const category = kind === 'none' ? undefined : kind;
    const b = this.int(1, 126);
    if (this.rand() < this.ipv6Share) {
      const h = this.int(1, 0xffff).toString(16);
      switch (kind) {
        case 'government':
          // Inside 2001:db8:a000::/36, sometimes written in full upper case; or IPv4-mapped.
          if (this.rand() < 0.3) return { ip: `::ffff:198.51.100.${b}`, ipCategory: category };
          return this.rand() < 0.5
            ? {
                ip: `2001:db8:a${this.int(0, 0xfff).toString(16).padStart(3, '0')}::${h}`,
                ipCategory: category,
              }
            : { ip: `2001:0DB8:AFFF:0000:0000:0000:0000:${h.toUpperCase()}`, ipCategory: category };
        case 'data-broker':
          return { ip: `2001:db8:c0:${h}::1`, ipCategory: category };
        default:
          return this.rand() < 0.5
            ? { ip: `2001:db8:b::${h}`, ipCategory: undefined }
            : { ip: `2001:db8:c1::${h}`, ipCategory: undefined };
      }
    }
    switch (kind) {
      case 'government':
        return { ip: `198.51.100.${b}`, ipCategory: category };
      case 'data-broker':
        return { ip: `192.0.2.${128 + b}`, ipCategory: category };
      default:
        return this.rand() < 0.5
          ? { ip: `203.0.113.${b}`, ipCategory: undefined }
          : { ip: `192.0.2.${b}`, ipCategory: undefined };
    }
  }

  private timestamp(utcMs: number): string | number {
    const mode =
      this.timestamps === 'mixed' ? this.pick(['iso', 'epoch', 'offset'] as const) : this.timestamps;
    if (mode === 'epoch') return this.opts.format === 'jsonl' ? utcMs : String(utcMs);
    if (mode === 'iso') {
      const iso = new Date(utcMs).toISOString();
      const r = this.rand();
      if (r < 0.5) return iso;
      if (r < 0.65) return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
      if (r < 0.8) return `${iso.slice(0, 23)}+00:00`;
      return `${iso.slice(0, 19)}-0000`;
    }
    // An offset that puts the local date on another day than the UTC date.
    const utcHour = new Date(utcMs).getUTCHours();
    const utcDate = new Date(utcMs).toISOString().slice(0, 10);
    for (;;) {
      // Whole quarter hours, as real zones are.
      const minutes =
        15 * (utcHour >= 12 ? this.int((24 - utcHour) * 4, 14 * 4) : -this.int((utcHour + 1) * 4, 12 * 4));
      const local = new Date(utcMs + minutes * 60_000);
      const localIso = local.toISOString();
      if (localIso.slice(0, 10) === utcDate) continue;
      const abs = Math.abs(minutes);
      const sign = minutes < 0 ? '-' : '+';
      const zone =
        this.rand() < 0.7
          ? `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
          : `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
      const ms = local.getUTCMilliseconds();
      const fraction = ms !== 0 || this.rand() < 0.5 ? `.${pad3(ms)}` : '';
      return `${localIso.slice(0, 19)}${fraction}${zone}`;
    }
  }

  private badJson(first: boolean): string {
    const n = this.produced;
    const app = `"app_id":"${this.pick(this.apps)}","endpoint":"GET /2/users/by"`;
    const valid = `${app},"status":200`;
    const variants = [
      `{"timestamp":"2026-02-30T10:00:00Z",${valid}}`,
      `{"timestamp":"2026-11-27T25:00:00Z",${valid}}`,
      `{"timestamp":"2026-11-27T10:00:00",${valid}}`,
      `{"timestamp":"2026-11-27T10:00:00Z","endpoint":"GET /x","status":200,"n":${n}}`,
      `{"timestamp":"2026-11-27T10:00:00Z",${app},"status":"200"}`,
      `{"timestamp":"2026-11-27T10:00:00Z",${valid},"client_ip":"999.1.2.3"}`,
      `{"timestamp":"2026-11-27T10:00:00Z",${valid},"records":-5}`,
      `{"timestamp":"2026-11-27T10:00:00Z",${valid},"bytes":1.5}`,
      `{"timestamp":"2026-11-27T10:00:00Z","app_id":"bad app id","endpoint":"GET /x","status":200}`,
      `{"timestamp":"2026-11-27T10:`,
    ];
    const notObject = [`this line ${n} is not JSON`, '[1,2,3]', '"just a string"', 'null'];
    if (first || this.rand() < 0.7) return this.pick(variants);
    return this.pick(notObject);
  }

  private badCsv(): string {
    const app = this.pick(this.apps);
    const variants = [
      'a,b,c',
      `2026-02-30T10:00:00Z,${app},GET /x,200,1,1,,,`,
      `2026-11-27T10:00:00Z,${app},GET /x,2000,1,1,,,`,
      `2026-11-27T10:00:00Z,,GET /x,200,1,1,,,`,
      `2026-11-27T10:00:00Z,${app},GET /x,200,-1,1,,,`,
      `2026-11-27T10:00:00Z,${app},GET /x,200,1,1,10.0.0.256,,`,
      `2026-11-27T10:00:00Z,${app},GET /x,200,1,1,,,,extra`,
      `not a row at all ${this.produced}`,
      `"2026-11-27T10:00:00Z"x,${app},GET /x,200,1,1,,,`,
    ];
    return this.pick(variants);
  }

  private add(
    app: string,
    day: string,
    endpoint: string,
    status: number,
    records: number,
    bytes: number,
    categories: Set<string>,
    org: string | undefined,
  ): void {
    const key = `${app}\u0000${day}`;
    let d = this.sums.get(key);
    if (!d) {
      d = { requests: 0, records: 0, bytes: 0, errors: 0, endpoints: {}, categories: {} };
      this.sums.set(key, d);
    }
    const err = status >= 400 ? 1 : 0;
    d.requests++;
    d.records += records;
    d.bytes += bytes;
    d.errors += err;
    const e = d.endpoints[endpoint] ?? { requests: 0, records: 0, bytes: 0, errors: 0 };
    d.endpoints[endpoint] = e;
    e.requests++;
    e.records += records;
    e.bytes += bytes;
    e.errors += err;
    for (const c of categories) {
      const cat = d.categories[c] ?? { requests: 0, records: 0, orgs: {} };
      d.categories[c] = cat;
      cat.requests++;
      cat.records += records;
      if (org !== undefined) {
        const o = cat.orgs[org] ?? { requests: 0, records: 0 };
        cat.orgs[org] = o;
        o.requests++;
        o.records += records;
      }
    }
  }

  private expected(): DayUsage[] {
    const sorted = <T>(o: Record<string, T>): Record<string, T> =>
      Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k] as T]),
      );
    return [...this.sums.entries()]
      .map(([key, d]) => {
        const [app = '', day = ''] = key.split('\u0000');
        const categories: Record<string, CategoryCounts> = {};
        for (const [name, c] of Object.entries(sorted(d.categories))) {
          categories[name] = { requests: c.requests, records: c.records, orgs: sorted(c.orgs) };
        }
        return {
          app,
          day,
          requests: d.requests,
          records: d.records,
          bytes: d.bytes,
          errors: d.errors,
          endpoints: sorted(d.endpoints),
          categories,
        };
      })
      .sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  }
}

function csvQuote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Generate a whole (small) log drop in memory. */
export function generateLogs(opts: GenerateOptions): GeneratedLogs {
  const stream = new LogStream(opts);
  const parts: string[] = [];
  for (const chunk of stream.chunks()) parts.push(chunk.toString('utf8'));
  return { text: parts.join(''), ...stream.result() };
}

/** Stream a generated log drop to a file, gzip-compressed when asked, without holding it. */
export async function writeLogFile(
  path: string,
  opts: GenerateOptions & { gzip?: boolean },
): Promise<GeneratedSummary & { fileBytes: number }> {
  const stream = new LogStream(opts);
  const out = createWriteStream(path);
  if (opts.gzip) await pipeline(Readable.from(stream.chunks()), createGzip(), out);
  else await pipeline(Readable.from(stream.chunks()), out);
  return { ...stream.result(), fileBytes: out.bytesWritten };
}
