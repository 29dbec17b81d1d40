/** Issue 8 #9: the reconcile use case and its scheduled handler, on in-memory ports. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import type { ObjectManifest } from '../../../functions/core/ledger.ts';
import { DEFAULT_LIMITS } from '../../../functions/core/log-reader.ts';
import { EMPTY_MATCHER } from '../../../functions/core/recipients.ts';
import type { IngestDeps } from '../../../functions/ingest/ingest-object.ts';
import type { UsageLedger } from '../../../functions/ingest/ports.ts';
import { createReconcileHandler } from '../../../functions/ingest/reconcile-handler.ts';
import { lambdaContext } from '../../../functions/local/stack.ts';
import { FakeVersionedBucket } from '../../support/fakes.ts';

/** Manifests in memory; contributions are not kept (reconcile only needs what is committed). */
function memoryLedger() {
  const manifests = new Map<string, ObjectManifest>();
  const ledger: UsageLedger & { getManifests(keys: readonly string[]): Promise<ObjectManifest[]> } = {
    getManifest: async (key) => manifests.get(key),
    getManifests: async (keys) => keys.flatMap((k) => manifests.get(k) ?? []),
    writeContributions: async () => 1,
    entries: async () => [],
    deleteWrite: async () => [],
    markDaysChanged: async () => undefined,
    indexDataQuality: async () => undefined,
    commit: async (m, expected) => {
      const current = manifests.get(m.key);
      if (current?.wid !== expected?.wid) return { committed: false, current };
      manifests.set(m.key, { ...m });
      return { committed: true };
    },
    finishCleanup: async () => undefined,
  };
  return { ledger, manifests };
}

const LINE = '{"timestamp":"2026-11-27T10:00:00Z","app_id":"a","endpoint":"GET /x","status":200}\n';

describe('scheduled reconcile', () => {
  it('ingests what no event brought in, emits ObjectsReconciled, and finds nothing the second time', async () => {
    const bucket = new FakeVersionedBucket();
    const { ledger, manifests } = memoryLedger();
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'reconcile' });
    const added: [string, number][] = [];
    metrics.addMetric = ((name: string, _u: unknown, v: number) => {
      added.push([name, v]);
    }) as Metrics['addMetric'];
    const deps: IngestDeps = {
      objects: bucket,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store: ledger,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-27T12:00:00Z'),
    };
    const h = createReconcileHandler({
      ...deps,
      lister: bucket,
      manifests: ledger,
      logBucket: 'logs-bucket',
      windowDays: 2,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });
    bucket.put('logs/a.jsonl', LINE);
    bucket.put('logs/b.jsonl', LINE);
    bucket.put('logs/dir/', '');
    bucket.put('other/c.jsonl', LINE);
    const first = await h({}, lambdaContext('reconcile'));
    expect(first.found.map((f) => [f.key, f.why, f.result?.outcome])).toEqual([
      ['logs/a.jsonl', 'no manifest', 'ingested'],
      ['logs/b.jsonl', 'no manifest', 'ingested'],
    ]);
    expect(added).toContainEqual(['ObjectsReconciled', 2]);
    // An overwrite whose event is lost is found by its ETag.
    bucket.put('logs/a.jsonl', `${LINE}${LINE}`);
    const second = await h({}, lambdaContext('reconcile'));
    expect(second.found.map((f) => [f.key, f.why])).toEqual([['logs/a.jsonl', 'older version counted']]);
    expect(manifests.get('logs/a.jsonl')?.counted).toBe(2);
    const third = await h({}, lambdaContext('reconcile'));
    expect(third.found).toEqual([]);
    expect(added).toContainEqual(['ObjectsReconciled', 0]);
    // Outside the window nothing is listed.
    const old = await h(
      { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' },
      lambdaContext('reconcile'),
    );
    expect(old.listed).toBe(0);
  });

  it('the scheduled run leaves objects younger than an hour to the queue (no false "lost event")', async () => {
    const bucket = new FakeVersionedBucket();
    const { ledger } = memoryLedger();
    let now = new Date('2026-11-27T00:30:00Z');
    const h = createReconcileHandler({
      objects: bucket,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store: ledger,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => now,
      lister: bucket,
      manifests: ledger,
      logBucket: 'logs-bucket',
      windowDays: 2,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'reconcile' }),
    });
    bucket.put('logs/recent.jsonl', LINE); // last modified 2026-11-27T00:00:01Z
    expect((await h({}, lambdaContext('reconcile'))).found).toEqual([]);
    now = new Date('2026-11-27T01:30:00Z');
    expect((await h({}, lambdaContext('reconcile'))).found.map((f) => f.key)).toEqual(['logs/recent.jsonl']);
  });

  it('stops listing logs/ when the invocation runs short of time, says how far it got, and alarms through ObjectsReconcileDeferred', async () => {
    const bucket = new FakeVersionedBucket();
    const { ledger, manifests } = memoryLedger();
    const added: [string, number][] = [];
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'reconcile' });
    metrics.addMetric = ((name: string, _u: unknown, v: number) => {
      added.push([name, v]);
    }) as Metrics['addMetric'];
    for (let i = 0; i < 1000; i++) bucket.put(`logs/big/${String(i).padStart(4, '0')}.jsonl`, LINE);
    // Listing one object takes a (simulated) second: 300 s left at the start, 120 s needed to start an object.
    let elapsed = 0;
    let yielded = 0;
    const lister = {
      async *listObjects(b: string, prefix: string) {
        for await (const o of bucket.listObjects(b, prefix)) {
          elapsed += 1_000;
          yielded++;
          yield o;
        }
      },
    };
    const context = { ...lambdaContext('reconcile'), getRemainingTimeInMillis: () => 300_000 - elapsed };
    const h = createReconcileHandler({
      objects: bucket,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store: ledger,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-27T12:00:00Z'),
      lister,
      manifests: ledger,
      logBucket: 'logs-bucket',
      windowDays: 2,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
    });
    const report = await h({}, context);
    // 180 objects listed (300 s − 180 s = 120 s), one more fetched and not looked at.
    expect(report.partial).toEqual({ listedThrough: 'logs/big/0179.jsonl', scanned: 180 });
    expect(yielded).toBe(181);
    expect(report.listed).toBe(180);
    // The first batch of 100 was ingested while there was time; the last 80 were found and deferred.
    expect(report.found).toHaveLength(180);
    expect(report.found.filter((f) => f.result?.outcome === 'ingested')).toHaveLength(100);
    expect(report.deferred).toBe(80);
    expect(manifests.size).toBe(100);
    expect(added).toContainEqual(['ObjectsReconcileDeferred', 81]);
    expect(added).toContainEqual(['ReconcileListingIncomplete', 1]);
    // With the whole time, the listing is complete: no `partial`.
    elapsed = -1_000_000;
    const full = await h({}, context);
    expect(full.partial).toBeUndefined();
    expect(full.listed).toBe(1000);
    expect(full.found).toHaveLength(900);
    expect(added).toContainEqual(['ReconcileListingIncomplete', 0]);
  });
});

describe('scheduled reconcile: an object that does not fit in its read budget (review of issue 8, item 4)', () => {
  /** One object whose read takes `jumpMs` of (fake) time between its two chunks. */
  async function runWith(remainingMs: number, jumpMs: number) {
    const bucket = new FakeVersionedBucket();
    const { ledger, manifests } = memoryLedger();
    bucket.put('logs/slow.jsonl', LINE.repeat(2));
    const objects = {
      open: async (b: string, k: string, v?: string) => {
        const o = await bucket.open(b, k, v);
        if (!o) return o;
        const inner = o.body;
        async function* slow() {
          let n = 0;
          for await (const c of inner) {
            const bytes = c as Uint8Array;
            const half = Math.floor(bytes.length / 2);
            yield bytes.subarray(0, half);
            if (n++ === 0) vi.setSystemTime(Date.now() + jumpMs);
            yield bytes.subarray(half);
          }
        }
        return { ...o, body: slow() };
      },
    };
    const added: [string, number][] = [];
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'reconcile' });
    metrics.addMetric = ((name: string, _u: unknown, v: number) => {
      added.push([name, v]);
    }) as Metrics['addMetric'];
    const h = createReconcileHandler({
      objects,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store: ledger,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-27T12:00:00Z'),
      lister: bucket,
      manifests: ledger,
      logBucket: 'logs-bucket',
      windowDays: 2,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics,
      minRemainingMs: 1_000,
    });
    const context = { ...lambdaContext('reconcile'), getRemainingTimeInMillis: () => remainingMs };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const report = await h({}, context);
      return { report, manifests, added };
    } finally {
      vi.useRealTimers();
    }
  }

  it('leaves it for the next run when it had less than the ingest function read budget (270 s)', async () => {
    // 150 s left, 30 s margin: a 120 s read budget; the read takes 200 s.
    const { report, manifests, added } = await runWith(150_000, 200_000);
    expect(report.found.map((f) => f.key)).toEqual(['logs/slow.jsonl']);
    expect(report.found[0]?.result).toBeUndefined();
    expect(report.deferred).toBe(1);
    expect(manifests.size).toBe(0);
    expect(added).toContainEqual(['ObjectsReconcileDeferred', 1]);
  });

  it('quarantines it as too large when it had at least the ingest function read budget', async () => {
    // 400 s left: a 370 s read budget, more than the ingest function's 270 s; the read takes 400 s.
    const { report, manifests } = await runWith(400_000, 400_000);
    expect(report.found.map((f) => f.result?.outcome)).toEqual(['quarantined']);
    expect(manifests.get('logs/slow.jsonl')?.reason).toMatch(
      /^too large to finish within the function's time/,
    );
  });
});

describe('scheduled reconcile: the listing resumes where the last run stopped (review of issue 8, item 6)', () => {
  it('reaches keys late in key order across runs, then starts from the beginning again', async () => {
    const bucket = new FakeVersionedBucket();
    const { ledger, manifests } = memoryLedger();
    for (let i = 0; i < 1000; i++) bucket.put(`logs/big/${String(i).padStart(4, '0')}.jsonl`, LINE);
    let saved: string | undefined;
    const saves: (string | undefined)[] = [];
    const cursor = {
      load: async () => saved,
      save: async (after: string | undefined) => {
        saved = after;
        saves.push(after);
      },
    };
    // Listing one object takes a (simulated) second: 300 s left at the start, 120 s needed.
    let elapsed = 0;
    const first: string[] = [];
    const lister = {
      async *listObjects(b: string, prefix: string, startAfter?: string) {
        let n = 0;
        for await (const o of bucket.listObjects(b, prefix, startAfter)) {
          if (n++ === 0) first.push(o.key);
          elapsed += 1_000;
          yield o;
        }
      },
    };
    const context = { ...lambdaContext('reconcile'), getRemainingTimeInMillis: () => 300_000 - elapsed };
    const h = createReconcileHandler({
      objects: bucket,
      writer: { put: async () => undefined, putStream: async () => undefined },
      store: ledger,
      reportsBucket: 'reports',
      registry: async () => ({ matcher: EMPTY_MATCHER, hash: 'h' }),
      limits: DEFAULT_LIMITS,
      now: () => new Date('2026-11-27T12:00:00Z'),
      lister,
      manifests: ledger,
      logBucket: 'logs-bucket',
      windowDays: 2,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'reconcile' }),
      cursor,
    });
    // Run 1: 180 listed, 100 ingested, 80 deferred: resume just before the first deferred one.
    const r1 = await h({}, context);
    expect(r1.partial).toEqual({ listedThrough: 'logs/big/0179.jsonl', scanned: 180 });
    expect(r1.resumedAfter).toBeUndefined();
    expect(saved).toBe('logs/big/0099.jsonl');
    // Later runs go on from there (each lists 180, of which the first 100 are ingested).
    let runs = 1;
    while (manifests.size < 1000 && runs < 20) {
      elapsed = 0;
      const r = await h({}, context);
      runs++;
      if (runs === 2) expect(r.resumedAfter).toBe('logs/big/0099.jsonl');
    }
    expect(manifests.size).toBe(1000);
    expect(runs).toBe(10);
    expect(first.slice(0, 3)).toEqual(['logs/big/0000.jsonl', 'logs/big/0100.jsonl', 'logs/big/0200.jsonl']);
    // The run that reached the end saved "from the beginning"; the next one lists from the start.
    expect(saved).toBeUndefined();
    elapsed = 0;
    const again = await h({}, context);
    expect(first.at(-1)).toBe('logs/big/0000.jsonl');
    expect(again.found).toEqual([]);
    // An explicit window ignores the cursor (lists from the start) and leaves it as it is.
    saved = 'logs/big/0500.jsonl';
    elapsed = -10_000_000;
    const explicit = await h({ from: '2026-11-01T00:00:00Z', to: '2026-11-30T00:00:00Z' }, context);
    expect(explicit.listed).toBe(1000);
    expect(saved).toBe('logs/big/0500.jsonl');
    expect(saves.length).toBeGreaterThan(0);
  });
});
