/**
 * Properties of the reader: for arbitrary valid records (JSON Lines or CSV, gzip or not, cut into
 * arbitrary chunks) the usage equals a straightforward sum computed here; arbitrary garbage lines
 * mixed in are rejected (with their line numbers) and change nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import type { DayUsage } from '../../../functions/core/types.ts';
import { gzip, ingested, read } from './helpers.ts';

/** The test's own recipient knowledge: each address and organisation with its category. */
const REGISTRY = {
  government: { cidrs: ['198.51.100.0/24', '2001:db8:a000::/36'], organisations: ['gov-org'] },
  broker: { cidrs: ['192.0.2.128/25'], organisations: ['broker-org', 'both-org'] },
  other: { cidrs: ['10.0.0.0/8'], organisations: ['both-org'] },
};
const IPS: [string, string[]][] = [
  ['198.51.100.1', ['government']],
  ['2001:db8:a123::9', ['government']],
  ['::ffff:198.51.100.200', ['government']],
  ['192.0.2.130', ['broker']],
  ['::ffff:c000:0281', ['broker']],
  ['192.0.2.1', []],
  ['10.9.8.7', ['other']],
  ['203.0.113.5', []],
  ['2001:db8:b000::1', []],
];
const ORGS: [string, string[]][] = [
  ['gov-org', ['government']],
  ['broker-org', ['broker']],
  ['both-org', ['broker', 'other']],
  ['nobody', []],
];
const matcher = compileRegistry(REGISTRY);

interface Rec {
  app: string;
  ms: number;
  form: 'iso' | 'epoch' | 'offset' | 'space';
  offset: number;
  endpoint: string;
  status: number;
  records: number | undefined;
  bytes: number | undefined;
  ip: [string, string[]] | undefined;
  org: [string, string[]] | undefined;
  requestId: string | undefined;
}

const endpointArb = fc.oneof(
  fc.constantFrom('GET /2/users/by', 'GET /a,b', 'POST /"quoted"', 'GET /multi\nline', 'GET /ünï 😀'),
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
    .filter((s) => !s.includes('\0') && !s.includes('\r') && !s.startsWith('\uFEFF')),
);

const recArb: fc.Arbitrary<Rec> = fc.record({
  app: fc.constantFrom('app-1', 'b.2', 'c:3', 'D_4'),
  ms: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
  form: fc.constantFrom('iso', 'epoch', 'offset', 'space'),
  offset: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  endpoint: endpointArb,
  status: fc.integer({ min: 100, max: 599 }),
  records: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
  bytes: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
  ip: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
  org: fc.option(fc.constantFrom(...ORGS), { nil: undefined }),
  requestId: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
});

function timestampOf(r: Rec, csv: boolean): string | number {
  const iso = new Date(r.ms).toISOString();
  switch (r.form) {
    case 'epoch':
      return csv ? String(r.ms) : r.ms;
    case 'space':
      return `${iso.slice(0, 10)} ${iso.slice(11)}`;
    case 'offset': {
      const local = new Date(r.ms + r.offset * 60_000).toISOString().slice(0, 23);
      const abs = Math.abs(r.offset);
      const zone = `${r.offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      return `${local}${zone}`;
    }
    default:
      return iso;
  }
}

const COLUMNS = [
  'timestamp',
  'app_id',
  'endpoint',
  'status',
  'records',
  'bytes',
  'client_ip',
  'on_behalf_of',
  'request_id',
];
const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function jsonLine(r: Rec): string {
  const o: Record<string, unknown> = {
    timestamp: timestampOf(r, false),
    app_id: r.app,
    endpoint: r.endpoint,
    status: r.status,
    records: r.records ?? null,
  };
  if (r.bytes !== undefined) o.bytes = r.bytes;
  if (r.ip) o.client_ip = r.ip[0];
  o.on_behalf_of = r.org ? r.org[0] : null;
  if (r.requestId !== undefined) o.request_id = r.requestId;
  return JSON.stringify(o);
}

function csvLine(r: Rec, columns: string[]): string {
  const values: Record<string, string> = {
    timestamp: String(timestampOf(r, true)),
    app_id: r.app,
    endpoint: r.endpoint,
    status: String(r.status),
    records: r.records === undefined ? '' : String(r.records),
    bytes: r.bytes === undefined ? '' : String(r.bytes),
    client_ip: r.ip?.[0] ?? '',
    on_behalf_of: r.org?.[0] ?? '',
    request_id: r.requestId ?? '',
  };
  return columns.map((c) => csvField(values[c] ?? '')).join(',');
}

/** The straightforward sum. */
function expectedUsage(recs: Rec[]): DayUsage[] {
  const map = new Map<string, DayUsage>();
  for (const r of recs) {
    const day = new Date(r.ms).toISOString().slice(0, 10);
    const key = JSON.stringify([r.app, day]);
    const u = map.get(key) ?? {
      app: r.app,
      day,
      requests: 0,
      records: 0,
      bytes: 0,
      errors: 0,
      endpoints: {},
      categories: {},
    };
    map.set(key, u);
    const records = r.records ?? 0;
    const bytes = r.bytes ?? 0;
    const errors = r.status >= 400 ? 1 : 0;
    u.requests += 1;
    u.records += records;
    u.bytes += bytes;
    u.errors += errors;
    const ep = Object.hasOwn(u.endpoints, r.endpoint)
      ? (u.endpoints[r.endpoint] as DayUsage['endpoints'][string])
      : { requests: 0, records: 0, bytes: 0, errors: 0 };
    ep.requests += 1;
    ep.records += records;
    ep.bytes += bytes;
    ep.errors += errors;
    Object.defineProperty(u.endpoints, r.endpoint, {
      value: ep,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    for (const cat of new Set([...(r.ip?.[1] ?? []), ...(r.org?.[1] ?? [])])) {
      const c = u.categories[cat] ?? { requests: 0, records: 0, orgs: {} };
      u.categories[cat] = c;
      c.requests += 1;
      c.records += records;
      if (r.org) {
        const o = c.orgs[r.org[0]] ?? { requests: 0, records: 0 };
        c.orgs[r.org[0]] = o;
        o.requests += 1;
        o.records += records;
      }
    }
  }
  const sortKeys = <T>(o: Record<string, T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const k of Object.keys(o).sort()) {
      Object.defineProperty(out, k, { value: o[k], enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return [...map.values()]
    .map((u) => ({
      ...u,
      endpoints: sortKeys(u.endpoints),
      categories: sortKeys(
        Object.fromEntries(
          Object.entries(u.categories).map(([k, c]) => [k, { ...c, orgs: sortKeys(c.orgs) }]),
        ),
      ),
    }))
    .sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

type Item = { kind: 'rec'; rec: Rec } | { kind: 'garbage'; bytes: Buffer } | { kind: 'blank'; text: string };

const garbageArb = (csv: boolean): fc.Arbitrary<Item> =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
      fc
        .constantFrom('{}', '{"timestamp":"2026-11-27T10:00:00Z"}', '[]', 'null', '1,2,3')
        .map((s) => Buffer.from(s)),
    )
    .map((b) => {
      // One physical line, no NUL (that would be binary); in CSV no quote (it could open a field
      // spanning lines) and a leading '#' so it can never be a valid row.
      let bytes = Buffer.from(
        b.filter((x) => x !== 0x0a && x !== 0x00 && x !== 0x0d && (!csv || x !== 0x22)),
      );
      if (csv) bytes = Buffer.concat([Buffer.from('#'), bytes]);
      return { kind: 'garbage' as const, bytes };
    })
    .filter(
      (g) =>
        g.kind === 'garbage' &&
        g.bytes.some((x) => x !== 0x20 && x !== 0x09) &&
        !(g.bytes[0] === 0xef && g.bytes[1] === 0xbb && g.bytes[2] === 0xbf),
    );

const chunkingArb = fc.oneof(
  fc.constant<'whole'>('whole'),
  fc.integer({ min: 1, max: 97 }),
  fc.array(fc.nat({ max: 20_000 }), { maxLength: 30 }),
);

const scenarioArb = fc.boolean().chain((csv) =>
  fc.record({
    csv: fc.constant(csv),
    first: recArb,
    items: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: recArb.map((rec): Item => ({ kind: 'rec', rec })) },
        { weight: 2, arbitrary: garbageArb(csv) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('', '  ', '\t').map((text): Item => ({ kind: 'blank', text })),
        },
      ),
      { maxLength: 40 },
    ),
    columns: fc.shuffledSubarray(COLUMNS, { minLength: COLUMNS.length, maxLength: COLUMNS.length }),
    eol: fc.constantFrom('\n', '\r\n'),
    bom: fc.boolean(),
    compressed: fc.boolean(),
    finalEol: fc.boolean(),
    chunking: chunkingArb,
  }),
);

function render(s: Scenario): {
  data: Buffer;
  recs: Rec[];
  garbageLines: number[];
} {
  const parts: Buffer[] = [];
  const recs: Rec[] = [];
  const garbageLines: number[] = [];
  let line = 1;
  const push = (b: Buffer) => {
    parts.push(b, Buffer.from(s.eol));
    // A record may span lines (a CSV quoted field with a line break): count them.
    line += 1 + b.toString('latin1').split('\n').length - 1;
  };
  if (s.csv) push(Buffer.from(s.columns.join(',')));
  for (const item of [{ kind: 'rec', rec: s.first } as Item, ...s.items]) {
    if (item.kind === 'rec') {
      recs.push(item.rec);
      let text = s.csv ? csvLine(item.rec, s.columns) : jsonLine(item.rec);
      if (s.eol === '\r\n') text = text.replace(/\n/g, '\r\n'); // line breaks inside CSV fields
      push(Buffer.from(text));
    } else if (item.kind === 'garbage') {
      garbageLines.push(line);
      push(item.bytes);
    } else push(Buffer.from(item.text));
  }
  if (!s.finalEol) parts.pop();
  let data = Buffer.concat(parts);
  if (s.bom) data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), data]);
  return { data, recs, garbageLines };
}

type Scenario = {
  csv: boolean;
  first: Rec;
  items: Item[];
  columns: string[];
  eol: string;
  bom: boolean;
  compressed: boolean;
  finalEol: boolean;
  chunking: 'whole' | number | number[];
};

describe('reader properties', () => {
  it('totals equal an independent sum; garbage lines are rejected and change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { data, recs, garbageLines } = render(s);
        const input = s.compressed ? gzip(data) : data;
        const out = ingested(await read(input, { matcher }, s.chunking));
        expect(out.format).toBe(s.csv ? 'csv' : 'jsonl');
        expect(out.compressed).toBe(s.compressed);
        expect(out.rejects.map((r) => r.line)).toEqual(garbageLines);
        expect(out.counted).toBe(recs.length);
        expect(out.usage).toEqual(expectedUsage(recs));
        // Key order too (JSON.stringify is deterministic).
        expect(JSON.stringify(out.usage)).toBe(JSON.stringify(expectedUsage(recs)));
      }),
      { numRuns: 300 },
    );
  });

  it('the outcome does not depend on chunking', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, chunkingArb, async (s, other) => {
        const { data } = render(s);
        const input = s.compressed ? gzip(data) : data;
        expect(await read(input, { matcher }, other)).toEqual(await read(input, { matcher }, 'whole'));
      }),
      { numRuns: 150 },
    );
  });

  it('the same records as JSON Lines and as CSV give the same usage (and the same counts)', async () => {
    await fc.assert(
      fc.asyncProperty(
        recArb,
        fc.array(recArb, { maxLength: 40 }),
        fc.shuffledSubarray(COLUMNS, { minLength: COLUMNS.length, maxLength: COLUMNS.length }),
        fc.constantFrom('\n', '\r\n'),
        chunkingArb,
        async (first, rest, columns, eol, chunking) => {
          const base = { first, columns, eol, bom: false, compressed: false, finalEol: true, chunking };
          const items = rest.map((rec): Item => ({ kind: 'rec', rec }));
          const jsonl = ingested(
            await read(render({ ...base, csv: false, items }).data, { matcher }, chunking),
          );
          const csv = ingested(await read(render({ ...base, csv: true, items }).data, { matcher }, chunking));
          expect([jsonl.format, csv.format]).toEqual(['jsonl', 'csv']);
          expect(csv.rejects).toEqual([]);
          expect(jsonl.rejects).toEqual([]);
          expect(csv.counted).toBe(jsonl.counted);
          expect(JSON.stringify(csv.usage)).toBe(JSON.stringify(jsonl.usage));
        },
      ),
      { numRuns: 150 },
    );
  });
});
