/**
 * Per-(app, day) rollups against both DynamoDB emulators: exact (the ledger's committed sums),
 * checked against the day tokens and rebuilt when stale, a commit during a rebuild never leaving a
 * rollup that passes for fresh, parts under 400 KB, the streamed per-object parts, and each
 * rollup's content digest (the same from every read of the same objects; one stored without it
 * rebuilt).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RollupSource, RollupStore } from '../../functions/adapters/rollup-store.ts';
import type { UsageRow } from '../../functions/core/ledger.ts';
import { mergeEvidence } from '../../functions/core/request-evidence.ts';
import type { Rollup } from '../../functions/core/rollup.ts';
import { ingestObject } from '../../functions/ingest/ingest-object.ts';
import { BACKENDS, startTestBed, type TestBed } from '../support/emulators.ts';
import { makeLog } from '../support/logs.ts';

const FROM = '2026-10-01';
const TO = '2026-11-30';
let seq = 0x5000;

const totalsOf = (rows: readonly UsageRow[]) =>
  Object.fromEntries(rows.map((r) => [`${r.app}/${r.day}`, [r.requests, r.records, r.bytes, r.errors]]));

describe.each(BACKENDS)('rollups on %s', (backend) => {
  let bed: TestBed;
  let rollups: RollupStore;
  beforeAll(async () => {
    bed = await startTestBed(backend);
    rollups = new RollupStore(bed.doc, bed.usageTable, bed.store);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const ingest = async (key: string, seed: number, lines = 400) => {
    const log = makeLog(seed, lines);
    const etag = await bed.put(key, log.text);
    const sequencer = (seq++).toString(16).toUpperCase();
    const out = await ingestObject(bed.deps({ now: () => new Date() }), {
      bucket: bed.logBucket,
      key,
      etag,
      sequencer,
    });
    expect(out.outcome).toBe('ingested');
  };

  it('are the committed sums, rebuilt only when their day changed', async () => {
    await ingest('logs/r/one.jsonl', 1);
    await ingest('logs/r/two.jsonl', 2);
    const first = await rollups.window(FROM, TO);
    const ledger = await bed.store.queryUsage({ from: FROM, to: TO });
    expect(totalsOf(first.rows)).toEqual(totalsOf(ledger));
    // Rows per app-day without per-object rows carry no evidence; the rollups' is the objects' merged.
    expect(first.rows.map(({ sourceCount: _n, evidence: _e, ...r }) => r)).toEqual(ledger);
    const perSource = await bed.store.queryUsage({ from: FROM, to: TO, perSource: true });
    for (const r of first.rows) {
      const mine = perSource.filter((p) => p.app === r.app && p.day === r.day);
      expect(r.evidence).toEqual(
        mergeEvidence(
          mine.map((p) => p.evidence),
          r,
        ),
      );
      expect(r.evidence?.lines.length).toBeGreaterThan(0);
    }
    expect(first.rebuilt).toBe(9); // 3 apps × 3 days
    expect((await rollups.window(FROM, TO)).rebuilt).toBe(0);

    await ingest('logs/r/three.jsonl', 3);
    const after = await rollups.window(FROM, TO);
    expect(after.rebuilt).toBe(9);
    expect(totalsOf(after.rows)).toEqual(totalsOf(await bed.store.queryUsage({ from: FROM, to: TO })));
    expect(after.rows.every((r) => r.sourceCount === 3)).toBe(true);
  });

  it('never takes a rollup rebuilt while a commit landed for fresh', async () => {
    let raced = false;
    // The commit lands after the rebuild read its day token, before it reads the ledger.
    const racing: RollupSource = {
      dayTokens: (f, t) => bed.store.dayTokens(f, t),
      listApps: (f, t) => bed.store.listApps(f, t),
      committedParts: (a, f, t) => bed.store.committedParts(a, f, t),
      queryUsage: async (opts) => {
        if (!raced) {
          raced = true;
          await ingest('logs/r/racer.jsonl', 4);
        }
        return bed.store.queryUsage(opts);
      },
    };
    await ingest('logs/r/four.jsonl', 5);
    const during = await new RollupStore(bed.doc, bed.usageTable, racing, undefined, 1).window(FROM, TO);
    expect(raced).toBe(true);
    expect(during.rebuilt).toBe(9);
    const ledger = await bed.store.queryUsage({ from: FROM, to: TO });
    // Every rollup the racing read stored carries the token from before the commit: none passes for fresh.
    const now = await bed.store.dayTokens(FROM, TO);
    const stored = [...(await rollups.stored(FROM, TO)).values()];
    expect(stored.filter((r) => r.token === now.get(r.day))).toEqual([]);
    // The next read rebuilds them and gives the ledger's sums.
    const next = await rollups.window(FROM, TO);
    expect(next.rebuilt).toBe(9);
    expect(totalsOf(next.rows)).toEqual(totalsOf(ledger));
    const tokens = await bed.store.dayTokens(FROM, TO);
    for (const r of (await rollups.stored(FROM, TO)).values()) expect(r.token).toBe(tokens.get(r.day));
  });

  it('keeps a content digest the same over every read of the same objects; rebuilds one stored without it', async () => {
    const { rows } = await rollups.window(FROM, TO);
    const digests = rollups.digests(rows);
    expect(digests.size).toBe(rows.length);
    const [app, day] = [rows[0]?.app as string, rows[0]?.day as string];
    const k = `${day}\u0000${app}`;
    const stored = (await rollups.stored(day, day)).get(k);
    expect(stored?.digest).toBe(digests.get(`${app}\u0000${day}`));
    // Rebuilt from another read of the ledger: the same digest.
    const again = await rollups.rebuild(app, day, stored?.token as string);
    expect(again.digest).toBe(stored?.digest);
    // Stored as before digests were kept (fresh token, no digest): rebuilt on the next read, with it.
    const { digest: _d, ...old } = again;
    await rollups.put(old);
    expect((await rollups.stored(day, day)).get(k)?.digest).toBeUndefined();
    const next = await rollups.window(FROM, TO);
    expect(next.rebuilt).toBe(1);
    expect((await rollups.stored(day, day)).get(k)?.digest).toBe(stored?.digest);
    expect(rollups.digests(next.rows)).toEqual(digests);
  });

  it('streams the committed per-object parts of an app', async () => {
    const perSource = await bed.store.queryUsage({ from: FROM, to: TO, apps: ['app-a'], perSource: true });
    const streamed: UsageRow[] = [];
    for await (const p of bed.store.committedParts('app-a', '2026-10-31', '2026-10-31')) streamed.push(p);
    for await (const p of bed.store.committedParts('app-a', '2026-11-01', '2026-11-02')) streamed.push(p);
    const key = (r: UsageRow) => `${r.day}/${r.sources[0]?.key}`;
    expect(streamed.map(key).sort()).toEqual(perSource.map(key).sort());
    const byKey = new Map(perSource.map((r) => [key(r), r]));
    for (const p of streamed) expect(p).toEqual(byKey.get(key(p)));
  });

  it.runIf(backend === 'local')('stores a rollup past 400 KB in parts DynamoDB accepts', async () => {
    const endpoints: Rollup['endpoints'] = {};
    // About 520 KB in UTF-8 bytes: over one item's 400 KB, under one Query page (1 MB), which
    // DynamoDB Local answered with InternalFailure now and then under load at 12,000 endpoints.
    for (let i = 0; i < 5_000; i++)
      endpoints[`GET /2/${'é'.repeat(20)}/${String(i).padStart(6, '0')}`] = {
        requests: 1_000_001 + i,
        records: 2,
        bytes: 3,
        errors: 0,
      };
    const top = Array.from({ length: 20 }, (_, i) => ({
      key: `logs/${String(i).padStart(2, '0')}/${'ü'.repeat(500)}`,
      gen: 'g'.repeat(1000),
      contribution: 20 - i,
    }));
    const big: Rollup = {
      app: 'big-app',
      day: '2026-09-15',
      requests: 5_000,
      records: 10_000,
      bytes: 15_000,
      errors: 0,
      endpoints,
      categories: {},
      top,
      sourceCount: 20,
      token: '1@2026-09-15T00:00:00.000Z',
    };
    await rollups.put(big);
    const back = (await rollups.stored('2026-09-15', '2026-09-15')).get('2026-09-15\u0000big-app');
    expect(back?.endpoints).toEqual(endpoints);
    expect(back?.top).toEqual(top);
    const items = await bed.scan('RU#2026-09');
    expect(items.length).toBeGreaterThan(1);
  });
});
