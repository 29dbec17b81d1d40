/**
 * The reader's bounds (issue 8): rejects past the first ones spilled to a temporary file and
 * streamed back in order; distinct endpoints and organisations per app-day bounded with exact
 * overflow entries; a deadline that quarantines an object too large to finish. No timing: the
 * clock is injected.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageAggregator } from '../../../functions/core/aggregate.ts';
import {
  allRejects,
  DEFAULT_BOUNDS,
  MAX_HELD_REJECTS,
  OTHER_ENDPOINTS,
  OTHER_ORGANISATIONS,
  RejectSpill,
  readLogObject,
} from '../../../functions/core/log-reader.ts';
import { compileRegistry } from '../../../functions/core/recipients.ts';
import type { UsageRecord } from '../../../functions/core/record.ts';
import { sumDayUsage } from '../../../functions/core/usage-math.ts';
import { gzip, ingested, jl, read, rec, source } from './helpers.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reader-bounds-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const good = jl(rec());
const bad = (i: number) => jl(rec({ status: `s${i}` }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('rejects past the first ones are spilled, not held', () => {
  it('holds MAX_HELD_REJECTS (1000) and streams every reject back in line order', async () => {
    expect(MAX_HELD_REJECTS).toBe(1000);
    const lines = [good];
    for (let i = 0; i < 2500; i++) lines.push(i % 5 === 0 ? good : bad(i));
    const out = ingested(await read(lines.join('\n'), { spillDirectory: dir }));
    expect(out.rejects).toHaveLength(1000);
    expect(out.rejected).toBe(2000);
    expect(out.spill).toBeDefined();
    const all = await collect(allRejects(out));
    expect(all).toHaveLength(2000);
    const unbounded = ingested(await read(lines.join('\n'), { maxHeldRejects: Number.MAX_SAFE_INTEGER }));
    expect(unbounded.spill).toBeUndefined();
    expect(all).toEqual(unbounded.rejects);
    // The spill file is gone once read.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps reasons with any characters intact through the spill', async () => {
    const text = [good, '{"x":"\\u2028 ü 😀 \\"q\\"\\n"}', '{bad json', jl(rec({ endpoint: 5 }))].join('\n');
    const held = ingested(await read(text, { maxHeldRejects: 100 }));
    const spilled = ingested(await read(text, { maxHeldRejects: 0, spillDirectory: dir }));
    expect(spilled.rejects).toEqual([]);
    expect(await collect(allRejects(spilled))).toEqual(held.rejects);
  });

  it('gives back every reason past the numbered ones (more than 10,000 distinct), in order', async () => {
    const spill = new RejectSpill(dir);
    const want: { line: number; reason: string }[] = [];
    for (let i = 1; i <= 12_000; i++) {
      const reason = i % 3 === 0 ? 'same' : `reason ${i} "\t\n ü 😀`;
      want.push({ line: i, reason });
      spill.add(i, reason);
    }
    expect(await collect(spill.read())).toEqual(want);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('deletes the spill when the object is quarantined after it began', async () => {
    const text = `${[good, bad(1), bad(2), bad(3)].join('\n')}\n\0\n`;
    const out = await read(text, { maxHeldRejects: 1, spillDirectory: dir });
    expect(out.status).toBe('quarantined');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('discard() deletes a spill that is never read', async () => {
    const out = ingested(
      await read([good, bad(1), bad(2)].join('\n'), { maxHeldRejects: 1, spillDirectory: dir }),
    );
    expect(readdirSync(dir)).toHaveLength(1);
    out.spill?.discard();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('distinct endpoints and organisations per app-day are bounded', () => {
  const registry = compileRegistry({ partners: { cidrs: ['10.0.0.0/8'], organisations: [] } });

  it('defaults to 10,000 endpoints per app-day and 1,000 organisations per category (and 10,000 app-days per object)', () => {
    expect(DEFAULT_BOUNDS).toEqual({
      maxEndpointsPerDay: 10_000,
      maxOrganisationsPerCategory: 1_000,
      maxAppDaysPerObject: 10_000,
      maxEntriesPerObject: 1_000_000,
    });
  });

  it('rolls endpoints past the bound into (other endpoints) with exact sums and says how many', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) lines.push(jl(rec({ endpoint: `GET /e${i}`, records: i, bytes: 2 * i })));
    lines.push(jl(rec({ endpoint: 'GET /e9', status: 500 })));
    lines.push(jl(rec({ endpoint: 'GET /e0', timestamp: '2026-11-28T00:00:00Z' })));
    const bounded = ingested(await read(lines.join('\n'), { bounds: { maxEndpointsPerDay: 4 } }));
    const unbounded = ingested(await read(lines.join('\n')));
    const day = bounded.usage[0];
    expect(Object.keys(day?.endpoints ?? {})).toEqual([
      OTHER_ENDPOINTS,
      'GET /e0',
      'GET /e1',
      'GET /e2',
      'GET /e3',
    ]);
    expect(day?.endpoints[OTHER_ENDPOINTS]).toEqual({
      requests: 7,
      records: 4 + 5 + 6 + 7 + 8 + 9 + 1,
      bytes: 2 * (4 + 5 + 6 + 7 + 8 + 9) + 10,
      errors: 1,
    });
    expect(bounded.overflow).toEqual([{ app: 'app-1', day: '2026-11-27', endpoints: 6, organisations: 0 }]);
    expect(unbounded.overflow).toBeUndefined();
    // Totals unchanged; the other day is under the bound.
    expect(bounded.usage.map(({ endpoints: _, ...t }) => t)).toEqual(
      unbounded.usage.map(({ endpoints: _, ...t }) => t),
    );
    expect(bounded.usage[1]).toEqual(unbounded.usage[1]);
  });

  it('rolls organisations past the bound into (other organisations), per category', async () => {
    const lines = ['a', 'b', 'c', 'd', 'c'].map((org) =>
      jl(rec({ client_ip: '10.1.2.3', on_behalf_of: org, records: 2 })),
    );
    const out = ingested(
      await read(lines.join('\n'), { matcher: registry, bounds: { maxOrganisationsPerCategory: 2 } }),
    );
    expect(out.usage[0]?.categories.partners).toEqual({
      requests: 5,
      records: 10,
      orgs: {
        [OTHER_ORGANISATIONS]: { requests: 3, records: 6 },
        a: { requests: 1, records: 2 },
        b: { requests: 1, records: 2 },
      },
    });
    expect(out.overflow).toEqual([{ app: 'app-1', day: '2026-11-27', endpoints: 0, organisations: 2 }]);
  });

  const recordArb = fc.record({
    app: fc.constantFrom('a1', 'a2'),
    day: fc.integer({ min: 20_000, max: 20_002 }),
    endpoint: fc.string({ minLength: 1, maxLength: 3 }),
    status: fc.constantFrom(200, 404, 500),
    records: fc.nat({ max: 1000 }),
    bytes: fc.nat({ max: 1000 }),
    org: fc.option(fc.string({ minLength: 1, maxLength: 2 }), { nil: undefined }),
    cats: fc.subarray(['partners', 'internal']),
  });

  it('property: totals with and without the bound are equal, and entries stay within bound + 1', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { maxLength: 200 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (recs, maxEndpointsPerDay, maxOrganisationsPerCategory) => {
          const bounded = new UsageAggregator({ maxEndpointsPerDay, maxOrganisationsPerCategory });
          const unbounded = new UsageAggregator({
            maxEndpointsPerDay: 1e9,
            maxOrganisationsPerCategory: 1e9,
          });
          for (const r of recs) {
            const u: UsageRecord = {
              ...r,
              clientIp: undefined,
              ridStart: -1,
              ridEnd: -1,
              requestId: undefined,
            };
            bounded.add(u, r.cats);
            unbounded.add(u, r.cats);
          }
          const b = bounded.result();
          const u = unbounded.result();
          expect(b.length).toBe(u.length);
          const overflowed = new Set(bounded.overflow().map((o) => `${o.app} ${o.day}`));
          for (let i = 0; i < b.length; i++) {
            const bd = b[i];
            const ud = u[i];
            if (!bd || !ud) throw new Error('missing day');
            const { endpoints: be, categories: bc, ...bt } = bd;
            const { endpoints: ue, categories: uc, ...ut } = ud;
            expect(bt).toEqual(ut);
            const sum = (e: typeof be) =>
              Object.values(e).reduce(
                (s, c) => ({
                  requests: s.requests + c.requests,
                  records: s.records + c.records,
                  bytes: s.bytes + c.bytes,
                  errors: s.errors + c.errors,
                }),
                { requests: 0, records: 0, bytes: 0, errors: 0 },
              );
            expect(sum(be)).toEqual(sum(ue));
            expect(Object.keys(be).length).toBeLessThanOrEqual(maxEndpointsPerDay + 1);
            const over = Object.keys(ue).length > maxEndpointsPerDay;
            expect(OTHER_ENDPOINTS in be).toBe(over && !(OTHER_ENDPOINTS in ue));
            if (over) expect(overflowed.has(`${bd.app} ${bd.day}`)).toBe(true);
            for (const [name, cat] of Object.entries(uc)) {
              const bcat = bc[name];
              expect(bcat?.requests).toBe(cat.requests);
              expect(bcat?.records).toBe(cat.records);
              const orgSum = (o: Record<string, { requests: number; records: number }>) =>
                Object.values(o).reduce(
                  (s, c) => ({ requests: s.requests + c.requests, records: s.records + c.records }),
                  { requests: 0, records: 0 },
                );
              expect(orgSum(bcat?.orgs ?? {})).toEqual(orgSum(cat.orgs));
              expect(Object.keys(bcat?.orgs ?? {}).length).toBeLessThanOrEqual(
                maxOrganisationsPerCategory + 1,
              );
            }
          }
          expect(sumDayUsage(b).length).toBe(sumDayUsage(u).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('memory is bounded: 50,000 distinct endpoints in one app-day hold at most bound + 1 entries', () => {
    const agg = new UsageAggregator({ maxEndpointsPerDay: 100, maxOrganisationsPerCategory: 10 });
    for (let i = 0; i < 50_000; i++) {
      agg.add(
        {
          day: 20_000,
          app: 'a',
          endpoint: `/e${i}`,
          status: 200,
          records: 1,
          ridStart: -1,
          ridEnd: -1,
          requestId: undefined,
          bytes: 1,
          clientIp: undefined,
          org: `o${i}`,
        },
        ['partners'],
      );
    }
    expect(agg.entries()).toBe(101 + 11);
    expect(agg.overflow()).toEqual([
      { app: 'a', day: '2024-10-04', endpoints: 49_900, organisations: 49_990 },
    ]);
    expect(agg.result()[0]?.endpoints[OTHER_ENDPOINTS]?.requests).toBe(49_900);
  });
});

describe('a deadline quarantines an object too large to finish', () => {
  const text = `${Array.from({ length: 100 }, (_, i) => jl(rec({ records: i, bytes: i * 7919 }))).join('\n')}\n`;

  it('stops when the injected clock passes the deadline and says how far it got', async () => {
    for (const data of [Buffer.from(text), gzip(text)]) {
      let t = 0;
      const chunks: Buffer[] = [];
      for (let i = 0; i < data.length; i += 20) chunks.push(data.subarray(i, i + 20));
      const out = await readLogObject(source(chunks), { deadline: 10, now: () => t++, spillDirectory: dir });
      expect(out.status).toBe('quarantined');
      if (out.status !== 'quarantined') return;
      expect(out.reason).toMatch(
        /^too large to finish within the function's time: read \d+ lines \(\d+ bytes\) of the object before the deadline$/,
      );
      const bytesRead = Number(/\((\d+) bytes\)/.exec(out.reason)?.[1]);
      expect(bytesRead).toBeGreaterThan(0);
      expect(bytesRead).toBeLessThan(data.length);
      expect(out.lines).toBeLessThan(100);
    }
  });

  it('a deadline not reached changes nothing', async () => {
    let t = 0;
    expect(await read(text, { deadline: 1e9, now: () => t++ }, 100)).toEqual(await read(text, {}, 100));
  });

  it('a deadline already past quarantines before any line', async () => {
    const out = await read(text, { deadline: 0, now: () => 1 });
    expect(out).toMatchObject({ status: 'quarantined', lines: 0 });
  });
});

describe('distinct endpoint and organisation entries per object (issue 8, B2)', () => {
  const registry = compileRegistry({ partners: { cidrs: ['10.0.0.0/8'], organisations: [] } });
  const line = (day: number, endpoint: string, org?: string) =>
    jl(
      rec({
        timestamp: `2026-11-${10 + day}T10:00:00Z`,
        endpoint,
        client_ip: org === undefined ? undefined : '10.1.2.3',
        on_behalf_of: org,
      }),
    );
  // Entries: (day 0, e0), (day 0, partners, a), (day 0, e1), (day 1, e0), (day 1, partners, a),
  // (day 0, partners, b); repeated lines create none.
  const lines = [line(0, 'e0', 'a'), line(0, 'e1', 'a'), line(1, 'e0', 'a'), line(0, 'e0', 'b')];
  const text = [...lines, ...lines, ...lines].join('\n');
  const entries = (u: { endpoints: object; categories: Record<string, { orgs: object }> }[]) =>
    u.reduce(
      (n, d) =>
        n +
        Object.keys(d.endpoints).length +
        Object.values(d.categories).reduce((m, c) => m + Object.keys(c.orgs).length, 0),
      0,
    );

  it('quarantines an object with more entries than maxEntriesPerObject, saying which bound', async () => {
    const at = ingested(await read(text, { matcher: registry, bounds: { maxEntriesPerObject: 6 } }));
    expect(entries(at.usage)).toBe(6);
    expect(at.counted).toBe(12);
    const past = await read(`${text}\n${line(1, 'e1')}`, {
      matcher: registry,
      bounds: { maxEntriesPerObject: 6 },
    });
    expect(past).toMatchObject({
      status: 'quarantined',
      reason:
        'more than 6 distinct endpoint and organisation entries in one object (MAX_ENTRIES_PER_OBJECT): split the object or raise the bound, then reprocess it',
    });
    const org = await read(`${text}\n${line(1, 'e0', 'c')}`, {
      matcher: registry,
      bounds: { maxEntriesPerObject: 6 },
    });
    expect(org).toMatchObject({
      status: 'quarantined',
      reason: expect.stringMatching(/^more than 6 distinct endpoint/),
    });
  });

  it('counts the overflow entries too, not the values rolled into them', async () => {
    const many = Array.from({ length: 50 }, (_, i) => line(0, `e${i}`));
    const bounds = { maxEndpointsPerDay: 3, maxEntriesPerObject: 4 };
    const out = ingested(await read(many.join('\n'), { bounds }));
    expect(Object.keys(out.usage[0]?.endpoints ?? {})).toHaveLength(4);
    expect(await read(many.join('\n'), { bounds: { ...bounds, maxEntriesPerObject: 3 } })).toMatchObject({
      status: 'quarantined',
    });
  });
});

describe('distinct app-days per object (review of issue 8, item 3)', () => {
  const lineOf = (app: number, day: number) =>
    jl(rec({ app_id: `app-${app}`, timestamp: `2026-11-${String(10 + day).padStart(2, '0')}T10:00:00Z` }));

  it('quarantines an object with more app-days than maxAppDaysPerObject, saying which bound', async () => {
    const lines: string[] = [];
    for (let a = 0; a < 4; a++) for (let d = 0; d < 3; d++) lines.push(lineOf(a, d), lineOf(a, d));
    const at = await read(lines.join('\n'), { bounds: { maxAppDaysPerObject: 12 } });
    expect(ingested(at).usage).toHaveLength(12);
    const past = await read(`${lines.join('\n')}\n${lineOf(9, 0)}`, { bounds: { maxAppDaysPerObject: 12 } });
    expect(past).toMatchObject({
      status: 'quarantined',
      reason:
        'more than 12 distinct app × UTC day pairs in one object (MAX_APP_DAYS_PER_OBJECT): split the object or raise the bound, then reprocess it',
    });
  });

  it('holds 10,000 app-days by default', async () => {
    expect(DEFAULT_BOUNDS.maxAppDaysPerObject).toBe(10_000);
    const agg = new UsageAggregator();
    let reason: string | undefined;
    for (let i = 0; i <= 10_000 && reason === undefined; i++) {
      reason = agg.add(
        {
          app: `a${i}`,
          day: 20_000,
          endpoint: 'GET /x',
          status: 200,
          records: 1,
          bytes: 0,
          clientIp: undefined,
          org: undefined,
          ridStart: -1,
          ridEnd: -1,
          requestId: undefined,
        },
        [],
      );
    }
    expect(reason).toMatch(/^more than 10000 distinct app × UTC day pairs/);
    expect(agg.result()).toHaveLength(10_000);
  });
});
