/**
 * Demo data: about a month of API access logs for the demo agreements, with a violation of every
 * audit rule planted in it, deterministic (seeded) so that a second `auditor demo` uploads the
 * same objects and changes nothing.
 *
 * Planted (report date 2026-11-27, window 2026-11-01 … 2026-11-27):
 *   quota_exceeded        northwind's month-to-date records pass 40M; nw-feed's bulk pull on
 *                         2026-11-20 takes that day past the 2M daily quota; fab-lab passes 500k
 *   unpaid_usage          northwind after its paid_through (2026-11-15); fabrikam never paid
 *   prohibited_recipient  nw-copilot serves government addresses (IPv4 and IPv6) and an agency;
 *                         nw-search serves dept-of-examples from a government range (approved: not a finding)
 *   undeclared_use_case   six of northwind's eight apps declare no use case
 *   unauthorized_endpoint nw-copilot calls GET /2/tweets/sample/stream
 *   outside_term          fab-lab after fabrikam's term ended (2026-11-20)
 *   unknown_app           unregistered-bot, in no agreement
 * and for data quality, a few malformed lines and one truncated gzip object (quarantined).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { seededRandom } from '../core/support.ts';

/** When the nightly schedule fires for the demo's report date. */
export const DEMO_SCHEDULE_TIME = '2026-11-28T02:00:00Z';

interface Line {
  timestamp: string | number;
  app_id: string;
  endpoint: string;
  status: number;
  records: number;
  bytes: number;
  client_ip?: string;
  on_behalf_of?: string;
  request_id: string;
}

const ALLOWED = [
  'GET /2/tweets/search/recent',
  'GET /2/tweets/search/all',
  'GET /2/users/:id/tweets',
  'GET /2/users/by',
  'GET /2/tweets/counts/recent',
];
const NORTHWIND = [
  'nw-search',
  'nw-ads',
  'nw-insights',
  'nw-copilot',
  'nw-feed',
  'nw-trends',
  'nw-mail',
  'nw-maps',
];

const days = (): string[] =>
  Array.from({ length: 27 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`);

export interface DemoFile {
  key: string;
  path: string;
  lines: number;
}

/** Writes the demo's log files under `dir` (as they will be keyed under logs/) and lists them. */
export function generateDemoLogs(dir: string, seed = 20261127): DemoFile[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  let requestNo = 0;
  const files: DemoFile[] = [];

  const stamp = (day: string): string | number => {
    const ms = Date.parse(`${day}T00:00:00Z`) + int(0, 86_399_999);
    const form = rnd();
    if (form < 0.5) return new Date(ms).toISOString();
    if (form < 0.8) return ms;
    // Same instant written in a +05:30 zone: after 18:30 UTC the local date is the next day.
    const local = new Date(ms + 330 * 60_000).toISOString().slice(0, 23);
    return `${local}+05:30`;
  };
  const publicIp = () => `203.0.113.${int(1, 254)}`;

  const line = (day: string, app: string, records: number, extra: Partial<Line> = {}): Line => {
    const status = rnd() < 0.02 ? pick([429, 500, 503]) : 200;
    return {
      timestamp: stamp(day),
      app_id: app,
      endpoint: pick(ALLOWED),
      status,
      records: status === 200 ? records : 0,
      bytes: status === 200 ? 480 * records + int(200, 900) : int(80, 200),
      client_ip: publicIp(),
      request_id: `r-${(requestNo++).toString(36)}`,
      ...extra,
    };
  };

  for (const day of days()) {
    const a: Line[] = [];
    const b: Line[] = [];
    for (const app of NORTHWIND) {
      for (let i = 0; i < 550; i++) {
        const l = line(day, app, int(0, 700));
        if (app === 'nw-copilot' && rnd() < 0.06) {
          const r = rnd();
          if (r < 0.4) l.client_ip = `198.51.100.${int(1, 254)}`;
          else if (r < 0.7) l.client_ip = `2001:db8:a001::${int(1, 0xffff).toString(16)}`;
          else l.on_behalf_of = 'example-agency';
        }
        if (app === 'nw-copilot' && rnd() < 0.05) l.endpoint = 'GET /2/tweets/sample/stream';
        if (app === 'nw-search' && rnd() < 0.03) {
          l.client_ip = `198.51.100.${int(1, 254)}`;
          l.on_behalf_of = 'dept-of-examples';
        }
        if (app === 'nw-maps' && rnd() < 0.04) l.on_behalf_of = 'acme-brokerage';
        (rnd() < 0.6 ? a : b).push(l);
      }
    }
    if (day === '2026-11-20') {
      for (let i = 0; i < 400; i++)
        a.push(line(day, 'nw-feed', 10_000, { endpoint: 'GET /2/tweets/search/all', status: 200 }));
    }
    for (let i = 0; i < 320; i++) b.push(line(day, 'fab-lab', int(0, 200)));
    for (let i = 0; i < 40; i++) a.push(line(day, 'unregistered-bot', int(0, 100)));

    const dd = day.slice(8, 10);
    const jsonl = a.map((l) => JSON.stringify(l));
    if (day === '2026-11-09')
      jsonl.splice(100, 0, '{"timestamp":"2026-11-09T25:61:00Z","app_id":"nw-ads"}', 'garbage line');
    files.push(
      write(dir, `2026/11/${dd}/gateway-a.jsonl.gz`, gzipSync(`${jsonl.join('\n')}\n`), jsonl.length),
    );
    const header = 'timestamp,app_id,endpoint,status,records,bytes,client_ip,on_behalf_of,request_id';
    const rows = b.map((l) =>
      [
        l.timestamp,
        l.app_id,
        l.endpoint,
        l.status,
        l.records,
        l.bytes,
        l.client_ip ?? '',
        l.on_behalf_of ?? '',
        l.request_id,
      ]
        .map(csvCell)
        .join(','),
    );
    files.push(
      write(dir, `2026/11/${dd}/gateway-b.csv`, `${header}\r\n${rows.join('\r\n')}\r\n`, rows.length + 1),
    );
  }
  const broken = gzipSync(`${JSON.stringify(line('2026-11-14', 'nw-ads', 10))}\n`.repeat(500));
  files.push(write(dir, '2026/11/14/gateway-c.jsonl.gz', broken.subarray(0, broken.length - 40), 0));
  return files;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function write(dir: string, rel: string, body: string | Buffer, lines: number): DemoFile {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, body);
  return { key: `logs/${rel}`, path, lines };
}
